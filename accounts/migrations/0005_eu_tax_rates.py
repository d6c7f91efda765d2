"""The EU standard VAT rates in force on 1 December 2026 (the tax rules' rate table)."""

from datetime import date
from decimal import Decimal

from django.db import migrations

# country: (rate as a fraction, in force since) — since None: before any date Prorata bills.
EU_STANDARD_RATES = {
    "AT": ("0.20", None),
    "BE": ("0.21", None),
    "BG": ("0.20", None),
    "CY": ("0.19", None),
    "CZ": ("0.21", None),
    "DE": ("0.19", None),
    "DK": ("0.25", None),
    "EE": ("0.24", date(2025, 7, 1)),
    "ES": ("0.21", None),
    "FI": ("0.255", date(2024, 9, 1)),
    "FR": ("0.20", None),
    "GR": ("0.24", None),
    "HR": ("0.25", None),
    "HU": ("0.27", None),
    "IE": ("0.23", None),
    "IT": ("0.22", None),
    "LT": ("0.21", None),
    "LU": ("0.17", None),
    "LV": ("0.21", None),
    "MT": ("0.18", None),
    "NL": ("0.21", None),
    "PL": ("0.23", None),
    "PT": ("0.23", None),
    "RO": ("0.21", date(2025, 8, 1)),
    "SE": ("0.25", None),
    "SI": ("0.22", None),
    "SK": ("0.23", date(2025, 1, 1)),
}


def seed(apps, schema_editor):
    TaxRate = apps.get_model("accounts", "TaxRate")
    for country, (rate, since) in EU_STANDARD_RATES.items():
        TaxRate.objects.get_or_create(country=country, valid_from=since, defaults={"rate": Decimal(rate)})


def unseed(apps, schema_editor):
    TaxRate = apps.get_model("accounts", "TaxRate")
    for country, (_rate, since) in EU_STANDARD_RATES.items():
        TaxRate.objects.filter(country=country, valid_from=since).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_tax_rules")]

    operations = [migrations.RunPython(seed, unseed)]
