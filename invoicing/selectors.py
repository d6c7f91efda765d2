"""Reads about invoices and credit."""

from django.db.models import Sum
from moneyed import Money

from invoicing.models import CreditEntry, Invoice
from subscriptions.billing.proration import round_money, zero


def credit_balance(account) -> Money:
    """The account's credit balance: the sum of its ledger (SPEC §2.2)."""
    currency = account.currency or "USD"
    total = CreditEntry.objects.filter(account=account).aggregate(s=Sum("amount"))["s"]
    return round_money(total, currency) if total is not None else zero(currency)


def open_invoices(account):
    return Invoice.objects.filter(account=account, status=Invoice.Status.OPEN)
