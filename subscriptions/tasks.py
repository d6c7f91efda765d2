"""Background work of subscriptions, as Celery tasks: the daily run (from Celery beat) and reminders.

Thin `common.background.BackgroundTask`s: `acks_late` (redelivered when a worker dies), retried with
exponential backoff up to MAX_RETRIES times; each says why a second run is harmless.
"""

import logging
from datetime import date

from common.background import background_task

log = logging.getLogger(__name__)


@background_task("subscriptions.billing_run_daily")
def billing_run_daily(on: str | None = None) -> str:
    """The daily billing run for `on` (ISO date; default today), as Celery beat starts it at BILLING_RUN_AT.

    Harmless twice: subscriptions are claimed with `skip_locked` and re-read under the lock, and the unique
    billing keys refuse a second invoice for the same period, so a second run (or an overlapping one)
    bills nothing again; the sweep at its end only queues work that is still pending.
    """
    from django.utils import timezone

    from subscriptions.services import billing_run

    summary = billing_run(on=date.fromisoformat(on) if on else timezone.localdate())
    log.info("Daily billing run: %s", summary.text())
    return summary.text()


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
