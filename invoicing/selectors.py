"""Reads about invoices and credit."""

from django.db.models import Sum
from moneyed import Money

from billing.proration import round_money, zero
from invoicing.models import CreditEntry, Invoice


def credit_balance(account) -> Money:
    """The account's credit balance: the sum of its ledger (SPEC §2.2)."""
    currency = account.currency or "USD"
    total = CreditEntry.objects.filter(account=account).aggregate(s=Sum("amount"))["s"]
    return round_money(total, currency) if total is not None else zero(currency)


def credit_balances(accounts) -> dict[int, Money]:
    """`credit_balance` of many accounts in one query, keyed by account id."""
    accounts = list(accounts)
    sums = dict(
        CreditEntry.objects.filter(account__in=[a.pk for a in accounts])
        .order_by()
        .values_list("account_id")
        .annotate(s=Sum("amount"))
    )
    out = {}
    for a in accounts:
        currency = a.currency or "USD"
        total = sums.get(a.pk)
        out[a.pk] = round_money(total, currency) if total is not None else zero(currency)
    return out


def open_invoices(account):
    return Invoice.objects.filter(account=account, status=Invoice.Status.OPEN)


def invoice_outstanding(invoice: Invoice) -> Money:
    """What is still to pay on an invoice: its amount due less what was paid."""
    return invoice.amount_due - invoice.amount_paid


def invoice_net_paid(invoice: Invoice) -> Money:
    """What was paid on `invoice` and not refunded."""
    return invoice.amount_paid - sum((r.amount for r in invoice.refunds.all()), zero(invoice.currency))


def invoice_creditable(invoice: Invoice) -> Money:
    """What is left to credit on an invoice: its charges less the credit notes already issued against it."""
    credited = sum((n.total for n in invoice.credit_notes.all()), zero(invoice.currency))
    return max(invoice.total - credited, zero(invoice.currency))
