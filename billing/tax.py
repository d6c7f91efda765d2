"""Which VAT rate an invoice carries, and why (EU VAT on electronically supplied services).

Pure: the caller passes the seller's and buyer's countries, whether the buyer is a business
whose VAT ID was validated, the standard rates in force on the invoice's day and the
account's manual rate, if support set one. The answer is a rate (a fraction: 0.19 is 19 %)
and a reason code the invoice keeps.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

DOMESTIC = "domestic"
REVERSE_CHARGE = "reverse_charge"
EU_CONSUMER = "eu_consumer"
EXPORT = "export"
MANUAL = "manual"
REASONS = (DOMESTIC, REVERSE_CHARGE, EU_CONSUMER, EXPORT, MANUAL)

# The 27 member states, by ISO 3166 code. Greece's VAT prefix is EL, its ISO code GR.
EU_COUNTRIES = frozenset("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split())


@dataclass(frozen=True)
class TaxTreatment:
    rate: Decimal
    reason: str


def vat_id_validated(
    *, vat_id: str, last_answer_valid: bool | None, valid_on: date | None, on: date, max_age_days: int
) -> bool:
    """Whether the evidence lets an invoice of `on` treat the buyer as a business (reverse charge).

    The evidence is VIES's last answer about `vat_id` and the last day it said "valid". A valid
    answer holds for `max_age_days`, also while VIES is down (a failed check changes neither);
    an answer "not valid" ends it at once.
    """
    if not vat_id or last_answer_valid is False or valid_on is None:
        return False
    return on - valid_on <= timedelta(days=max_age_days)


def reverse_charge_possible(*, seller_country: str, buyer_country: str) -> bool:
    """Seller and buyer in two EU countries: a validated VAT ID would make it reverse charge."""
    seller, buyer = seller_country.upper(), buyer_country.upper()
    return bool(buyer) and seller != buyer and seller in EU_COUNTRIES and buyer in EU_COUNTRIES


class UnknownRate(LookupError):
    """No rate in the table for a country that needs one."""


def _rate(rates: Mapping[str, Decimal], country: str) -> Decimal:
    try:
        return Decimal(rates[country])
    except KeyError:
        raise UnknownRate(f"No tax rate for {country or 'an unknown country'}.") from None


def tax_treatment(
    *,
    seller_country: str,
    buyer_country: str,
    validated_business: bool,
    rates: Mapping[str, Decimal],
    manual_rate: Decimal | None = None,
) -> TaxTreatment:
    """The rules, in order:

    - a manual rate set by support wins (`manual`);
    - same country as the seller, or a buyer whose country is not known yet → the seller's
      rate (`domestic`);
    - seller and buyer in two EU countries: a business with a validated VAT ID pays 0 %
      (`reverse_charge`), anyone else the buyer country's rate (`eu_consumer`);
    - anything else (a buyer outside the EU, or a seller outside the EU selling abroad) → 0 %
      (`export`).
    """
    if manual_rate is not None:
        return TaxTreatment(Decimal(manual_rate), MANUAL)
    seller, buyer = seller_country.upper(), buyer_country.upper()
    if not buyer or buyer == seller:
        return TaxTreatment(_rate(rates, seller), DOMESTIC)
    if seller in EU_COUNTRIES and buyer in EU_COUNTRIES:
        if validated_business:
            return TaxTreatment(Decimal(0), REVERSE_CHARGE)
        return TaxTreatment(_rate(rates, buyer), EU_CONSUMER)
    return TaxTreatment(Decimal(0), EXPORT)
