"""The tax treatment of an account on a day: the rules of `billing.tax` fed from the database.

The seller's country is `settings.SELLER["country"]`; the rates are the `TaxRate` rows in force
on the day; a buyer counts as a validated business when VIES said its VAT ID was valid within
`VIES_MAX_AGE_DAYS` of the day.
"""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import Q

from accounts.models import Account, TaxRate
from billing import tax as rules
from common.dryrun import read_once


def tax_rates_on(on: date) -> dict[str, Decimal]:
    """Each country's rate in force on `on` (half-open `[valid_from, valid_to)`); read once a day per dry run."""
    rows = (
        TaxRate.objects.filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on))
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=on))
        .order_by("country", "valid_from")
        .values_list("country", "rate")
    )
    return dict(read_once(("tax rates", on), lambda: {country.upper(): rate for country, rate in rows}))


def vat_id_validated(account: Account, on: date) -> bool:
    """A VAT ID VIES found valid on a day no older than `VIES_MAX_AGE_DAYS` before `on`, and not since found invalid."""
    return rules.vat_id_validated(
        vat_id=account.tax_id,
        last_answer_valid=account.vies_valid,
        valid_on=account.vies_valid_on,
        on=on,
        max_age_days=settings.VIES_MAX_AGE_DAYS,
    )


def account_tax(account: Account, on: date, *, rates: dict[str, Decimal] | None = None) -> rules.TaxTreatment:
    """The rate and reason an invoice of `account` issued on `on` carries."""
    if account.tax_rate is not None:
        return rules.TaxTreatment(Decimal(account.tax_rate), rules.MANUAL)
    return rules.tax_treatment(
        seller_country=settings.SELLER["country"],
        buyer_country=account.country,
        validated_business=vat_id_validated(account, on),
        rates=tax_rates_on(on) if rates is None else rates,
    )
