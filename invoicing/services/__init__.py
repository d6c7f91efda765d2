"""Invoicing's services, one module per topic; `from invoicing.services import X` finds each.

- numbering: gapless numbers per series and year (SPEC §2.6)
- issuing: invoices, one or a batch, with totals, credit used and the credit ledger (SPEC §2.2, §2.6)
- credit_notes: credit notes, corrections of an invoice, credit granted by support (SPEC §2.2, §2.3, §2.6)
- payments: payments and refunds (SPEC §2.5)
- closing: void and uncollectible (SPEC §2.6)
- delivery: PDF, storage and email after commit (SPEC §2.6)
- receipts: one receipt per payment, emailed as a PDF after commit
- sweep: the safety sweep, background work still pending queued again
- rows: a core line as a line row, and the COPY writer of the daily run

Reads live in `invoicing.selectors`.
"""

from invoicing.services.closing import invoice_mark_uncollectible, invoice_void
from invoicing.services.credit_notes import credit_grant, credit_note_issue, invoice_credit
from invoicing.services.delivery import (
    document_deliver,
    document_queue,
    documents_deliver,
    documents_pending,
    documents_queue,
    invoice_deliver_pending,
)
from invoicing.services.issuing import InvoiceDraft, Issued, buyer_snapshot, invoice_issue, invoice_issue_many
from invoicing.services.numbering import (
    CREDIT_NOTE_SERIES,
    INVOICE_SERIES,
    SeriesFormat,
    number_allocate,
    numbers_allocate,
    series_format,
)
from invoicing.services.payments import invoice_pay, invoice_refund
from invoicing.services.receipts import receipt_deliver, receipt_write, receipts_deliver_pending
from invoicing.services.rows import (
    ids_next,
    line_from_core,
    line_to_core,
    row_of,
    rows_of,
    rows_register,
    rows_update,
    rows_write,
    waiting_by_subscription,
)
from invoicing.services.sweep import pending_requeue

__all__ = [
    "CREDIT_NOTE_SERIES",
    "INVOICE_SERIES",
    "InvoiceDraft",
    "Issued",
    "SeriesFormat",
    "buyer_snapshot",
    "credit_grant",
    "credit_note_issue",
    "document_deliver",
    "document_queue",
    "documents_deliver",
    "documents_pending",
    "documents_queue",
    "ids_next",
    "invoice_credit",
    "invoice_deliver_pending",
    "invoice_issue",
    "invoice_issue_many",
    "invoice_mark_uncollectible",
    "invoice_pay",
    "invoice_refund",
    "invoice_void",
    "line_from_core",
    "line_to_core",
    "number_allocate",
    "numbers_allocate",
    "pending_requeue",
    "receipt_deliver",
    "receipt_write",
    "receipts_deliver_pending",
    "row_of",
    "rows_of",
    "rows_register",
    "rows_update",
    "rows_write",
    "series_format",
    "waiting_by_subscription",
]
