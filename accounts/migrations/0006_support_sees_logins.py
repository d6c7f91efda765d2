"""Support's permissions on django-axes' records (failed/successful logins, lockouts to lift): the group sync again,
now that axes' tables exist (accounts.0002 leaves apps listed in staff_groups.LATER_APPS out when they do not yet)."""

from django.db import migrations


def staff_groups_resync(apps, schema_editor):
    from accounts.staff_groups import staff_groups_sync

    staff_groups_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_eu_tax_rates"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(staff_groups_resync, migrations.RunPython.noop)]
