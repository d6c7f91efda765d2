"""The tax rules fed from the database: rate table, VIES evidence, manual rate (accounts/tax.py)."""

from datetime import date, timedelta
from decimal import Decimal

from django.test import override_settings

from accounts.models import Account, TaxRate
from accounts.tax import account_tax, tax_rates_on
from billing.tax import DOMESTIC, EU_CONSUMER, EXPORT, MANUAL, REVERSE_CHARGE

DAY = date(2026, 12, 1)


def account(**kw):
    kw.setdefault("tax_rate", None)
    return Account.objects.create(name="Buyer", slug=f"buyer-{Account.objects.count()}", **kw)


@override_settings(VIES_MAX_AGE_DAYS=90)
def test_rules_from_the_table(eu_tax_rates):
    # Seller DE (settings). DE buyer 19 % domestic; AT consumer 20 %; FI consumer 25.5 %; US 0 % export.
    de = account_tax(account(country="DE"), DAY)
    assert (de.rate, de.reason) == (Decimal("0.19"), DOMESTIC)
    assert tuple(account_tax(account(country="AT"), DAY).__dict__.values()) == (Decimal("0.20"), EU_CONSUMER)
    assert account_tax(account(country="FI"), DAY).rate == Decimal("0.2550")
    assert account_tax(account(country="US", tax_id="US123"), DAY).reason == EXPORT
    # FR business, VIES valid 10 days ago: 0 % reverse charge; valid 91 days ago: too old, FR 20 %.
    fresh = account(country="FR", tax_id="FR40303265045", vies_valid_on=DAY - timedelta(days=10))
    assert (account_tax(fresh, DAY).rate, account_tax(fresh, DAY).reason) == (Decimal(0), REVERSE_CHARGE)
    stale = account(country="FR", tax_id="FR40303265045", vies_valid_on=DAY - timedelta(days=91))
    assert (account_tax(stale, DAY).rate, account_tax(stale, DAY).reason) == (Decimal("0.20"), EU_CONSUMER)


def test_manual_rate_wins(eu_tax_rates):
    # The model's default (and the scenario runner's account.tax_rate) is a manual rate: 0 stays 0.
    assert account_tax(Account.objects.create(name="Old", slug="old", country="DE"), DAY).reason == MANUAL
    manual = account(country="FR", tax_rate=Decimal("0.07"))
    assert (account_tax(manual, DAY).rate, account_tax(manual, DAY).reason) == (Decimal("0.07"), MANUAL)


def test_rates_are_half_open_by_date(db):
    # DE 16 % over [2020-07-01, 2021-01-01), then 19 %.
    TaxRate.objects.create(country="DE", rate=Decimal("0.16"), valid_from=date(2020, 7, 1), valid_to=date(2021, 1, 1))
    TaxRate.objects.create(country="DE", rate=Decimal("0.19"), valid_from=date(2021, 1, 1))
    assert tax_rates_on(date(2020, 12, 31))["DE"] == Decimal("0.16")
    assert tax_rates_on(date(2021, 1, 1))["DE"] == Decimal("0.19")


def test_the_demo_vat_ids_pass_their_check_digits(db, settings):
    # The seller's default SELLER_TAX_ID and the builders' buyer are numbers python-stdnum accepts,
    # so the billing-details form and VIES would not refuse them.
    from stdnum.eu import vat

    from tests.builders import make_billed_account

    assert vat.is_valid(settings.SELLER["tax_id"]), settings.SELLER["tax_id"]
    assert vat.is_valid(make_billed_account().tax_id)
