"""Background work of subscriptions, as Celery tasks: reminders.

Thin, `acks_late` (redelivered when a worker dies), retried with exponential backoff; each says why a
second run is harmless.
"""

from datetime import date

from celery import shared_task

RETRYING = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": (Exception,),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(name="subscriptions.invoice_reminder_send", **RETRYING)
def invoice_reminder_send(pk: int, kind: str, lock_on: str) -> None:
    """Email one payment reminder.

    Harmless twice in practice: enqueued only by the transaction that wrote the reminder's kind into
    the invoice's `reminders_sent`, so a day's reminder is enqueued once.
    """
    from subscriptions.notifications import invoice_reminder_send as send

    send(pk, kind, date.fromisoformat(lock_on))


@shared_task(name="subscriptions.trial_reminder_send", **RETRYING)
def trial_reminder_send(pk: int) -> None:
    """Email one trial-ending reminder.

    Harmless twice in practice: enqueued only by the transaction that set `trial_reminder_sent_on`.
    """
    from subscriptions.notifications import trial_reminder_send as send

    send(pk)
