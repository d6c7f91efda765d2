"""What invoicing tells the apps above it without importing them (STYLE: dependencies point one way).

Both are sent inside the transaction that makes the change, so a receiver's writes commit or
roll back with it, and a receiver's error undoes the change.
"""

from django.dispatch import Signal

# A payment was recorded on an invoice, in part or in full (`invoice_pay`), or a credit note
# settled what was left of it (`credit_note_issue`, then `payment` is None).
# Arguments: invoice, payment, on (the day it was paid). Sender: Invoice.
invoice_paid = Signal()

# An open invoice was voided or written off as uncollectible (`invoice_void`, `invoice_mark_uncollectible`):
# it is no longer owed. Arguments: invoice, on. Sender: Invoice.
invoice_closed = Signal()

# Invoices were issued (`invoice_issue`, `invoice_issue_many`, the daily run's batches): open, or paid at once
# when nothing was due. Arguments: invoices (a list). Sender: Invoice.
invoices_issued = Signal()

# A credit note was issued (`credit_note_issue`). Arguments: credit_note. Sender: CreditNote.
credit_note_issued = Signal()

# The safety sweep ran (`pending_requeue`): apps above invoicing queue their own pending work again.
# Arguments: on, accounts (None: all). A receiver returns a dict of counts, e.g. {"webhooks": 3}.
pending_swept = Signal()
