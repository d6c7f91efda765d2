"""Webhook delivery on a real Celery worker (a thread of this process) against a real Redis: events of a
committed change reach the receiver in order, a failed attempt is retried by the worker after its wait (a
Celery countdown), and a rolled-back change sends nothing. Needs `redis-server` (skipped without it)."""

import json
import time
from datetime import date

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import transaction
from standardwebhooks import Webhook

from subscriptions.services import subscription_create
from tests.builders import make_account, make_plan
from tests.webhook_receiver import WebhookReceiver
from webhooks.models import Delivery, Event, WebhookEndpoint

NOV_1 = date(2026, 11, 1)

# The worker is another thread with its own database connection: the test's data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


class Boom(Exception):
    pass


def wait_for(condition, seconds: float = 60) -> None:
    """Poll the receiver, not the database (SQLite's shared in-memory database is locked while the worker writes)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the worker did not deliver in time"
        time.sleep(0.1)


def test_a_worker_delivers_in_order_and_retries_after_the_wait(celery_on_redis, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [1, 1]
    plan = make_plan()
    with WebhookReceiver(fail_first=1) as receiver:
        endpoint = WebhookEndpoint.objects.create(url=receiver.url)
        with pytest.raises(Boom), transaction.atomic():
            subscription_create(account=make_account("Gone", on=NOV_1), plan=plan, cycle="monthly", on=NOV_1)
            raise Boom
        sub = subscription_create(account=make_account("Acme", on=NOV_1), plan=plan, cycle="monthly", on=NOV_1)

        with start_worker(celery_on_redis, perform_ping_check=False, shutdown_timeout=60):
            wait_for(lambda: len(receiver.accepted) == 3)
            time.sleep(0.5)  # anything more would arrive now

    events = list(Event.objects.filter(account=sub.account).order_by("id"))
    assert [json.loads(r["body"])["type"] for r in receiver.requests] == [events[0].type] + [e.type for e in events]
    first_try, retry = receiver.requests[:2]
    assert retry["at"] - first_try["at"] >= 1  # after the schedule's wait, not at once
    assert first_try["headers"]["webhook-id"] == retry["headers"]["webhook-id"] == str(events[0].event_id)
    for request in receiver.accepted:
        Webhook(endpoint.secret).verify(request["body"], request["headers"])
    assert list(Delivery.objects.order_by("event_id").values_list("status", "attempt_count")) == [
        ("succeeded", 2),
        ("succeeded", 1),
        ("succeeded", 1),
    ]
    assert not Event.objects.filter(account__name="Gone").exists()
