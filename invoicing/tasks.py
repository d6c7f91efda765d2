"""Background work of invoicing, as Celery tasks (enqueued by `common.background.enqueue` after commit).

Each task only calls a service. All are `common.background.BackgroundTask`s: `acks_late` (a worker that
dies mid-task leaves the message to be delivered again), retried with exponential backoff up to
MAX_RETRIES times; each says why running it twice is harmless.
"""

from datetime import date

from django.apps import apps

from common.background import background_task


@background_task("invoicing.document_deliver")
def document_deliver(model: str, pk: int) -> bool:
    """Render, store and email one issued invoice or credit note (`model` is "invoicing.Invoice" or
    "invoicing.CreditNote").

    Harmless twice: the service re-reads the document under a row lock and sends only while its
    `emailed_at` mark is empty, setting it in the same transaction; the stored PDF is reused.
    """
    from invoicing.services.delivery import document_deliver as deliver

    return deliver(model=apps.get_model(model), pk=pk, quiet=False)


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
