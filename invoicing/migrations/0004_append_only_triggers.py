"""PostgreSQL triggers that keep issued documents and money records append-only (invoicing.triggers)."""

from django.db import migrations


def _create(apps, schema_editor):
    from invoicing import triggers

    triggers.install(schema_editor.connection)


def _drop(apps, schema_editor):
    from invoicing import triggers

    triggers.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0003_invoice_amount_credited")]

    operations = [migrations.RunPython(_create, _drop, elidable=False)]
