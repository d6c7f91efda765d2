#!/usr/bin/env python
"""Benchmark webhook delivery (issue 20): events per second and the delay from an event's `created_at`
until the receiver has it, p50 and p99.

    .venv/bin/python bench/webhooks.py [--events 10000] [--accounts 100] [--workers 2]

N events (an invoice payload each) are recorded through `events_record` in batches of --batch rows (the
daily run's way: one send per endpoint and account per batch), spread over --accounts accounts, for one
endpoint: a local receiver (tests/webhook_receiver.py) on 127.0.0.1 that answers 200 at once. Three runs,
each with fresh events: in-process (no broker: each batch's sends run right after its commit), then a
real Celery worker on a redis-server started here with 1 and with --workers processes
(`celery -A config worker -c W`), the events recorded while the worker runs. Events/s is N over the time
from the first event recorded to the last one received. SQLite in a temporary file unless DATABASE_URL.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._workers import celery_worker, start_redis  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

PAYLOAD = {
    "invoice": {
        "number": "INV-000123",
        "status": "open",
        "reason": "renewal",
        "issued_on": "2026-12-01",
        "due_on": "2026-12-15",
        "paid_on": None,
        "total": {"amount": "70.00", "currency": "USD"},
        "amount_due": {"amount": "70.00", "currency": "USD"},
        "amount_paid": {"amount": "0.00", "currency": "USD"},
        "subscription_id": "sub_0123456789",
    }
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", "-n", type=int, default=10_000)
    p.add_argument("--accounts", type=int, default=100, help="the events are spread over this many accounts")
    p.add_argument("--batch", type=int, default=1000, help="events per events_record call (one transaction)")
    p.add_argument("--workers", type=int, default=2, help="worker processes for the second Celery figure")
    return p.parse_args()


def record(accounts: list[int], n: int, batch: int) -> None:
    from django.db import transaction

    from webhooks.events import events_record

    for start in range(0, n, batch):
        rows = [("invoice.issued", accounts[i % len(accounts)], PAYLOAD) for i in range(start, min(n, start + batch))]
        with transaction.atomic():
            events_record(rows)


def measure(label: str, receiver, accounts: list[int], args) -> None:
    """Record N events, wait until the receiver has them all, print the rate and the delays."""
    from webhooks.models import Event

    before, mark = len(receiver.requests), Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    t0 = time.time()
    record(accounts, args.events, args.batch)
    deadline = time.monotonic() + 600
    while len(receiver.requests) - before < args.events:
        if time.monotonic() > deadline:
            sys.exit(f"bench: {label}: only {len(receiver.requests) - before} of {args.events} arrived in 10 min")
        time.sleep(0.05)
    got = receiver.requests[before:]
    recorded = Event.objects.filter(id__gt=mark).values_list("event_id", "created_at")
    created = {str(event_id): at.timestamp() for event_id, at in recorded}
    delays = sorted(r["at"] - created[r["headers"]["webhook-id"]] for r in got)
    assert len({r["headers"]["webhook-id"] for r in got}) == args.events, "an event arrived twice"
    assert all(r["status"] == 200 for r in got)
    seconds = max(r["at"] for r in got) - t0
    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
    print(
        f"{label}: {args.events} events, {args.events / seconds:.0f} events/s; delay created → received "
        f"p50 {statistics.median(delays) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
    )


def main():
    args = parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="prorata-bench-webhooks-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp.name}/bench.sqlite3")
    redis = start_redis(tmp.name)
    if redis is None:
        sys.exit("bench: needs redis-server (Debian package redis-server)")
    os.environ["CELERY_BROKER_URL"] = redis[1]
    os.environ["CELERY_RESULT_BACKEND"] = redis[1]
    import django

    django.setup()
    from django.core.management import call_command

    from accounts.models import Account
    from config.celery import app
    from tests.webhook_receiver import WebhookReceiver
    from webhooks.models import Event, WebhookEndpoint

    call_command("migrate", verbosity=0)
    if Event.objects.exists():
        sys.exit("bench: the database is not empty; point DATABASE_URL at an empty database (or unset it)")
    accounts = list(
        Account.objects.bulk_create(Account(name=f"Bench {i}", slug=f"bench-{i}") for i in range(args.accounts))
    )
    ids = [a.pk for a in accounts]
    try:
        with WebhookReceiver() as receiver:
            WebhookEndpoint.objects.create(url=receiver.url, description="bench receiver")
            app.conf.task_always_eager = True
            measure("in-process (no broker)", receiver, ids, args)
            app.conf.task_always_eager = False
            for workers in (1, args.workers):
                with celery_worker(workers):
                    plural = "es" if workers > 1 else ""
                    measure(f"Celery on Redis, {workers} worker process{plural}", receiver, ids, args)
    finally:
        redis[0].terminate()
        redis[0].wait(10)
        tmp.cleanup()


if __name__ == "__main__":
    main()
