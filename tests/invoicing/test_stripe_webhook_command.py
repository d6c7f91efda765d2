"""`manage.py stripe_webhook`: the endpoint row from settings, and what to register in Stripe."""

import pytest
from django.core.management import CommandError, call_command
from djstripe.models import WebhookEndpoint

from tests.invoicing.conftest import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db


def test_prints_the_url_and_events_and_never_the_secret(settings, capsys):
    settings.DJSTRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    settings.STRIPE_WEBHOOK_UUID = "6f1c2b5e-8d1a-4c7e-9b8f-2a3d4e5f6a7b"
    settings.SITE_URL = "https://billing.example.com/"
    call_command("stripe_webhook")
    call_command("stripe_webhook")  # again: the same one row
    out = capsys.readouterr().out
    assert "Webhook URL: https://billing.example.com/stripe/webhook/6f1c2b5e-8d1a-4c7e-9b8f-2a3d4e5f6a7b/" in out
    assert "payment_intent.succeeded, payment_intent.payment_failed, charge.refunded" in out
    assert WEBHOOK_SECRET not in out
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.secret, str(endpoint.djstripe_uuid)) == (WEBHOOK_SECRET, settings.STRIPE_WEBHOOK_UUID)


def test_refuses_without_a_secret(settings):
    settings.DJSTRIPE_WEBHOOK_SECRET = ""
    with pytest.raises(CommandError, match="DJSTRIPE_WEBHOOK_SECRET is not set"):
        call_command("stripe_webhook")
    assert not WebhookEndpoint.objects.exists()
