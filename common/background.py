"""The one way to start background work: a Celery task enqueued when the current transaction commits.

A rolled-back change enqueues nothing, by construction, and a dry run (a preview) enqueues nothing at all.
Without CELERY_BROKER_URL the tasks run in-process right after the commit (Celery's eager mode).
"""

import logging

from django.db import transaction

from common.dryrun import is_dry_run

log = logging.getLogger(__name__)


def enqueue(task, *args) -> None:
    """`task.delay(*args)` once the current transaction commits (at once outside one); never in a dry run."""
    if is_dry_run():
        return
    transaction.on_commit(lambda: _send(task, args), robust=True)


def _send(task, args: tuple) -> None:
    try:
        task.delay(*args)
    except Exception:
        # The broker is down: the work stays pending in the database and the daily run's sweep re-queues it.
        log.exception("Could not enqueue %s%r; the safety sweep will pick it up.", task.name, args)
