"""The one way to start background work: a Celery task enqueued when the current transaction commits.

A rolled-back change enqueues nothing, by construction, and a dry run (a preview) enqueues nothing at all.
Without CELERY_BROKER_URL the tasks run in-process right after the commit (Celery's eager mode).
"""

import logging
from functools import partial

from celery import Task, shared_task
from django.db import transaction

from common.dryrun import is_dry_run

log = logging.getLogger(__name__)

RETRY_BACKOFF = 5  # seconds before the first retry; doubled each time, with jitter, up to RETRY_BACKOFF_MAX
RETRY_BACKOFF_MAX = 600
MAX_RETRIES = 5


class BackgroundTask(Task):
    """A Prorata task: acknowledged only once done (a worker that dies mid-task leaves the message to be
    delivered again), retried on any error with exponential backoff, at most MAX_RETRIES times.

    In-process (no broker, eager mode) a failure is not retried on the spot: it is logged and the work
    stays pending in the database, where the daily run's safety sweep (`requeue_pending`) finds it.
    """

    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = (Exception,)
    retry_backoff = RETRY_BACKOFF
    retry_backoff_max = RETRY_BACKOFF_MAX
    retry_jitter = True
    max_retries = MAX_RETRIES

    def retry(self, *args, exc=None, **kwargs):
        if self.request.is_eager and exc is not None:
            log.warning("%s failed in-process; the work stays pending and the daily run's sweep retries it.", self.name)
            raise exc
        return super().retry(*args, exc=exc, **kwargs)


def background_task(name: str):
    """Declare a task (`@background_task("invoicing.document_deliver")`) with the retry policy of BackgroundTask."""
    return shared_task(name=name, base=BackgroundTask)


def in_process() -> bool:
    """True without a broker (no CELERY_BROKER_URL): tasks run in this process right after commit."""
    from celery import current_app

    return bool(current_app.conf.task_always_eager)


def enqueue(task, *args) -> None:
    """`task.delay(*args)` once the current transaction commits (at once outside one); never in a dry run."""
    if is_dry_run():
        return
    transaction.on_commit(partial(task_send, task, args), robust=True)


def enqueue_later(task, *args, seconds: float) -> None:
    """Like `enqueue`, but run by a worker no sooner than `seconds` after the commit (a retry's wait).

    In-process there is no later: nothing is queued, and the work waits in the database for a sweep.
    """
    if is_dry_run() or in_process():
        return
    transaction.on_commit(partial(task_send, task, args, seconds), robust=True)


def task_send(task, args: tuple, countdown: float | None = None) -> None:
    """Hand one task to the broker (or run it in-process); what `enqueue` does at commit."""
    try:
        task.apply_async(args, countdown=countdown)
    except Exception:
        # The broker is down: the work stays pending in the database and the daily run's sweep re-queues it.
        log.exception("Could not enqueue %s%r; the safety sweep will pick it up.", task.name, args)
