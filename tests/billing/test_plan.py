"""Which lines a change produces, and what an invoice totals (SPEC §2.2–2.4). No database."""

from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moneyed import Money

from billing.calendar import Period
from billing.plan import (
    CREDIT,
    PRORATION,
    SUBSCRIPTION,
    Discount,
    Line,
    annual_two_months_free,
    charge_line,
    charged_fraction,
    charges,
    credit_line,
    discount_total,
    invoice_totals,
    proration_line,
    seats_to_charge,
    switch_credit_note_lines,
)
from billing.proration import scale, tax_within, zero

NOV = Period(date(2026, 11, 1), date(2026, 12, 1))
USD = "USD"


def usd(value) -> Money:
    return Money(Decimal(str(value)), USD)


def test_charge_line_is_a_whole_period():
    # 7.00 × 2 seats = 14.00, 30 of 30 days
    line = charge_line(description="Pro", unit_price=usd("7.00"), quantity=2, period=NOV)
    assert (line.kind, line.amount, line.days, line.period_days, line.prorated) == (
        SUBSCRIPTION,
        usd("14.00"),
        30,
        30,
        False,
    )


def test_no_charge_line_for_no_seats():
    assert charge_line(description="Pro", unit_price=usd("7.00"), quantity=0, period=NOV) is None


def test_proration_line_from_the_next_day():
    # added Nov 15: Nov 16 – Dec 1, 7.00 × 1 × 15/30 = 3.50
    line = proration_line(description="+1", unit_price=usd("7.00"), quantity=1, period=NOV, on=date(2026, 11, 15))
    assert line.kind == PRORATION
    assert line.period == Period(date(2026, 11, 16), date(2026, 12, 1))
    assert (line.amount, line.days, line.period_days, line.prorated) == (usd("3.50"), 15, 30, True)


def test_proration_on_the_last_day_is_nothing():
    # added Nov 30: 0 days left → no line
    assert (
        proration_line(description="+1", unit_price=usd("7.00"), quantity=1, period=NOV, on=date(2026, 11, 30)) is None
    )


def test_credit_line_is_negative():
    # switch Apr 10 of Apr 1–30 with 1 seat: −7.00 × 20/30 = −4.67
    april = Period(date(2026, 4, 1), date(2026, 5, 1))
    line = credit_line(description="Unused", unit_price=usd("7.00"), quantity=1, period=april, on=date(2026, 4, 10))
    assert (line.kind, line.amount, line.days) == (CREDIT, usd("-4.67"), 20)


def test_credit_is_the_share_actually_charged():
    # 25% coupon: 7.00 × 0.75 × 1 × 20/30 = 3.50 credited instead of 4.67
    april = Period(date(2026, 4, 1), date(2026, 5, 1))
    line = credit_line(
        description="Unused",
        unit_price=usd("7.00"),
        quantity=1,
        period=april,
        on=date(2026, 4, 10),
        charged_fraction=Decimal("0.75"),
    )
    assert line.amount == usd("-3.50")
    assert line.unit_price == usd("7.00")


def test_seats_to_charge():
    # auto: max(in use 3, minimum 5) = 5; fixed: max(bought 4, minimum 2) = 4, whatever is in use
    assert seats_to_charge(seat_mode="auto", seats_in_use=3, bought_seats=0, minimum_seats=5) == 5
    assert seats_to_charge(seat_mode="auto", seats_in_use=6, bought_seats=0, minimum_seats=5) == 6
    assert seats_to_charge(seat_mode="fixed", seats_in_use=1, bought_seats=4, minimum_seats=2) == 4
    assert seats_to_charge(seat_mode="fixed", seats_in_use=1, bought_seats=1, minimum_seats=2) == 2


def _line(kind, amount) -> Line:
    return Line(kind, kind, NOV, 1, usd(abs(Decimal(amount))), usd(amount), 30, 30)


def test_discount_applies_to_charge_lines_only():
    # charges 14.00 + 3.50 = 17.50 (the credit −4.67 is not discounted); 25% → 4.375 → 4.38
    lines = [_line(SUBSCRIPTION, "14.00"), _line(PRORATION, "3.50"), _line(CREDIT, "-4.67")]
    assert charges(lines, USD) == usd("17.50")
    assert discount_total(lines, [Discount("25%", percent=Decimal(25))], USD) == usd("4.38")


def test_amount_off_never_exceeds_charges():
    # $100 off a 14.00 invoice → 14.00
    lines = [_line(SUBSCRIPTION, "14.00")]
    assert discount_total(lines, [Discount("offer", amount=usd("100.00"))], USD) == usd("14.00")


def test_totals_with_tax_and_credit():
    # subtotal 17.50 − discount 4.38 = 13.12; tax 20% = 2.624 → 2.62; total 15.74;
    # credit balance 5.00 applied → amount due 10.74
    lines = [_line(SUBSCRIPTION, "14.00"), _line(PRORATION, "3.50")]
    t = invoice_totals(
        lines=lines,
        currency=USD,
        discounts=[Discount("25%", percent=Decimal(25))],
        tax_rate=Decimal("0.2"),
        credit_balance=usd("5.00"),
    )
    assert (t.subtotal, t.discount, t.tax, t.total) == (usd("17.50"), usd("4.38"), usd("2.62"), usd("15.74"))
    assert (t.credit_applied, t.amount_due, t.credit_added) == (usd("5.00"), usd("10.74"), usd("0"))


def test_negative_total_is_never_due():
    # annual → monthly: credit −50.00 + charge 7.00 = −43.00 → nothing due, 43.00 to the balance
    t = invoice_totals(lines=[_line(CREDIT, "-50.00"), _line(SUBSCRIPTION, "7.00")], currency=USD)
    assert (t.total, t.amount_due, t.credit_applied, t.credit_added) == (usd("-43.00"), usd(0), usd(0), usd("43.00"))


def test_jpy_totals_have_no_decimals():
    # ¥1000 with 10% tax = ¥100; 8% of ¥999 = 79.92 → ¥80
    lines = [Line(SUBSCRIPTION, "x", NOV, 1, Money(999, "JPY"), Money(999, "JPY"), 30, 30)]
    t = invoice_totals(lines=lines, currency="JPY", tax_rate=Decimal("0.08"))
    assert t.tax == Money(80, "JPY")
    assert t.total == Money(1079, "JPY")


amounts = st.integers(-100_000, 100_000).map(lambda c: usd(Decimal(c) / 100))
kinds = st.sampled_from([SUBSCRIPTION, PRORATION, CREDIT])
discounts = st.one_of(
    st.builds(lambda p: Discount("pct", percent=Decimal(p)), st.integers(0, 100)),
    st.builds(lambda c: Discount("amt", amount=usd(Decimal(c) / 100)), st.integers(0, 200_000)),
)


@given(
    lines=st.lists(st.tuples(kinds, amounts), max_size=6),
    offs=st.lists(discounts, max_size=2),
    tax=st.sampled_from(["0", "0.07", "0.19", "0.2", "0.255"]),
    balance=st.integers(0, 100_000).map(lambda c: usd(Decimal(c) / 100)),
)
def test_invoice_totals_identities(lines, offs, tax, balance):
    core_lines = [_line(kind, amount.amount) for kind, amount in lines]
    t = invoice_totals(lines=core_lines, currency=USD, discounts=offs, tax_rate=Decimal(tax), credit_balance=balance)
    assert t.subtotal == sum((line.amount for line in core_lines), usd(0))
    assert t.total == t.subtotal - t.discount + t.tax
    # discounts never exceed the charges, and are never negative
    assert usd(0) <= t.discount <= charges(core_lines, USD)
    if t.total.amount >= 0:
        assert t.amount_due + t.credit_applied == t.total
        assert usd(0) <= t.credit_applied <= balance
        assert t.credit_added == usd(0)
    else:
        assert t.amount_due == usd(0)
        assert t.credit_applied == usd(0)
        assert t.credit_added == -t.total


def _totals_in_money(lines, currency, discounts, tax_rate, balance, tax_included):
    """SPEC §2.2 spelt in Money operations, one after the other (as `invoice_totals` was before issue 15)."""
    nothing = zero(currency)
    subtotal = sum((line.amount for line in lines), nothing)
    base = sum((x.amount for x in lines if x.kind in (SUBSCRIPTION, PRORATION) and x.amount.amount > 0), nothing)
    discount = nothing
    for d in discounts:
        discount += scale(base, d.percent / 100) if d.percent is not None else min(d.amount, base)
    discount = min(discount, base)
    if tax_included:
        tax, total = tax_within(subtotal - discount, tax_rate), subtotal - discount
    else:
        tax = scale(subtotal - discount, tax_rate)
        total = subtotal - discount + tax
    if total.amount < 0:
        return subtotal, discount, tax, total, nothing, nothing, -total
    applied = max(nothing, min(balance, total))
    return subtotal, discount, tax, total, applied, total - applied, nothing


# Amounts as the core makes them (rounded) and as rows give them back (two places, also for yen).
exact_amounts = st.tuples(st.integers(-100_000, 100_000), st.sampled_from([0, 1, 2]))


@given(
    currency=st.sampled_from(["USD", "JPY"]),
    lines=st.lists(st.tuples(kinds, exact_amounts), max_size=5),
    percents=st.lists(st.integers(0, 100), max_size=2),
    off=st.one_of(st.none(), exact_amounts),
    tax=st.sampled_from(["0", "0.07", "0.19", "0.2", "0.255"]),
    balance=st.one_of(st.none(), exact_amounts.map(lambda a: (abs(a[0]), a[1]))),
    tax_included=st.booleans(),
)
def test_invoice_totals_are_those_of_money_arithmetic(currency, lines, percents, off, tax, balance, tax_included):
    """Computed on Decimals and wrapped once (issue 15), the totals are those of the Money operations:
    the same amounts to the exponent (`Decimal('1500.00')` stays so for yen), and all Money."""

    def money(amount):
        return Money(Decimal(amount[0]).scaleb(-amount[1]), currency)

    core_lines = [Line(kind, kind, NOV, 1, money(a), money(a), 30, 30) for kind, a in lines]
    offs = [Discount("pct", percent=Decimal(p)) for p in percents]
    offs += [Discount("amt", amount=money((abs(off[0]), off[1])))] if off is not None else []
    credit = money(balance) if balance is not None else None
    t = invoice_totals(
        lines=core_lines,
        currency=currency,
        discounts=offs,
        tax_rate=Decimal(tax),
        credit_balance=credit,
        tax_included=tax_included,
    )
    got = (t.subtotal, t.discount, t.tax, t.total, t.credit_applied, t.amount_due, t.credit_added)
    expected = _totals_in_money(core_lines, currency, offs, Decimal(tax), credit or zero(currency), tax_included)
    assert all(isinstance(m, Money) for m in got)
    assert [(repr(m.amount), m.currency) for m in got] == [(repr(m.amount), m.currency) for m in expected]


def test_amounts_in_two_currencies_never_meet():
    with pytest.raises(TypeError):
        invoice_totals(lines=[_line(SUBSCRIPTION, "7.00")], currency="EUR")
    with pytest.raises(TypeError):
        invoice_totals(lines=[_line(SUBSCRIPTION, "7.00")], currency=USD, credit_balance=Money("5.00", "EUR"))
    with pytest.raises(TypeError):
        discount_total([_line(SUBSCRIPTION, "7.00")], [Discount("amt", amount=Money("5.00", "EUR"))], USD)


@given(
    start=st.dates(min_value=date(2024, 1, 1), max_value=date(2032, 12, 1)),
    length=st.sampled_from([28, 29, 30, 31, 365, 366]),
    seats=st.integers(1, 5),
    additions=st.lists(st.tuples(st.integers(0, 400), st.integers(1, 4)), max_size=8),
)
def test_no_two_charge_lines_cover_the_same_seat_day(start, length, seats, additions):
    """STYLE habit 2: the renewal line plus every added-seat line cover each seat-day exactly once."""
    period = Period(start, start + timedelta(days=length))
    price = usd("7.00")
    lines = [charge_line(description="renewal", unit_price=price, quantity=seats, period=period)]
    effective = Counter()  # day → seats added that take effect that day
    for offset, added in additions:
        on = start + timedelta(days=offset % length)
        lines.append(proration_line(description="added", unit_price=price, quantity=added, period=period, on=on))
        effective[on + timedelta(days=1)] += added
    covered = Counter()
    for line in filter(None, lines):
        day = line.period.start
        while day < line.period.end:
            covered[day] += line.quantity
            day += timedelta(days=1)
    in_use = seats
    day = period.start
    while day < period.end:
        in_use += effective[day]
        # each seat in use that day is paid exactly once: no gap, no double charge
        assert covered[day] == in_use
        day += timedelta(days=1)
    assert all(period.start <= d < period.end for d in covered)


def test_annual_price_with_two_months_free_is_monthly_times_ten():
    # 10.00 × 10 = 100.00 (Time Doctor: two months free); ¥980 × 10 = ¥9,800
    assert annual_two_months_free(Money("10.00", "USD")) == Money("100.00", "USD")
    assert annual_two_months_free(Money("980", "JPY")) == Money("9800", "JPY")


def test_charged_fraction_from_a_percent_or_an_amount_off():
    # 25% off → 0.75 of the list price; $5.00 off $7.00 of charges → 2/7 charged
    assert charged_fraction(percent=Decimal("25")) == Decimal("0.75")
    assert charged_fraction(discount=Money("5.00", USD), charges=Money("7.00", USD)) == 1 - Decimal(5) / 7
    assert charged_fraction(discount=Money("9.00", USD), charges=Money("7.00", USD)) == 0  # never below zero
    assert charged_fraction() == 1


# ---------------------------------------------------------------- two switch documents (issue 16, SPEC §2.4)


def test_switch_credit_note_gives_back_the_tax_of_the_credit():
    # Apr 10 of Apr 1–30, 3 seats × 10.00: unused 20/30 → credit −20.00; annual 3 × 100.00 = 300.00; tax 20%.
    # One invoice: subtotal 280.00, tax 56.00, total 336.00.
    # Two documents: the invoice alone totals 300.00 + 60.00 = 360.00, so the note is 360.00 − 336.00 = 24.00:
    # the 20.00 credited and the 4.00 of tax it takes off.
    credit = _line(CREDIT, "-20.00")
    charge = _line(SUBSCRIPTION, "300.00")
    note = switch_credit_note_lines(credit=credit, invoice_lines=[charge], currency=USD, tax_rate=Decimal("0.2"))
    assert [line.amount for line in note] == [usd("-20.00"), usd("-4.00")]
    assert switch_credit_note_lines(credit=credit, invoice_lines=[charge], currency=USD) == [credit]


@given(
    credit=st.integers(1, 100_000).map(lambda c: usd(Decimal(-c) / 100)),
    lines=st.lists(st.tuples(st.sampled_from([SUBSCRIPTION, PRORATION]), amounts), min_size=1, max_size=4),
    offs=st.lists(discounts, max_size=1),
    tax=st.sampled_from(["0", "0.07", "0.19", "0.2", "0.255"]),
    balance=st.integers(0, 100_000).map(lambda c: usd(Decimal(c) / 100)),
)
def test_two_switch_documents_leave_what_one_invoice_does(credit, lines, offs, tax, balance):
    """The amount due and the credit balance after are those of one invoice with a credit line."""
    invoice_lines = [_line(kind, abs(amount.amount)) for kind, amount in lines]
    credit_line_ = _line(CREDIT, credit.amount)
    kw = {"currency": USD, "discounts": offs, "tax_rate": Decimal(tax)}
    one = invoice_totals(lines=[credit_line_, *invoice_lines], credit_balance=balance, **kw)
    note = switch_credit_note_lines(credit=credit_line_, invoice_lines=invoice_lines, **kw)
    note_total = -sum((line.amount for line in note), usd(0))
    assert note_total > usd(0)
    two = invoice_totals(lines=invoice_lines, credit_balance=balance + note_total, **kw)
    assert two.amount_due == one.amount_due
    after_one = balance - one.credit_applied + one.credit_added
    after_two = balance + note_total - two.credit_applied + two.credit_added
    assert after_two == after_one
