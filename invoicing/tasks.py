"""Background work of invoicing, as Celery tasks (enqueued by `common.background.enqueue` after commit).

Each task only calls a service. All are `acks_late` (a worker that dies mid-task leaves the message to
be delivered again) and retried with exponential backoff; each says why running it twice is harmless.
"""

from datetime import date

from celery import shared_task
from django.apps import apps

RETRYING = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (Exception,),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(name="invoicing.document_deliver", **RETRYING)
def document_deliver(model: str, pk: int) -> bool:
    """Render, store and email one issued invoice or credit note (`model` is "invoicing.Invoice" or
    "invoicing.CreditNote").

    Harmless twice: the service re-reads the document under a row lock and sends only while its
    `emailed_at` mark is empty, setting it in the same transaction; the stored PDF is reused.
    """
    from invoicing.services.delivery import document_deliver as deliver

    return deliver(model=apps.get_model(model), pk=pk, quiet=False)


@shared_task(name="invoicing.invoice_collect", **RETRYING)
def invoice_collect(invoice_id: int, on: str | None = None) -> None:
    """Charge the card of one open invoice (its gateway's `collect`), as an attempt of day `on` (ISO date).

    Harmless twice: a pending or succeeded charge stops a new one, and each attempt is sent to Stripe
    under its idempotency key (`prorata-<number>-<attempt>`), which returns the same PaymentIntent.
    """
    from invoicing.gateways import invoice_collect as collect

    collect(invoice_id=invoice_id, on=date.fromisoformat(on) if on else None)


@shared_task(name="invoicing.refund_send", **RETRYING)
def refund_send(refund_id: int) -> None:
    """Send one recorded refund through its gateway.

    Harmless twice: a refund that has its gateway id is skipped, and Stripe's idempotency key
    (`prorata-refund-<id>`) returns the same refund for a resend.
    """
    from invoicing.gateways import refund_send as send

    send(refund_id=refund_id, quiet=False)


@shared_task(name="invoicing.card_charge_resume", **RETRYING)
def card_charge_resume(charge_id: int) -> None:
    """Resend (or read back) one card charge left pending.

    Harmless twice: the resend uses the attempt's idempotency key; a settled charge is left alone.
    """
    from invoicing.stripe_services import card_charge_resume as resume

    resume(charge_id=charge_id)


@shared_task(name="invoicing.card_failure_email", **RETRYING)
def card_failure_email(charge_id: int) -> None:
    """Email the billing contact that a card charge failed.

    Harmless twice in practice: enqueued only by the transaction that set the charge's
    `failure_emailed_at` mark, so one failure enqueues it once.
    """
    from invoicing.stripe_services import card_failure_email as send

    send(charge_id=charge_id)
