"""PostgreSQL triggers that keep issued documents and money records append-only (invoicing.triggers)."""

from django.db import migrations


def _create(apps, schema_editor):
    from invoicing import triggers

    triggers.install(schema_editor.connection)


def _drop(apps, schema_editor):
    from invoicing import triggers

    triggers.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0005_invoice_receivables_index")]

    operations = [migrations.RunPython(_create, _drop, elidable=False)]
