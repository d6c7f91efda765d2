from django.db import migrations


def forwards(apps, schema_editor):
    from accounts.staff_groups import staff_groups_sync

    staff_groups_sync(apps)


class Migration(migrations.Migration):
    """The staff groups again: Finance views dj-stripe's webhook deliveries and events, which replace
    Prorata's own StripeEvent table (strict)."""

    dependencies = [
        ("accounts", "0004_staff_groups_licensing_api"),
        ("invoicing", "0007_drop_stripe_event_djstripe_records_events"),
        ("djstripe", "0003_2_11"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
