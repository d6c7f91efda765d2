from django.db import migrations


def forwards(apps, schema_editor):
    from accounts.staff_groups import staff_groups_sync

    staff_groups_sync(apps, strict=False)


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Support", "Finance"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("subscriptions", "0001_initial"),
        ("invoicing", "0002_staff_permissions"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
