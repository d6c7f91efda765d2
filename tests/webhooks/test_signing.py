"""Standard Webhooks signatures (issue 20): what we sign, the library's own verifier accepts; a change does not."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from webhooks.models import new_secret
from webhooks.signing import event_body, sign

PAYLOAD = {"account": {"id": 7, "name": "Acme", "locked_on": "2026-11-15"}, "on": "2026-11-15"}


@pytest.fixture
def signed():
    secret, now = new_secret(), datetime.now(UTC)
    body = event_body(event_type="account.locked", created_at=now, account_id=7, payload=PAYLOAD)
    return secret, body, sign(secret=secret, msg_id="0b8f5e0c-9c1e-4a57-a3f4-1f7f3f0c2b11", body=body, at=now)


def test_the_receivers_verifier_accepts_it_and_reads_the_event(signed):
    secret, body, headers = signed
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-signature"].startswith("v1,")
    event = Webhook(secret).verify(body, headers)
    assert event["type"] == "account.locked"
    assert event["data"] == {"account_id": 7, **PAYLOAD}
    assert event["timestamp"].endswith("Z")


def test_a_changed_body_another_secret_or_id_or_an_old_timestamp_fail(signed):
    secret, body, headers = signed
    changed = json.loads(body)
    changed["data"]["account_id"] = 8
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(json.dumps(changed, separators=(",", ":")).encode(), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, {**headers, "webhook-id": "another"})
    old = datetime.now(UTC) - timedelta(minutes=10)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(body, sign(secret=secret, msg_id=headers["webhook-id"], body=body, at=old))
