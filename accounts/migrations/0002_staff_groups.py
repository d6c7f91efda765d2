"""The staff groups "Support" and "Finance" with their permissions (SPEC §1), as accounts.staff_groups defines them.

It runs after every model whose permissions the groups hold exists, so the sync is strict: a permission
named in staff_groups.GROUPS that does not exist stops the migration.
"""

from django.db import migrations


def staff_groups_create(apps, schema_editor):
    from accounts.staff_groups import staff_groups_sync

    staff_groups_sync(apps)


def staff_groups_delete(apps, schema_editor):
    from accounts.staff_groups import GROUPS

    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("djstripe", "0003_2_11"),
        ("accounts", "0001_initial"),
        ("subscriptions", "0001_initial"),
        ("invoicing", "0001_initial"),
        ("licensing", "0001_initial"),
        ("api", "0001_initial"),
    ]

    operations = [migrations.RunPython(staff_groups_create, staff_groups_delete)]
