"""Money and dates in templates, in the account's locale (invoicing.formatting)."""

from datetime import date, datetime

from django import template
from django.utils import timezone

from invoicing import formatting
from invoicing.selectors import invoice_outstanding

register = template.Library()


@register.filter
def money(value, locale="en_US"):
    """`{{ invoice.total|money:locale }}` → “$3.50”."""
    if value is None:
        return ""
    return formatting.money(value, locale or "en_US")


@register.filter
def left_to_pay(invoice):
    """`{{ inv|left_to_pay|money:locale }}`: what is still to pay on an open invoice (invoicing.selectors)."""
    return invoice_outstanding(invoice)


@register.filter
def when(value, locale="en_US"):
    """`{{ key.last_used_at|when:locale }}` → “Nov 15, 2026, 09:30”: the day as everywhere, then the time."""
    if not isinstance(value, datetime):
        return day(value, locale)
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{formatting.day(local.date(), locale or 'en_US')}, {local:%H:%M}"


@register.filter
def billed(cycle):
    """`billed {{ sub.cycle|billed }}` → “billed annually”."""
    return formatting.billed(cycle)


@register.filter
def day(value, locale="en_US"):
    """`{{ invoice.issued_on|day:locale }}` → “Nov 15, 2026”."""
    if not isinstance(value, date):
        return ""
    return formatting.day(value, locale or "en_US")


@register.simple_tag
def span(start, end, locale="en_US"):
    """A half-open period [start, end) as the days a person reads."""
    return formatting.span(start, end, locale or "en_US")
