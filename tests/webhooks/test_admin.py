"""Webhook endpoints in the admin (issue 20): several allowed, the secret shown once, types to send."""

import pytest
from django.urls import reverse

from accounts.models import User
from tests.builders import verified_login
from webhooks.models import WebhookEndpoint


@pytest.fixture
def admin_client(client, db):
    verified_login(client, User.objects.create_superuser(email="root@prorata.example", password=None))
    return client


def test_an_endpoint_is_added_with_its_types_and_its_secret_is_shown_once(admin_client):
    add = reverse("admin:webhooks_webhookendpoint_add")
    data = {"url": "https://product.example/hooks", "event_types": ["account.locked", "seats.changed"], "enabled": "on"}
    done = admin_client.post(add, data, follow=True)
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["account.locked", "seats.changed"]
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) == 6 + 32
    assert endpoint.secret in done.content.decode()  # once, right after it is made
    change = admin_client.get(reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])).content.decode()
    assert endpoint.secret not in change and endpoint.secret[:10] in change
    assert endpoint.wants("seats.changed") and not endpoint.wants("invoice.paid")
    admin_client.post(add, {"url": "https://other.example/hooks", "enabled": "on"})
    assert WebhookEndpoint.objects.get(url="https://other.example/hooks").wants("invoice.paid")  # no types: all


def test_plain_http_is_refused_except_on_loopback(admin_client):
    add = reverse("admin:webhooks_webhookendpoint_add")
    refused = admin_client.post(add, {"url": "http://product.example/hooks", "enabled": "on"})
    assert "Use an https:// address" in refused.content.decode()
    assert admin_client.post(add, {"url": "http://127.0.0.1:8001/hooks", "enabled": "on"}).status_code == 302


def test_the_outbox_is_read_only(admin_client):
    assert admin_client.get(reverse("admin:webhooks_event_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:webhooks_event_add")).status_code == 403


@pytest.fixture
def delivered(admin_client, django_capture_on_commit_callbacks, settings):
    """An endpoint that answered 500 once then 200: a subscription's events delivered, the first after a retry."""
    from datetime import date

    from subscriptions.services import subscription_create
    from tests.builders import make_account, make_plan
    from tests.webhook_receiver import WebhookReceiver
    from webhooks.delivery import deliveries_requeue_due

    settings.WEBHOOK_RETRY_SCHEDULE = [0]
    with WebhookReceiver(fail_first=1) as receiver:
        endpoint = WebhookEndpoint.objects.create(url=receiver.url, description="Product")
        with django_capture_on_commit_callbacks(execute=True):
            subscription_create(account=make_account(), plan=make_plan(), cycle="monthly", on=date(2026, 11, 1))
        with django_capture_on_commit_callbacks(execute=True):
            deliveries_requeue_due()
        yield endpoint, receiver


def test_an_endpoints_deliveries_show_status_latency_and_the_answer(admin_client, delivered):
    endpoint, _receiver = delivered
    listing = admin_client.get(reverse("admin:webhooks_webhookendpoint_changelist")).content.decode()
    assert "3 succeeded" in listing and "0 failed" in listing
    deliveries = admin_client.get(
        reverse("admin:webhooks_delivery_changelist"), {"endpoint__id__exact": endpoint.pk}
    ).content.decode()
    assert deliveries.count("subscription.created") >= 1 and "invoice.issued" in deliveries
    first = endpoint.deliveries.order_by("event_id").first()
    page = admin_client.get(reverse("admin:webhooks_delivery_change", args=[first.pk])).content.decode()
    assert "boom: the product is down" in page and "500" in page and "200" in page  # both attempts, logged


def test_replay_actions_send_again_with_the_same_webhook_id(
    admin_client, delivered, django_capture_on_commit_callbacks
):
    from webhooks.models import Delivery, Event

    endpoint, receiver = delivered
    issued = Event.objects.get(type="invoice.issued")
    before = len(receiver.accepted)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:webhooks_event_changelist"), {"action": "replay", "_selected_action": [issued.pk]}
        )
    assert len(receiver.accepted) == before + 1
    assert receiver.accepted[-1]["headers"]["webhook-id"] == str(issued.event_id)

    delivery = Delivery.objects.get(event=issued)
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            reverse("admin:webhooks_delivery_changelist"), {"action": "replay", "_selected_action": [delivery.pk]}
        )
    assert receiver.accepted[-1]["headers"]["webhook-id"] == str(issued.event_id)
    assert delivery.attempts.count() == 3

    Delivery.objects.filter(pk=delivery.pk).update(status="failed")
    with django_capture_on_commit_callbacks(execute=True):
        done = admin_client.post(
            reverse("admin:webhooks_webhookendpoint_changelist"),
            {"action": "replay_failed", "_selected_action": [endpoint.pk]},
            follow=True,
        )
    assert "1 deliveries queued" in done.content.decode()
    assert len(receiver.accepted) == before + 3
