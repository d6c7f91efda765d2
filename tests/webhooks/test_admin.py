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
