from django.db import migrations


def forwards(apps, schema_editor):
    from accounts.staff_groups import staff_groups_sync

    staff_groups_sync(apps)


class Migration(migrations.Migration):
    """The staff groups again, with Support on licences and activations and Finance viewing API keys (strict)."""

    dependencies = [
        ("accounts", "0003_staff_groups_payments"),
        ("licensing", "0001_licences_and_activations"),
        ("api", "0001_api_keys_and_idempotency"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
