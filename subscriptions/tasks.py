"""Background work of subscriptions, as Celery tasks: the daily run (from Celery beat) and reminders.

Thin `common.background.BackgroundTask`s: `acks_late` (redelivered when a worker dies), retried with
exponential backoff up to MAX_RETRIES times; each says why a second run is harmless.
"""

import logging
import math
from datetime import date

from celery import chord, group
from celery.result import GroupResult
from django.conf import settings

from common.background import background_task, in_process

log = logging.getLogger(__name__)


def renewal_parts(on: date) -> int:
    """How many chunk tasks the day's run fans out to: BILLING_RUN_CHUNK due subscriptions each, at least one."""
    from subscriptions.services import subscriptions_due

    return max(1, math.ceil(subscriptions_due(on=on).count() / settings.BILLING_RUN_CHUNK))


def billing_run_fan_out(on: date) -> tuple[int, GroupResult]:
    """Enqueue the day's renewals as one `renewals_part` task per chunk, for any worker on any machine."""
    parts = renewal_parts(on)
    return parts, group(renewals_part.s(on.isoformat(), part, parts) for part in range(parts)).apply_async()


@background_task("subscriptions.renewals_part")
def renewals_part(on: str, part: int, parts: int) -> dict:
    """One chunk of the daily run: the renewals, trial ends, expiries and waiting lines of the subscriptions
    whose id leaves `part` divided by `parts` (`renewals_run`); its summary as a dict.

    Harmless twice: subscriptions are claimed with `skip_locked` and re-read under the lock, and the unique
    billing keys refuse a second invoice for the same period, so a second run bills nothing again.
    """
    from subscriptions.services import renewals_run

    return renewals_run(on=date.fromisoformat(on), part=part, parts=parts).as_dict()


@background_task("subscriptions.billing_run_finish")
def billing_run_finish(shares: list[dict], on: str) -> str:
    """The rest of the day's run once its chunks are done (`billing_run`: whatever a chunk left, card
    retries, dunning, the safety sweep); logs and returns the day's summary.

    Harmless twice: what a chunk billed is not billed again (see `renewals_part`); dunning marks what it
    did (reminders sent, locks) and the sweep only queues work still pending.
    """
    from subscriptions.services import RunSummary, billing_run

    summary = billing_run(on=date.fromisoformat(on))
    for share in shares:
        summary.add(RunSummary.from_dict(share))
    log.info("Daily billing run: %s", summary.text())
    return summary.text()


@background_task("subscriptions.billing_run_daily")
def billing_run_daily(on: str | None = None) -> str | None:
    """The daily billing run for `on` (ISO date; default today), as Celery beat starts it at BILLING_RUN_AT:
    one `renewals_part` task per chunk, then `billing_run_finish` (a chord). In-process (no broker),
    the whole run here, and its summary returned.

    Harmless twice: see `renewals_part` and `billing_run_finish`.
    """
    from django.utils import timezone

    day = date.fromisoformat(on) if on else timezone.localdate()
    if in_process():
        return billing_run_finish([], day.isoformat())
    parts = renewal_parts(day)
    chord(renewals_part.s(day.isoformat(), part, parts) for part in range(parts))(billing_run_finish.s(day.isoformat()))
    return None


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
