"""Reads about invoices and credit."""

from decimal import Decimal

from django.db import connection
from django.db.models import Sum
from moneyed import Money

from billing.proration import round_money, zero
from common.lookups import AnyOf
from invoicing.models import CreditEntry, Invoice


def money_sum(amounts) -> Decimal:
    """Σ of stored amounts as Decimals, in Python.

    Never `Sum()` in SQL: SQLite keeps decimals as floats and sums them as floats, so a ledger that
    nets to zero can come back as −1.4e-14 and print as “-0.00” (issue 16). Each stored value reads
    back exact; only their sum would not.
    """
    return sum(amounts, Decimal(0))


def credit_balance(account) -> Money:
    """The account's credit balance: the sum of its ledger (SPEC §2.2)."""
    amounts = CreditEntry.objects.filter(account=account).values_list("amount", flat=True)
    return round_money(money_sum(amounts), account.currency or "USD")


def credit_balances(accounts) -> dict[int, Money]:
    """`credit_balance` of many accounts in one query, keyed by account id.

    PostgreSQL sums numerics exactly and returns one row per account (the daily run asks for
    thousands); SQLite's rows are summed here (`money_sum`).
    """
    accounts = list(accounts)
    entries = CreditEntry.objects.filter(AnyOf("account_id", [a.pk for a in accounts])).order_by()
    by_account: dict[int, list[Decimal]] = {}
    if connection.vendor == "postgresql":
        rows = entries.values("account_id").annotate(total=Sum("amount")).values_list("account_id", "total")
    else:
        rows = entries.values_list("account_id", "amount")
    for pk, amount in rows:
        by_account.setdefault(pk, []).append(amount)
    return {a.pk: round_money(money_sum(by_account.get(a.pk, ())), a.currency or "USD") for a in accounts}


def open_invoices(account):
    return Invoice.objects.filter(account=account, status=Invoice.Status.OPEN)


def invoice_outstanding(invoice: Invoice) -> Money:
    """What is still to pay on an invoice: its amount due less what was paid and what credit notes took off."""
    return invoice.amount_due - invoice.amount_paid - invoice.amount_credited


def invoice_net_paid(invoice: Invoice) -> Money:
    """What was paid on `invoice` and not refunded."""
    return invoice.amount_paid - sum((r.amount for r in invoice.refunds.all()), zero(invoice.currency))


def invoice_creditable(invoice: Invoice) -> Money:
    """What is left to credit on an invoice: its charges less the credit notes already issued against it."""
    credited = sum((n.total for n in invoice.credit_notes.all()), zero(invoice.currency))
    return max(invoice.total - credited, zero(invoice.currency))
