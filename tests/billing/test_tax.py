"""The tax rules (billing/tax.py): each rule with worked numbers. No database."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from moneyed import Money

from billing.plan import SUBSCRIPTION, Discount, Line, invoice_totals
from billing.tax import (
    DOMESTIC,
    EU_CONSUMER,
    EXPORT,
    MANUAL,
    REVERSE_CHARGE,
    TaxTreatment,
    UnknownRate,
    reverse_charge_possible,
    tax_treatment,
    vat_id_validated,
)

RATES = {"DE": Decimal("0.19"), "FR": Decimal("0.20"), "AT": Decimal("0.20"), "FI": Decimal("0.255")}


def treat(buyer, *, business=False, seller="DE", manual=None):
    return tax_treatment(
        seller_country=seller, buyer_country=buyer, validated_business=business, rates=RATES, manual_rate=manual
    )


def tax_on(amount: str, rate: Decimal) -> Money:
    line = Line(SUBSCRIPTION, "Seats", None, 1, Money(amount, "EUR"), Money(amount, "EUR"), 30, 30)
    return invoice_totals(lines=[line], currency="EUR", tax_rate=rate).tax


def test_fr_business_with_validated_vat_id_is_reverse_charge():
    # DE seller, FR business, VAT ID validated: 0 %, reverse charge; 100.00 → tax 0.00.
    assert treat("FR", business=True) == TaxTreatment(Decimal(0), REVERSE_CHARGE)
    assert tax_on("100.00", treat("FR", business=True).rate) == Money("0.00", "EUR")


def test_at_consumer_pays_austrian_rate():
    # DE seller, AT consumer: Austria's 20 %; 100.00 → 20.00.
    assert treat("AT") == TaxTreatment(Decimal("0.20"), EU_CONSUMER)
    assert tax_on("100.00", treat("AT").rate) == Money("20.00", "EUR")


def test_fr_business_without_validated_vat_id_pays_french_rate():
    # Not validated (no VIES answer, or too old): treated as a consumer, France's 20 %.
    assert treat("FR", business=False) == TaxTreatment(Decimal("0.20"), EU_CONSUMER)


def test_us_business_is_export():
    # DE seller, US buyer (business or not): 0 %, export; 100.00 → 0.00.
    assert treat("US", business=True) == TaxTreatment(Decimal(0), EXPORT)
    assert treat("US") == TaxTreatment(Decimal(0), EXPORT)


def test_domestic_de_to_de_is_19_percent_even_for_a_business():
    # DE seller, DE business with a valid VAT ID: still domestic 19 %; 100.00 → 19.00.
    assert treat("DE", business=True) == TaxTreatment(Decimal("0.19"), DOMESTIC)
    assert tax_on("100.00", Decimal("0.19")) == Money("19.00", "EUR")


def test_unknown_buyer_country_is_taxed_as_domestic():
    assert treat("") == TaxTreatment(Decimal("0.19"), DOMESTIC)


def test_25_5_percent_rate_is_kept_whole():
    # Finland's 25.5 %: 100.00 → 25.50 (not 25.00 or 26.00); 9.99 → 2.547… → 2.55 half-up.
    assert treat("FI") == TaxTreatment(Decimal("0.255"), EU_CONSUMER)
    assert tax_on("100.00", Decimal("0.255")) == Money("25.50", "EUR")
    assert tax_on("9.99", Decimal("0.255")) == Money("2.55", "EUR")


def test_manual_rate_wins():
    # Support's 7 % on a FR business with a valid VAT ID: 7 %, manual; a manual 0 stays 0.
    assert treat("FR", business=True, manual=Decimal("0.07")) == TaxTreatment(Decimal("0.07"), MANUAL)
    assert treat("DE", manual=Decimal(0)) == TaxTreatment(Decimal(0), MANUAL)


def test_seller_outside_the_eu_charges_nothing_abroad():
    assert treat("FR", seller="US") == TaxTreatment(Decimal(0), EXPORT)


def test_missing_rate_is_an_error_not_zero():
    with pytest.raises(UnknownRate):
        treat("IT")


def test_vies_evidence_holds_for_max_age_days_and_ends_with_a_refusal():
    on = date(2026, 12, 1)

    def validated(last_answer, valid_days_ago, vat_id="FR40303265045"):
        valid_on = None if valid_days_ago is None else on - timedelta(days=valid_days_ago)
        return vat_id_validated(vat_id=vat_id, last_answer_valid=last_answer, valid_on=valid_on, on=on, max_age_days=90)

    assert validated(True, 0) and validated(True, 90)  # valid today, or exactly 90 days ago
    assert not validated(True, 91)  # too old
    # VIES down since a valid answer 30 days ago: the answer is still True, so it holds.
    assert validated(True, 30)
    assert not validated(False, 30)  # VIES since said "not valid"
    assert not validated(None, None) and not validated(True, 10, vat_id="")


def test_reverse_charge_needs_two_eu_countries():
    assert reverse_charge_possible(seller_country="DE", buyer_country="FR")
    assert not reverse_charge_possible(seller_country="DE", buyer_country="DE")
    assert not reverse_charge_possible(seller_country="DE", buyer_country="US")
    assert not reverse_charge_possible(seller_country="DE", buyer_country="")


# ---------------------------------------------------------------- tax-inclusive prices


def inclusive(*amounts, rate, discounts=(), credit="0.00"):
    lines = [Line(SUBSCRIPTION, "Pro", None, 1, Money(a, "EUR"), Money(a, "EUR"), 30, 30) for a in amounts]
    return invoice_totals(
        lines=lines,
        currency="EUR",
        discounts=list(discounts),
        tax_rate=Decimal(rate),
        credit_balance=Money(credit, "EUR"),
        tax_included=True,
    )


def test_inclusive_price_keeps_its_total_and_extracts_the_tax():
    # 119.00 inclusive at 19 %: tax = 119.00 × 0.19 / 1.19 = 19.00, net 100.00, total 119.00 as priced.
    totals = inclusive("119.00", rate="0.19")
    assert (totals.subtotal, totals.tax, totals.total) == (
        Money("119.00", "EUR"),
        Money("19.00", "EUR"),
        Money("119.00", "EUR"),
    )
    assert totals.total - totals.tax == Money("100.00", "EUR") and totals.tax_included
    assert totals.amount_due == Money("119.00", "EUR")


def test_inclusive_tax_is_rounded_once_per_invoice():
    # Two lines of 9.99 at 19 %: per line 9.99 × 0.19 / 1.19 = 1.595… → 1.60, twice 3.20; once per
    # invoice 19.98 × 0.19 / 1.19 = 3.1901… → 3.19. The invoice carries 3.19.
    totals = inclusive("9.99", "9.99", rate="0.19")
    assert (totals.tax, totals.total) == (Money("3.19", "EUR"), Money("19.98", "EUR"))


def test_inclusive_with_a_25_5_rate_a_discount_and_credit():
    # Finland 25.5 %: 100.00 inclusive → tax 100.00 × 0.255 / 1.255 = 20.318… → 20.32, net 79.68.
    assert inclusive("100.00", rate="0.255").tax == Money("20.32", "EUR")
    # 10 % off 119.00 → 107.10 gross; tax 107.10 × 0.19 / 1.19 = 17.10; 50.00 credit → 57.10 due.
    ten = Discount(label="10 %", percent=Decimal(10))
    totals = inclusive("119.00", rate="0.19", discounts=[ten], credit="50.00")
    assert (totals.discount, totals.tax, totals.total) == (
        Money("11.90", "EUR"),
        Money("17.10", "EUR"),
        Money("107.10", "EUR"),
    )
    assert (totals.credit_applied, totals.amount_due) == (Money("50.00", "EUR"), Money("57.10", "EUR"))
    # Reverse charge (0 %) on an inclusive price: nothing to extract, 119.00 stays 119.00.
    assert inclusive("119.00", rate="0").tax == Money("0.00", "EUR")
