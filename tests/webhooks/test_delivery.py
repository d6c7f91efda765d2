"""Webhook delivery (issue 20), in-process: each event reaches the receiver once, signed, in order; failures
are retried on the schedule, an endpoint failing too long is disabled and the vendor emailed; a replay
sends the same `webhook-id` again. The receiver is a real HTTP server on 127.0.0.1."""

import json
import time
from datetime import date

import pytest
from django.core import mail
from django.db import transaction
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from subscriptions.models import Plan
from subscriptions.services import subscription_create
from tests.builders import make_account, make_plan
from tests.webhook_receiver import WebhookReceiver
from webhooks.delivery import deliveries_replay, deliveries_requeue_due, endpoint_replay_failed, events_replay
from webhooks.models import Attempt, Delivery, Event, WebhookEndpoint

NOV_1 = date(2026, 11, 1)
WAIT = 0.3  # seconds between tries in these tests; in-process, a retry due is sent by the sweep
SUBSCRIBING = ["subscription.created", "licence.assigned", "invoice.issued"]

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


@pytest.fixture(autouse=True)
def no_waits(settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [WAIT] * 3


@pytest.fixture
def receiver():
    with WebhookReceiver() as server:
        yield server


@pytest.fixture
def endpoint(receiver):
    return WebhookEndpoint.objects.create(url=receiver.url)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run `change()` as a committed transaction: what it enqueued runs in-process after the commit."""

    def run(change):
        with django_capture_on_commit_callbacks(execute=True):
            return change()

    return run


def subscribe(name="Acme"):
    plan = Plan.objects.filter(code="pro").first() or make_plan()
    return subscription_create(account=make_account(name, on=NOV_1), plan=plan, cycle="monthly", on=NOV_1)


def sweep(committed) -> int:
    time.sleep(WAIT)
    return committed(deliveries_requeue_due)


def verified(request, secret) -> dict:
    return Webhook(secret).verify(request["body"], request["headers"])


def test_each_event_arrives_once_signed_and_in_order(committed, receiver, endpoint):
    sub = committed(subscribe)
    sent = list(Event.objects.filter(account=sub.account).order_by("id"))
    assert [e.type for e in sent] == SUBSCRIBING
    got = [verified(r, endpoint.secret) for r in receiver.accepted]
    assert [g["type"] for g in got] == SUBSCRIBING
    assert [r["headers"]["webhook-id"] for r in receiver.accepted] == [str(e.event_id) for e in sent]
    assert got[0]["data"] == {"account_id": sub.account_id, **sent[0].payload}
    assert set(Delivery.objects.values_list("status", "attempt_count")) == {("succeeded", 1)}
    assert {(a.status_code, a.response) for a in Attempt.objects.all()} == {(200, "ok")}

    assert sweep(committed) == 0  # nothing due: a succeeded delivery is never sent again
    assert len(receiver.requests) == 3


def test_a_changed_body_fails_verification(committed, receiver, endpoint):
    committed(subscribe)
    request = receiver.accepted[0]
    changed = json.loads(request["body"])
    changed["data"]["account_id"] += 1
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(json.dumps(changed).encode(), request["headers"])


def test_failures_are_retried_and_later_events_wait_behind_them(committed, receiver, endpoint):
    receiver.fail_first = 2
    sub = committed(subscribe)
    assert len(receiver.requests) == 1 and receiver.accepted == []  # stopped at the first failure
    head = Delivery.objects.order_by("event_id").first()
    assert (head.status, head.attempt_count) == ("pending", 1)
    assert list(Delivery.objects.filter(attempt_count=0).values_list("status", flat=True)) == ["pending"] * 2

    assert sweep(committed) == 1  # one run for the endpoint and account
    assert len(receiver.requests) == 2 and receiver.accepted == []
    sweep(committed)
    assert [verified(r, endpoint.secret)["type"] for r in receiver.accepted] == SUBSCRIBING  # in order
    ids = {r["headers"]["webhook-id"] for r in receiver.requests[:3]}
    assert ids == {str(Event.objects.filter(account=sub.account).earliest("id").event_id)}  # the same id each time
    log = list(head.attempts.order_by("id").values_list("status_code", "response"))
    assert log == [(500, "boom: the product is down")] * 2 + [(200, "ok")]
    endpoint.refresh_from_db()
    assert endpoint.failures_in_a_row == 0 and endpoint.enabled


def test_a_receiver_that_hangs_past_the_timeout_is_retried(committed, receiver, endpoint, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver.hang_first, receiver.hang_seconds = 1, 2
    committed(subscribe)
    first = Attempt.objects.earliest("id")
    assert first.status_code is None and "timed out" in first.error and 400 <= first.latency_ms < 1500
    sweep(committed)
    assert [json.loads(r["body"])["type"] for r in receiver.accepted] == SUBSCRIBING


def test_spent_retries_fail_the_delivery_and_a_failing_endpoint_is_disabled_with_an_email(
    committed, receiver, endpoint, settings
):
    settings.WEBHOOK_RETRY_SCHEDULE = [WAIT]  # two attempts each
    settings.WEBHOOK_DISABLE_AFTER = 3
    settings.WEBHOOK_ALERT_EMAIL = "ops@vendor.example"
    receiver.fail_first = 100
    committed(subscribe)
    sweep(committed)  # the head's second attempt: failed for good; the next event's first attempt
    statuses = list(Delivery.objects.order_by("event_id").values_list("status", "attempt_count"))
    assert statuses == [("failed", 2), ("pending", 1), ("pending", 0)]
    endpoint.refresh_from_db()
    assert not endpoint.enabled and endpoint.failures_in_a_row == 3
    [message] = [m for m in mail.outbox if "Webhook" in m.subject]  # besides the invoice's own email
    assert message.to == ["ops@vendor.example"] and endpoint.url in message.subject

    assert sweep(committed) == 0  # a disabled endpoint gets nothing more
    committed(lambda: subscribe("Beta"))
    assert len(receiver.requests) == 3 and not Delivery.objects.filter(event__account__name="Beta").exists()

    receiver.fail_first = 0  # fixed: enabled again, the failed delivery replayed, then the rest follow
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=True)
    assert committed(lambda: endpoint_replay_failed(endpoint)) == 1
    assert [json.loads(r["body"])["type"] for r in receiver.requests[3:]] == SUBSCRIBING
    assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}


def test_a_replay_sends_the_same_webhook_id_again(committed, receiver, endpoint):
    committed(subscribe)
    issued = Event.objects.get(type="invoice.issued")
    assert committed(lambda: events_replay(Event.objects.filter(pk=issued.pk))) == 1
    again = receiver.accepted[-1]
    assert len(receiver.accepted) == 4 and again["headers"]["webhook-id"] == str(issued.event_id)
    assert verified(again, endpoint.secret)["type"] == "invoice.issued"
    delivery = Delivery.objects.get(event=issued)
    assert delivery.status == "succeeded" and delivery.attempts.count() == 2
    assert committed(lambda: deliveries_replay(Delivery.objects.filter(pk=delivery.pk))) == 1
    assert len(receiver.accepted) == 5


def test_a_rolled_back_change_sends_nothing(committed, receiver, endpoint):
    def change():
        with pytest.raises(Boom), transaction.atomic():
            subscribe()
            assert Delivery.objects.count() == 3  # written inside…
            raise Boom

    committed(change)
    assert not Delivery.objects.exists() and receiver.requests == []  # …gone with it, and nothing sent


def test_disabled_endpoints_and_unwanted_types_receive_nothing(committed, receiver, endpoint):
    endpoint.enabled = False
    endpoint.save()
    with WebhookReceiver() as other:
        WebhookEndpoint.objects.create(url=other.url, event_types=["invoice.issued"])
        committed(subscribe)
        assert [json.loads(r["body"])["type"] for r in other.accepted] == ["invoice.issued"]
    assert receiver.requests == [] and Delivery.objects.count() == 1


def test_the_safety_sweep_sends_deliveries_whose_task_never_ran(committed, receiver, endpoint, capsys):
    from django.core.management import call_command

    subscribe()  # committed in the test's transaction, but its sends were never run (the broker was down)
    assert Delivery.objects.filter(status="pending").count() == 3 and receiver.requests == []
    committed(lambda: call_command("requeue_pending"))
    assert capsys.readouterr().out.strip().endswith("0 refunds, 1 webhook runs queued.")
    assert [json.loads(r["body"])["type"] for r in receiver.accepted] == SUBSCRIBING
