"""Money and dates as a reader sees them (Babel, the account's locale)."""

from datetime import date, timedelta

from babel import Locale
from babel.dates import format_date, format_interval
from babel.numbers import format_currency
from django.utils.translation import gettext, ngettext, pgettext
from moneyed import Money

from billing.proration import round_money
from common.locales import locale_for


def money(value: Money, locale: str = "en_US") -> str:
    """`$3.50`, `3,50 €`, `¥1,294`: the currency's decimals, never `-$0.00` (as `billing.proration.amount_text`)."""
    return format_currency(round_money(value.amount, value.currency.code).amount, value.currency.code, locale=locale)


def billed(cycle: str) -> str:
    """How often a cycle bills, as a sentence says it: “billed monthly”, “billed annually”."""
    return pgettext("billed", "annually") if cycle == "annual" else pgettext("billed", "monthly")


def day(value: date, locale: str = "en_US") -> str:
    return format_date(value, "medium", locale=locale)


def span(start: date, end: date, locale: str = "en_US") -> str:
    """A half-open period [start, end) as the inclusive days a person reads: “Nov 16 – Nov 30, 2026”.

    Other languages take Babel's interval for theirs (“16.–30. Nov. 2026”, “16–30 nov. 2026”).
    """
    last = end - timedelta(days=1)
    if start == last:
        return day(start, locale)
    if not locale.startswith("en"):
        return format_interval(start, last, "yMMMd", locale=locale)
    if start.year == last.year:
        return f"{format_date(start, 'MMM d', locale=locale)} – {day(last, locale)}"
    return f"{day(start, locale)} – {day(last, locale)}"


def line_explain(line, locale: str = "en_US") -> str:
    """How a stored line was computed: “Nov 16 – Nov 30, 2026 · 15 of 30 days · 1 seat × $7.00”.

    In the active language (Django's i18n): a document renders it in the buyer's invoice language.
    """
    parts = [span(line.period_start, line.period_end, locale)]
    if line.days != line.period_days:
        parts.append(gettext("%(days)s of %(period)s days") % {"days": line.days, "period": line.period_days})
    seats = abs(line.quantity)
    seat_words = ngettext("%(n)s seat", "%(n)s seats", seats) % {"n": seats}
    parts.append(f"{seat_words} × {money(line.unit_price, locale)}")
    return " · ".join(parts)


DOCUMENT_LANGUAGES = ("en", "de", "fr")


def document_language(buyer: dict) -> str:
    """The language a document is written in: the buyer's frozen invoice language, else English."""
    language = (buyer.get("language") or "en").lower()
    return language if language in DOCUMENT_LANGUAGES else "en"


def document_locale(buyer: dict) -> str:
    """The Babel locale that formats a document's money and dates.

    English documents keep the account's locale (`en_US`, or `de_DE` for an English invoice with German
    number formats, as before issue 19). A German or French document formats for its language:
    the account's locale when it is one of that language (`de_AT`), else the language in the buyer's
    country when Babel knows it (`fr_BE`), else the language alone (`de`).
    """
    return locale_for(document_language(buyer), buyer.get("locale") or "en_US", buyer.get("country") or "")


def document_day(value: date, locale: str = "en_US") -> str:
    """A date on a document: “Dec 1, 2026” in English, the month in words elsewhere (“1. Dezember 2026”)."""
    return format_date(value, "medium" if locale.startswith("en") else "long", locale=locale)


def country_name(code: str, locale: str = "en_US") -> str:
    """“FR” → “France” (“Frankreich” in German); an unknown code stays as it is."""
    if not code:
        return ""
    return Locale.parse(locale).territories.get(code.upper(), code)
