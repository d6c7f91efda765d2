"""Background work of invoicing, as Celery tasks (enqueued by `common.background.enqueue` after commit).

Each task only calls a service. All are `common.background.BackgroundTask`s: `acks_late` (a worker that
dies mid-task leaves the message to be delivered again), retried with exponential backoff up to
MAX_RETRIES times; each says why running it twice is harmless.
"""

from datetime import date

from django.apps import apps

from common.background import background_task

# A worker given a longer list splits it into messages of this many, so that all workers share the work.
SLICE = 50


@background_task("invoicing.document_deliver")
def document_deliver(model: str, pk: int) -> bool:
    """Render, store and email one issued invoice or credit note (`model` is "invoicing.Invoice" or
    "invoicing.CreditNote").

    Harmless twice: the service re-reads the document under a row lock and sends only while its
    `emailed_at` mark is empty, setting it in the same transaction; the stored PDF is reused.
    """
    from invoicing.services.delivery import document_deliver as deliver

    return deliver(model=apps.get_model(model), pk=pk, quiet=False)


@background_task("invoicing.document_deliver_many")
def document_deliver_many(model: str, pks: list[int]) -> int:
    """`document_deliver` for the documents of one transaction (the daily run's chunk), sent as one message.

    More than SLICE documents are first split into messages of SLICE, for the workers to share.
    Harmless twice: each document is delivered as by `document_deliver` (row lock, `emailed_at`),
    so a retry, or a slice sent twice, emails only what is still pending.
    """
    if len(pks) > SLICE:
        for first in range(0, len(pks), SLICE):
            document_deliver_many.delay(model, pks[first : first + SLICE])
        return 0
    from invoicing.services.delivery import documents_deliver

    return documents_deliver(model=apps.get_model(model), pks=pks)


@background_task("invoicing.receipt_deliver")
def receipt_deliver(receipt_id: int) -> bool:
    """Render and email one payment receipt.

    Harmless twice: the service re-reads the receipt under a row lock and sends only while its
    `emailed_at` mark is empty, setting it in the same transaction.
    """
    from invoicing.services.receipts import receipt_deliver as deliver

    return deliver(receipt_id=receipt_id, quiet=False)


@background_task("invoicing.invoice_collect")
def invoice_collect(invoice_id: int, on: str | None = None) -> None:
    """Charge the card of one open invoice (its gateway's `collect`), as an attempt of day `on` (ISO date).

    Harmless twice: a pending or succeeded charge stops a new one, and each attempt is sent to Stripe
    under its idempotency key (`prorata-<number>-<attempt>`), which returns the same PaymentIntent.
    """
    from invoicing.gateways import invoice_collect as collect

    collect(invoice_id=invoice_id, on=date.fromisoformat(on) if on else None)


@background_task("invoicing.invoice_collect_many")
def invoice_collect_many(invoice_ids: list[int]) -> None:
    """`invoice_collect` for the invoices of one transaction (the daily run's chunk), sent as one message.

    More than SLICE invoices are first split into messages of SLICE, for the workers to share.
    Harmless twice: each invoice is collected as by `invoice_collect` (a pending or succeeded
    charge stops a new one; Stripe's idempotency key returns the same PaymentIntent).
    """
    if len(invoice_ids) > SLICE:
        for first in range(0, len(invoice_ids), SLICE):
            invoice_collect_many.delay(invoice_ids[first : first + SLICE])
        return
    from invoicing.gateways import invoices_collect

    invoices_collect(invoice_ids=invoice_ids)


@background_task("invoicing.refund_send")
def refund_send(refund_id: int) -> None:
    """Send one recorded refund through its gateway.

    Harmless twice: a refund that has its gateway id is skipped, and Stripe's idempotency key
    (`prorata-refund-<id>`) returns the same refund for a resend.
    """
    from invoicing.gateways import refund_send as send

    send(refund_id=refund_id, quiet=False)


@background_task("invoicing.card_charge_resume")
def card_charge_resume(charge_id: int) -> None:
    """Resend (or read back) one card charge left pending.

    Harmless twice: the resend uses the attempt's idempotency key; a settled charge is left alone.
    """
    from invoicing.stripe_services import card_charge_resume as resume

    resume(charge_id=charge_id)


@background_task("invoicing.card_failure_email")
def card_failure_email(charge_id: int) -> None:
    """Email the billing contact that a card charge failed.

    Harmless twice in practice: enqueued only by the transaction that set the charge's
    `failure_emailed_at` mark, so one failure enqueues it once.
    """
    from invoicing.stripe_services import card_failure_email as send

    send(charge_id=charge_id)
