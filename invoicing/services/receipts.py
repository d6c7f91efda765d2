"""Payment receipts (issue 17): every recorded payment gets a numbered receipt, emailed as a PDF.

The receipt is written in the payment's transaction with what it will say frozen on it; the
email goes out after commit, so a rolled-back payment (or a preview) sends nothing.
"""

import logging
from functools import partial

from django.db import transaction
from django.utils import timezone

from billing.proration import zero
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
    transaction.on_commit(partial(receipt_deliver, receipt_id=receipt.pk), robust=True)
    return receipt


def receipt_deliver(*, receipt_id: int) -> bool:
    """Render and email one receipt; the row lock and `emailed_at` make a second run send nothing."""
    from invoicing import documents, emails

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
        log.exception("Could not email receipt %s; the next daily run retries it.", receipt_id)
        return False
    return True


def receipts_deliver_pending() -> int:
    """The daily run's retry: receipts not emailed yet go out after the caller's transaction commits."""
    pending = list(Receipt.objects.filter(emailed_at__isnull=True).values_list("pk", flat=True))
    for pk in pending:
        transaction.on_commit(partial(receipt_deliver, receipt_id=pk), robust=True)
    return len(pending)
