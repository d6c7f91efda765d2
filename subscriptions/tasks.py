"""Background work of subscriptions, as Celery tasks: reminders.

Thin `common.background.BackgroundTask`s: `acks_late` (redelivered when a worker dies), retried with
exponential backoff up to MAX_RETRIES times; each says why a second run is harmless.
"""

from datetime import date

from common.background import background_task


@background_task("subscriptions.invoice_reminder_send")
def invoice_reminder_send(pk: int, kind: str, lock_on: str) -> None:
    """Email one payment reminder.

    Harmless twice in practice: enqueued only by the transaction that wrote the reminder's kind into
    the invoice's `reminders_sent`, so a day's reminder is enqueued once.
    """
    from subscriptions.notifications import invoice_reminder_send as send

    send(pk, kind, date.fromisoformat(lock_on))


@background_task("subscriptions.trial_reminder_send")
def trial_reminder_send(pk: int) -> None:
    """Email one trial-ending reminder.

    Harmless twice in practice: enqueued only by the transaction that set `trial_reminder_sent_on`.
    """
    from subscriptions.notifications import trial_reminder_send as send

    send(pk)
