"""Proration and the one rounding rule (SPEC §2.2)."""

from decimal import ROUND_HALF_UP, Decimal
from functools import cache

from babel.numbers import get_currency_precision
from moneyed import Currency, Money, get_currency


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of `currency`: 0.01 for USD, 1 for JPY."""
    return _minor_unit(str(currency))


@cache
def _minor_unit(code: str) -> Decimal:
    """Kept per currency code: Babel's lookup costs more than the rounding, and every amount is rounded (issue 15)."""
    return Decimal(1).scaleb(-get_currency_precision(code))


@cache
def currency_of(code: str) -> Currency:
    """The Currency a Money in `code` holds, kept per code as `_minor_unit` is: every amount is rounded."""
    return get_currency(code.upper())


def round_money(amount: Decimal, currency: str) -> Money:
    """Half-up to the currency's minor unit. The only place Prorata rounds.

    A zero is always +0: `-0.00` (a tiny negative rounded, or a zero negated) is never an amount.
    """
    code = str(currency)
    return Money(_rounded(Decimal(amount), code), currency_of(code))


def _rounded(amount: Decimal, code: str) -> Decimal:
    rounded = amount.quantize(_minor_unit(code), rounding=ROUND_HALF_UP)
    return abs(rounded) if rounded == 0 else rounded


def amount_text(value: Money) -> str:
    """An amount as the string Prorata prints everywhere (SPEC §4): the currency's decimals, never `-0`.

    `1000` for ¥1,000, `10.00` for $10, `0.00` for nothing. Stored amounts keep two decimal places
    whatever the currency (¥1,000 is stored as 1000.00); this is where they become the currency's.
    """
    return f"{_rounded(value.amount, value.currency.code):f}"  # round_money's amount, without the Money


def zero(currency: str) -> Money:
    return _zero(str(currency))


@cache
def _zero(code: str) -> Money:
    """Kept per currency, as amounts are never changed in place: a batch of invoices asks for several each."""
    return round_money(Decimal(0), code)


def prorate(unit_price: Money, quantity: int, days: int, period_days: int) -> Money:
    """unit_price × quantity × days / period_days, at full precision, rounded once."""
    if period_days <= 0:
        raise ValueError("period_days must be positive")
    if not 0 <= days <= period_days:
        raise ValueError(f"days {days} outside 0..{period_days}")
    exact = unit_price.amount * quantity * days / Decimal(period_days)
    return round_money(exact, unit_price.currency.code)


def scale(amount: Money, factor: Decimal) -> Money:
    """amount × factor, rounded once (percent discounts, tax)."""
    return round_money(amount.amount * Decimal(factor), amount.currency.code)


def tax_within(gross: Money, rate: Decimal) -> Money:
    """The tax inside a tax-inclusive amount: gross × rate / (1 + rate), rounded once.

    119.00 at 19 % → 19.00 (and 100.00 net); 9.99 at 25.5 % → 2.0298… → 2.03.
    """
    rate = Decimal(rate)
    return round_money(gross.amount * rate / (1 + rate), gross.currency.code)
