"""What lines a change produces, and what an invoice of those lines totals (SPEC §2.2–2.4).

Every function here is pure: it is given the subscription's terms and a day,
and answers with proposed lines or totals. Services write the answer.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from moneyed import Money

from billing.calendar import Period, remaining_days
from billing.proration import currency_of, prorate, round_money, zero

SUBSCRIPTION = "subscription"
PRORATION = "proration"
CREDIT = "credit"
CHARGE_KINDS = (SUBSCRIPTION, PRORATION)

AUTO = "auto"
FIXED = "fixed"

# Plan setting `downgrade` (SPEC §2.4).
DOWNGRADE_NOW = "now"
DOWNGRADE_AT_PERIOD_END = "at_period_end"


@dataclass(frozen=True)
class Line:
    """One proposed invoice line; `days`/`period_days` say how it was prorated."""

    kind: str
    description: str
    period: Period
    quantity: int
    unit_price: Money
    amount: Money
    days: int
    period_days: int

    @property
    def prorated(self) -> bool:
        return self.days != self.period_days


def charge_line(*, description: str, unit_price: Money, quantity: int, period: Period) -> Line | None:
    """A whole period of `quantity` seats, charged in advance."""
    amount = round_money(unit_price.amount * quantity, unit_price.currency.code)
    if quantity <= 0 or amount.amount == 0:
        return None
    return Line(
        SUBSCRIPTION,
        description,
        period,
        quantity,
        unit_price,
        amount,
        period.days,
        period.days,
    )


def proration_line(*, description: str, unit_price: Money, quantity: int, period: Period, on: date) -> Line | None:
    """Seats added on day `on`: charged for the days from on+1 to the period's end."""
    days = remaining_days(period, on)
    if quantity <= 0 or days == 0:
        return None
    amount = prorate(unit_price, quantity, days, period.days)
    if amount.amount == 0:
        return None
    return Line(
        PRORATION,
        description,
        _rest_of(period, on),
        quantity,
        unit_price,
        amount,
        days,
        period.days,
    )


def credit_line(
    *,
    description: str,
    unit_price: Money,
    quantity: int,
    period: Period,
    on: date,
    charged_fraction: Decimal = Decimal(1),
) -> Line | None:
    """Unused days after `on`, credited as the prorated share of what was actually charged.

    `charged_fraction` is 1 minus any percent discount that applied to the charge
    (a 25% coupon makes the credit 25% smaller, SPEC §2.5).
    """
    days = remaining_days(period, on)
    if quantity <= 0 or days == 0:
        return None
    charged_price = Money(unit_price.amount * charged_fraction, unit_price.currency.code)
    amount = -prorate(charged_price, quantity, days, period.days)
    if amount.amount == 0:
        return None
    return Line(
        CREDIT,
        description,
        _rest_of(period, on),
        quantity,
        unit_price,
        amount,
        days,
        period.days,
    )


def _rest_of(period: Period, on: date) -> Period:
    return Period(max(period.start, on + timedelta(days=1)), period.end)


def seats_to_charge(*, seat_mode: str, seats_in_use: int, bought_seats: int, minimum_seats: int) -> int:
    """Seats a renewal, switch or purchase charges (SPEC §2.4)."""
    if seat_mode == FIXED:
        return max(bought_seats, minimum_seats)
    return max(seats_in_use, minimum_seats)


def is_downgrade(*, current_price: Money, new_price: Money) -> bool:
    """A plan change is a downgrade when the new price per seat for the current cycle is lower (SPEC §2.4).

    Only the price per seat counts: seat counts, discounts and minimums change nothing, and an equal
    price is not a downgrade. Prices in two currencies raise (a plan change never crosses currencies).
    """
    return new_price < current_price


def plan_change_waits(*, downgrade: str, current_price: Money, new_price: Money) -> bool:
    """Whether a plan change waits for the period's end rather than being prorated today (SPEC §2.4).

    `downgrade` is the setting of the plan being left: under `at_period_end` a downgrade is
    scheduled for the renewal, with no credit; an upgrade (or a same-price change) is made now.
    """
    return downgrade == DOWNGRADE_AT_PERIOD_END and is_downgrade(current_price=current_price, new_price=new_price)


def below_minimum_invoice(total: Money, minimum: Money | None) -> bool:
    """A seat invoice totalling less than the plan's `minimum_invoice` is not issued on its own (SPEC §2.4).

    No minimum (None) means every invoice is issued.
    """
    return minimum is not None and total < minimum


def annual_two_months_free(monthly_price: Money) -> Money:
    """The annual price that gives two months free: monthly × 10 (SPEC §2.4)."""
    return round_money(monthly_price.amount * 10, monthly_price.currency.code)


@dataclass(frozen=True)
class Discount:
    """A percent off (25 means 25%) or a fixed amount off the charge lines."""

    label: str
    percent: Decimal | None = None
    amount: Money | None = None


def charged_fraction(
    *, percent: Decimal | None = None, discount: Money | None = None, charges: Money | None = None
) -> Decimal:
    """The share of the list price actually charged (SPEC §2.5): 1 − percent, or 1 − discount / charges."""
    if percent is not None:
        return 1 - Decimal(percent) / 100
    if discount is None or charges is None or charges.amount <= 0:
        return Decimal(1)
    return max(Decimal(0), 1 - discount.amount / charges.amount)


@dataclass(frozen=True)
class Totals:
    subtotal: Money
    discount: Money
    tax: Money
    total: Money
    credit_applied: Money
    amount_due: Money
    credit_added: Money
    tax_included: bool = False  # prices include tax: `total` is subtotal − discount, tax is inside it


def charges(lines: list[Line], currency: str) -> Money:
    return _money(_sums(lines, str(currency))[1], currency)


def discount_total(lines: list[Line], discounts: list[Discount], currency: str) -> Money:
    """percent × Σ charge lines, or min(amount, Σ charge lines); never more than the charges."""
    code = str(currency)
    return _money(_discount(_sums(lines, code)[1], discounts, code), code)


# `invoice_totals` and its parts add and compare amounts (Decimals) and wrap their answers in Money
# once: the daily run prices thousands of invoices, and each Money operation builds a Money (issue 15).
# Each step is the Money operation's own arithmetic (`a − b` is `a + (−b)`, `min` keeps the first of
# two equal amounts), so that the answers are those of Money, to the last digit and exponent.


def _money(amount: Decimal, currency: str) -> Money:
    return Money(amount, currency_of(str(currency)))


def _amount(money: Money, code: str) -> Decimal:
    """The amount of `money`, which must be in `code`: as in Money, two currencies never meet."""
    if money.currency.code != code:
        raise TypeError(f"Cannot add, subtract or compare {money.currency.code} and {code} amounts.")
    return money.amount


def _sums(lines: list[Line], code: str) -> tuple[Decimal, Decimal]:
    """Σ all lines (the subtotal) and Σ the positive charge lines, each from a zero of `code`."""
    subtotal = charged = zero(code).amount
    for line in lines:
        amount = _amount(line.amount, code)
        subtotal += amount
        if line.kind in CHARGE_KINDS and amount > 0:
            charged += amount
    return subtotal, charged


def _discount(charged: Decimal, discounts: list[Discount], code: str) -> Decimal:
    total = zero(code).amount
    for discount in discounts:
        if discount.percent is not None:
            total += round_money(charged * Decimal(discount.percent / 100), code).amount
        elif discount.amount is not None:
            total += min(_amount(discount.amount, code), charged)
    return min(total, charged)


def invoice_totals(
    *,
    lines: list[Line],
    currency: str,
    discounts: list[Discount] = (),
    tax_rate: Decimal = Decimal(0),
    credit_balance: Money | None = None,
    tax_included: bool = False,
) -> Totals:
    """SPEC §2.2: subtotal, discount, tax, total, credit applied, amount due.

    With `tax_included` (a plan whose prices include tax) the lines are gross: the total stays
    as priced, `subtotal − discount`, and the tax is extracted from it once per invoice with the
    same rounding rule (`tax_within`): 119.00 at 19 % → tax 19.00, net 100.00, total 119.00.
    """
    code = str(currency)
    nothing = zero(code)
    subtotal, charged = _sums(lines, code)
    discount = _discount(charged, discounts, code)
    net = subtotal + -discount
    rate = Decimal(tax_rate)
    if tax_included:
        tax = round_money(net * rate / (1 + rate), code).amount  # as `tax_within`
        total = net
    else:
        tax = round_money(net * rate, code).amount  # as `scale`
        total = net + tax
    amounts = (_money(subtotal, code), _money(discount, code), _money(tax, code))
    if total < 0:
        return Totals(*amounts, _money(total, code), nothing, nothing, _money(-total, code), tax_included)
    total_money = _money(total, code)
    balance = credit_balance if credit_balance is not None else nothing
    # Compared as Money: a balance in another currency raises, and the balance itself is what is applied.
    credit_applied = max(nothing, min(balance, total_money))
    due = total + -credit_applied.amount
    return Totals(*amounts, total_money, credit_applied, _money(due, code), nothing, tax_included)


def switch_credit_note_lines(
    *,
    credit: Line,
    invoice_lines: list[Line],
    currency: str,
    discounts: list[Discount] = (),
    tax_rate: Decimal = Decimal(0),
    tax_included: bool = False,
) -> list[Line]:
    """The credit note of a switch issued as two documents (SPEC §2.4 `credit_note_and_invoice`).

    The unused days (`credit`) are credited by a note issued first, whose total joins the credit
    balance; the invoice of `invoice_lines` follows and that balance pays it in part. The note also
    gives back the tax the credit line would have taken off one invoice, so that the amount due and
    the balance left are those of one invoice: its total is total(invoice) − total(one invoice).
    With prices that include tax, the credit line already carries its tax: nothing is added.
    """
    if tax_included:
        return [credit]
    one = invoice_totals(lines=[credit, *invoice_lines], currency=currency, discounts=discounts, tax_rate=tax_rate)
    alone = invoice_totals(lines=list(invoice_lines), currency=currency, discounts=discounts, tax_rate=tax_rate)
    tax_back = alone.tax - one.tax
    if not tax_back.amount:
        return [credit]
    tax_line = Line(
        CREDIT, "Tax on the unused time", credit.period, 1, -tax_back, -tax_back, credit.days, credit.period_days
    )
    return [credit, tax_line]
