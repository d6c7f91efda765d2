"""Payment receipts (issue 17): every recorded payment gets a numbered receipt, emailed as a PDF.

The receipt is written in the payment's transaction with what it will say frozen on it; the
email goes out after commit, so a rolled-back payment (or a preview) sends nothing.
"""

import logging

from django.db import transaction
from django.utils import timezone

from billing.proration import zero
from common.background import enqueue
from common.dryrun import is_dry_run
from invoicing.models import Invoice, Payment, Receipt
from invoicing.selectors import invoice_outstanding

log = logging.getLogger(__name__)


def receipt_write(*, payment: Payment, invoice: Invoice) -> Receipt:
    """The receipt of `payment`, just recorded on `invoice` (already updated by it): `<invoice number>-R<n>`."""
    seq = Receipt.objects.filter(payment__invoice=invoice).count() + 1
    left = invoice_outstanding(invoice)
    receipt = Receipt.objects.create(
        payment=payment,
        number=f"{invoice.number}-R{seq}",
        paid_to_date=invoice.amount_paid,
        left_to_pay=max(left, zero(invoice.currency)),
    )
    from invoicing import tasks

    enqueue(tasks.receipt_deliver, receipt.pk)
    return receipt


def receipt_deliver(*, receipt_id: int, quiet: bool = True) -> bool:
    """Render and email one receipt; the row lock and `emailed_at` make a second run send nothing.

    A failure is logged (raised when not `quiet`, for the task to retry); nothing in a dry run.
    """
    from invoicing import documents, emails

    if is_dry_run():
        return False
    try:
        with transaction.atomic():
            receipt = (
                Receipt.objects.select_for_update()
                .select_related("payment__invoice__account")
                .filter(pk=receipt_id, emailed_at__isnull=True)
                .first()
            )
            if receipt is None:
                return False
            emails.receipt_send(receipt, documents.receipt_pdf(receipt))
            receipt.emailed_at = timezone.now()
            receipt.save(update_fields=["emailed_at"])
    except Exception:
        if not quiet:
            raise
        log.exception("Could not email receipt %s; the next daily run retries it.", receipt_id)
        return False
    return True


def receipts_deliver_pending() -> int:
    """The safety sweep's part for receipts: those not emailed yet are queued again after the caller's
    transaction commits (none in a dry run)."""
    from invoicing import tasks

    if is_dry_run():
        return 0
    pending = list(Receipt.objects.filter(emailed_at__isnull=True).values_list("pk", flat=True))
    for pk in pending:
        enqueue(tasks.receipt_deliver, pk)
    return len(pending)
