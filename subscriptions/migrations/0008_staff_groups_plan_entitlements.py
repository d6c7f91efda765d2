"""Finance edits plan entitlements in the plan form, support sees them: the staff group sync again,
now that the table exists (accounts.0002 leaves staff_groups.LATER_MODELS out when they do not yet)."""

from django.db import migrations


def staff_groups_resync(apps, schema_editor):
    from accounts.staff_groups import staff_groups_sync

    staff_groups_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0008_billing_details"),
        ("subscriptions", "0007_plan_entitlements"),
    ]

    operations = [migrations.RunPython(staff_groups_resync, migrations.RunPython.noop)]
