"""Closing an open invoice without payment: void (issued by mistake) or uncollectible (written off) (SPEC §2.6)."""

from datetime import date

from billing.proration import zero
from common.dryrun import atomic
from common.errors import Refused
from invoicing.models import CreditEntry, Invoice
from invoicing.selectors import invoice_net_paid
from invoicing.signals import invoice_closed


def _reverse_credit(invoice: Invoice, *, on: date, memo: str) -> None:
    """Give back the credit an invoice used (and take back any it added): the ledger nets to zero for it."""
    entries = list(CreditEntry.objects.filter(invoice=invoice))
    net = sum((e.amount for e in entries), zero(invoice.currency))
    if net.amount:
        CreditEntry.objects.create(account=invoice.account, amount=-net, on=on, memo=memo, invoice=invoice)


def _close_open(invoice: Invoice, *, status: str, on: date, verb: str, reason: str = "", by=None) -> Invoice:
    invoice = Invoice.objects.select_for_update().select_related("account").get(pk=invoice.pk)
    if invoice.status != Invoice.Status.OPEN:
        status = invoice.get_status_display().lower()
        raise Refused(f"{invoice.number} is {status}; only an open invoice can be {verb}.")
    if invoice_net_paid(invoice).amount:
        raise Refused(f"{invoice.number} is partly paid; refund or credit it instead.")
    invoice.status = status
    # The history says who closed it and why (issue 7); without a reason the admin's staff_reason applies.
    if reason.strip():
        invoice._change_reason = reason.strip()[:100]
    if by is not None:
        invoice._history_user = by
    invoice.save(update_fields=["status"])
    invoice_closed.send(sender=Invoice, invoice=invoice, on=on)
    return invoice


@atomic
def invoice_void(*, invoice: Invoice, on: date, reason: str = "", by=None) -> Invoice:
    """Open → void: the invoice was issued by mistake. The credit it used goes back to the balance (SPEC §2.6)."""
    invoice = _close_open(invoice, status=Invoice.Status.VOID, on=on, verb="voided", reason=reason, by=by)
    _reverse_credit(invoice, on=on, memo=f"{invoice.number} voided")
    return invoice


@atomic
def invoice_mark_uncollectible(*, invoice: Invoice, on: date, reason: str = "", by=None) -> Invoice:
    """Open → uncollectible: written off; it no longer makes the account past due or locked (SPEC §2.6)."""
    return _close_open(
        invoice, status=Invoice.Status.UNCOLLECTIBLE, on=on, verb="marked uncollectible", reason=reason, by=by
    )
