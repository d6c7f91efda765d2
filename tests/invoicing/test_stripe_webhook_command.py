"""`manage.py stripe_webhook`: the endpoint row from settings, and what to register in Stripe."""

import pytest
from django.core.management import CommandError, call_command
from djstripe.models import WebhookEndpoint

from tests.invoicing.conftest import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET

pytestmark = pytest.mark.django_db


def test_prints_the_url_and_events_and_never_the_secret(settings, capsys):
    settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY = SECRET_KEY, PUBLISHABLE_KEY
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


@pytest.mark.parametrize("missing", ["STRIPE_SECRET_KEY", "DJSTRIPE_WEBHOOK_SECRET"])
def test_refuses_without_keys_or_secret(settings, missing):
    settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY = SECRET_KEY, PUBLISHABLE_KEY
    settings.DJSTRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    setattr(settings, missing, "")
    with pytest.raises(CommandError, match="Stripe webhooks are off"):
        call_command("stripe_webhook")
    assert not WebhookEndpoint.objects.exists()
