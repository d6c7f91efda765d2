from django.db import migrations


def forwards(apps, schema_editor):
    from accounts.staff_groups import staff_groups_sync

    staff_groups_sync(apps)


class Migration(migrations.Migration):
    """The staff groups again, now that the payment models' permissions exist (strict)."""

    dependencies = [
        ("accounts", "0002_staff_groups"),
        ("invoicing", "0006_admin_plural_names"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
