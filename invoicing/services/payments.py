"""Payments and refunds of invoices (SPEC §2.5)."""

from datetime import date

from moneyed import Money

from common.dryrun import atomic
from common.errors import Refused
from invoicing import gateways
from invoicing.models import CreditEntry, Invoice, Payment, Refund
from invoicing.selectors import invoice_net_paid, invoice_outstanding
from invoicing.services.receipts import receipt_write
from invoicing.signals import invoice_paid


@atomic
def invoice_pay(
    *,
    invoice: Invoice,
    on: date,
    amount: Money | None = None,
    method: str = Payment.Method.BANK_TRANSFER,
    reference: str = "",
    gateway_id: str = "",
    by=None,
) -> Payment:
    """Record a payment and its receipt; paid in full → paid, and the account unlocks at once (SPEC §2.5).

    An overpayment goes to the credit balance. The account's status follows from `invoice_paid`,
    sent in this transaction.
    """
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != Invoice.Status.OPEN:
        raise Refused(f"{invoice.number} is {invoice.get_status_display().lower()}, not open.")
    outstanding = invoice_outstanding(invoice)
    amount = amount if amount is not None else outstanding
    if amount.currency.code != invoice.currency:
        raise Refused(
            f"{invoice.number} is in {invoice.currency}, not {amount.currency.code}.",
            field="amount",
        )
    if amount.amount <= 0:
        raise Refused("A payment must be a positive amount.", field="amount")
    payment = Payment.objects.create(
        invoice=invoice,
        amount=amount,
        on=on,
        method=method,
        reference=reference,
        gateway_id=gateway_id,
        recorded_by=by,
    )
    invoice.amount_paid += amount
    if invoice_outstanding(invoice).amount <= 0:
        invoice.status = Invoice.Status.PAID
        invoice.paid_on = on
        extra = -invoice_outstanding(invoice)
        if extra.amount > 0:
            CreditEntry.objects.create(
                account=invoice.account,
                amount=extra,
                on=on,
                memo=f"Overpayment of {invoice.number}",
                invoice=invoice,
            )
    invoice.save(update_fields=["amount_paid", "status", "paid_on"])
    receipt_write(payment=payment, invoice=invoice)
    invoice_paid.send(sender=Invoice, invoice=invoice, payment=payment, on=on)
    return payment


@atomic
def invoice_refund(*, invoice: Invoice, on: date, reason: str, by=None) -> Refund | None:
    """Refund what was paid on `invoice` and not yet refunded; card payments go back through the gateway."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    amount = invoice_net_paid(invoice)
    if amount.amount <= 0:
        return None
    payment = invoice.payments.order_by("-on", "-id").first()
    refund = Refund.objects.create(
        invoice=invoice,
        payment=payment,
        amount=amount,
        on=on,
        reason=reason,
        created_by=by,
    )
    gateways.refund_on_commit(refund)  # card payments go back through Stripe after commit
    return refund
