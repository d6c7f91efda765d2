"""Proration and the one rounding rule (SPEC §2.2). No database."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moneyed import Money

from billing.calendar import Period, remaining_days
from billing.proration import amount_text, minor_unit, prorate, round_money, scale, zero

currencies = st.sampled_from(["USD", "EUR", "JPY"])


def test_minor_units():
    assert minor_unit("USD") == Decimal("0.01")
    assert minor_unit("JPY") == Decimal(1)


def test_seat_added_mid_month():
    # 7.00 × 1 × 15/30 = 3.50
    assert prorate(Money("7.00", "USD"), 1, 15, 30) == Money("3.50", "USD")


def test_switch_credit_of_twenty_days():
    # 7.00 × 3 × 20/30 = 14.00
    assert prorate(Money("7.00", "USD"), 3, 20, 30) == Money("14.00", "USD")


def test_rounds_once_per_line_not_per_seat():
    # 10.00 × 3 × 1/30 = 1.00 exactly (per seat it would be 0.33 × 3 = 0.99)
    assert prorate(Money("10.00", "USD"), 3, 1, 30) == Money("1.00", "USD")


def test_half_up():
    # 0.005 → 0.01; 0.0049 → 0.00; −0.005 → −0.01 (half away from zero)
    assert round_money(Decimal("0.005"), "USD") == Money("0.01", "USD")
    assert round_money(Decimal("0.0049"), "USD") == Money("0.00", "USD")
    assert round_money(Decimal("-0.005"), "USD") == Money("-0.01", "USD")
    # 0.01 × 1 × 15/30 = 0.005 → 0.01
    assert prorate(Money("0.01", "USD"), 1, 15, 30) == Money("0.01", "USD")


def test_jpy_rounds_to_whole_yen():
    # ¥1000 × 1 × 15/31 = 483.87… → ¥484
    assert prorate(Money(1000, "JPY"), 1, 15, 31) == Money(484, "JPY")
    # ¥1000 × 1 × 1/16 = 62.5 → ¥63 (half up), no decimals
    assert prorate(Money(1000, "JPY"), 1, 1, 16).amount == Decimal(63)
    assert prorate(Money(1000, "JPY"), 1, 1, 16).amount.as_tuple().exponent == 0


def test_scale_rounds_once():
    # 20% tax on 10.01 = 2.002 → 2.00; 25% of 6.30 = 1.575 → 1.58
    assert scale(Money("10.01", "USD"), Decimal("0.2")) == Money("2.00", "USD")
    assert scale(Money("6.30", "USD"), Decimal("0.25")) == Money("1.58", "USD")


def test_zero_has_the_currency():
    assert zero("EUR") == Money(0, "EUR")


def test_days_outside_the_period_are_refused():
    with pytest.raises(ValueError):
        prorate(Money("7.00", "USD"), 1, 31, 30)
    with pytest.raises(ValueError):
        prorate(Money("7.00", "USD"), 1, 1, 0)


@given(value=st.decimals(min_value=-10_000, max_value=10_000, places=6), currency=currencies)
def test_rounding_is_to_the_minor_unit_and_within_half_of_it(value, currency):
    rounded = round_money(value, currency).amount
    unit = minor_unit(currency)
    assert rounded % unit == 0
    assert abs(rounded - value) <= unit / 2


@given(
    cents=st.integers(1, 100_000),
    quantity=st.integers(1, 500),
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2032, 12, 31)),
    length=st.integers(28, 366),
    split=st.integers(0, 400),
    currency=currencies,
)
def test_splitting_a_period_prorates_to_the_whole(cents, quantity, start, length, split, currency):
    """Prorating both parts of a period split at any day sums to the full amount (± 1 minor unit per part)."""
    unit = minor_unit(currency)
    price = Money(Decimal(cents) * unit, currency)
    period = Period(start, start + timedelta(days=length))
    on = start + timedelta(days=split % length)
    after = remaining_days(period, on)
    before = period.days - after
    whole = round_money(price.amount * quantity, currency)
    parts = prorate(price, quantity, before, period.days) + prorate(price, quantity, after, period.days)
    # each part is its exact share rounded once (± half a unit), so the sum is off by at most one unit
    assert abs(parts.amount - whole.amount) <= unit


@given(cents=st.integers(0, 100_000), quantity=st.integers(0, 50), days=st.integers(0, 31))
def test_proration_is_monotonic_in_days(cents, quantity, days):
    price = Money(Decimal(cents) / 100, "USD")
    assert prorate(price, quantity, days, 31) <= prorate(price, quantity, 31, 31)
    assert prorate(price, quantity, days, 31).amount >= 0


# ---------------------------------------------------------------- amounts as text (issue 16, SPEC §4)

DECIMALS = {"USD": 2, "EUR": 2, "JPY": 0}


def test_amount_text_has_the_currency_decimals():
    # ¥1,000 is stored as 1000.00 (MoneyField, two places) and printed as the yen has none
    assert amount_text(Money("1000.00", "JPY")) == "1000"
    assert amount_text(Money("10", "USD")) == "10.00"
    assert amount_text(Money("-3.5", "EUR")) == "-3.50"


def test_amount_text_never_prints_minus_zero():
    # SQLite's float sum of a ledger netting to zero: −1.4e-14 rounds to −0.00; a zero negated is −0.00 too
    assert amount_text(Money(Decimal("-1.4e-14"), "USD")) == "0.00"
    assert amount_text(-Money("0.00", "USD")) == "0.00"
    assert amount_text(Money(Decimal("-0.4"), "JPY")) == "0"
    assert not round_money(Decimal("-0.001"), "USD").amount.is_signed()


@given(st.decimals(min_value=-(10**9), max_value=10**9, allow_nan=False, places=6), currencies)
def test_amount_text_is_the_rounded_amount_with_exact_decimals(amount, currency):
    text = amount_text(Money(amount, currency))
    places = DECIMALS[currency]
    whole, _, fraction = text.lstrip("-").partition(".")
    assert whole.isdigit() and len(fraction) == places and (places == 0) == ("." not in text)
    assert Decimal(text) == round_money(amount, currency).amount
    assert not (text.startswith("-") and Decimal(text) == 0)
