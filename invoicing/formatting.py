"""Money and dates as a reader sees them (Babel, the account's locale)."""

from datetime import date, timedelta

from babel.dates import format_date
from babel.numbers import format_currency
from moneyed import Money

from billing.proration import round_money


def money(value: Money, locale: str = "en_US") -> str:
    """`$3.50`, `3,50 €`, `¥1,294`: the currency's decimals, never `-$0.00` (as `billing.proration.amount_text`)."""
    return format_currency(round_money(value.amount, value.currency.code).amount, value.currency.code, locale=locale)


def billed(cycle: str) -> str:
    """How often a cycle bills, as a sentence says it: “billed monthly”, “billed annually”."""
    return "annually" if cycle == "annual" else "monthly"


def day(value: date, locale: str = "en_US") -> str:
    return format_date(value, "medium", locale=locale)


def span(start: date, end: date, locale: str = "en_US") -> str:
    """A half-open period [start, end) as the inclusive days a person reads: “Nov 16 – Nov 30, 2026”."""
    last = end - timedelta(days=1)
    if start == last:
        return day(start, locale)
    if start.year == last.year:
        return f"{format_date(start, 'MMM d', locale=locale)} – {day(last, locale)}"
    return f"{day(start, locale)} – {day(last, locale)}"


def line_explain(line, locale: str = "en_US") -> str:
    """How a stored line was computed: “Nov 16 – Nov 30, 2026 · 15 of 30 days · 1 seat × $7.00”."""
    parts = [span(line.period_start, line.period_end, locale)]
    if line.days != line.period_days:
        parts.append(f"{line.days} of {line.period_days} days")
    seats = abs(line.quantity)
    parts.append(f"{seats} seat{'s' if seats != 1 else ''} × {money(line.unit_price, locale)}")
    return " · ".join(parts)
