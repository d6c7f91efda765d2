"""localstripe for the Stripe tests: started once per test session, on 127.0.0.1, with its own state file.

Tests that need it take the `stripe_on` fixture; if localstripe is not installed or does
not start, they are skipped with the reason (CI installs requirements-dev.txt, so they run there).
"""

import hashlib
import hmac
import json
import os
import select
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

import pytest
import stripe

from invoicing.models import CardCharge, Invoice, StripeCustomer
from invoicing.stripe_client import stripe_client
from invoicing.stripe_services import card_charge_request, payment_method_save, payment_method_setup_start

SERVER = Path(__file__).resolve().parent.parent / "stripe_server.py"
SECRET_KEY = "sk_test_" + "Pr0rataL0calStripeTestKey01"  # the shape dj-stripe accepts: sk_test_ + 24+ letters/digits
PUBLISHABLE_KEY = "pk_test_" + "Pr0rataL0calStripeTestKey01"
WEBHOOK_SECRET = "whsec_" + "Pr0rataWebhookSecretForTests"
START_TIMEOUT = 15


def _start():
    try:
        import localstripe  # noqa: F401
    except ImportError:
        return None, "localstripe is not installed (pip install -r requirements-dev.txt)"
    state = tempfile.NamedTemporaryFile(prefix="localstripe-", suffix=".pickle", delete=False)
    state.close()
    os.unlink(state.name)  # a fresh, private state file for this run
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "--state", state.name],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    deadline = time.monotonic() + START_TIMEOUT
    ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("port="):
        proc.kill()
        return None, f"localstripe did not start (said {line.strip()!r})"
    base = f"http://127.0.0.1:{int(line.split('=', 1)[1])}"
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(f"{base}/v1/account", headers={"Authorization": f"Bearer {SECRET_KEY}"})
            with urllib.request.urlopen(request, timeout=1) as response:
                if response.status == 200:
                    return (proc, base, state.name), ""
        except OSError:
            time.sleep(0.05)
    proc.kill()
    return None, "localstripe did not answer on /v1/account"


@pytest.fixture(scope="session")
def localstripe():
    """The base URL of a private localstripe server; stopped (and its state removed) after the session."""
    started, reason = _start()
    if started is None:
        pytest.skip(reason)
    proc, base, state = started
    yield base
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
    Path(state).unlink(missing_ok=True)


def _flush(base: str) -> None:
    request = urllib.request.Request(f"{base}/_config/data", method="DELETE")
    with urllib.request.urlopen(request, timeout=5):
        pass


@pytest.fixture
def stripe_on(settings, localstripe, monkeypatch):
    """Stripe configured (keys, host, webhook secret) and pointing at a localstripe emptied for this test.

    Emptied because the test database starts afresh too: ids and idempotency keys made from
    row ids and invoice numbers repeat from one test to the next.
    """
    _flush(localstripe)
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
    settings.STRIPE_API_HOST = localstripe
    # dj-stripe's own calls (GET /v1/account when it mirrors an object) use the stripe module's global
    # host, which it reads from STRIPE_API_HOST only once, at import.
    monkeypatch.setattr(stripe, "api_base", localstripe)
    settings.STRIPE_JS_URL = f"{localstripe}/js.stripe.com/v3/"
    settings.DJSTRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    return localstripe


@pytest.fixture
def webhook_secret(settings):
    settings.DJSTRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    return WEBHOOK_SECRET


def sign(payload: str, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """A Stripe-Signature header: t=…,v1=HMAC-SHA256(secret, "t.payload")."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def event_of(type_: str, obj: dict, *, event_id: str, created: int | None = None) -> dict:
    """An event as Stripe posts it, for events localstripe does not send itself (e.g. charge.refunded)."""
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2020-08-27",
        "created": int(time.time()) if created is None else created,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type_,
        "data": {"object": obj},
    }


def post_event(client, event: dict, **sign_kwargs):
    from invoicing.webhooks import webhook_path

    payload = json.dumps(event)
    return client.post(
        webhook_path(),
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": sign(payload, **sign_kwargs)},
    )


# ---------------------------------------------------------------- Stripe objects made on localstripe

NOV_1 = date(2026, 11, 1)


def setup_card(account, test_card: str = "pm_card_visa") -> StripeCustomer:
    """What the browser does with Stripe Elements, then what Prorata does with the result."""
    secret = payment_method_setup_start(account=account)
    intent_id = secret.split("_secret_")[0]
    stripe_client().v1.setup_intents.confirm(intent_id, params={"payment_method": test_card})
    return payment_method_save(account=account, setup_intent_id=intent_id)


def intents_of(customer: StripeCustomer) -> list:
    return [pi for pi in stripe_client().v1.payment_intents.list().data if pi.customer == customer.stripe_id]


def stripe_events(type_: str, object_id: str) -> list[dict]:
    """Events localstripe recorded, as the JSON it would post to a webhook."""
    events = stripe_client().v1.events.list(params={"type": type_}).data
    return [json.loads(json.dumps(e.to_dict())) for e in events if e.data.object.id == object_id]


def send_and_lose_the_answer(invoice: Invoice, customer: StripeCustomer):
    """Prorata records attempt 1 and sends it, then crashes before it reads Stripe's answer."""
    charge = CardCharge.objects.create(
        invoice=invoice,
        attempt=1,
        idempotency_key=f"prorata-{invoice.number}-1",
        amount=invoice.amount_due,
        attempted_on=NOV_1,
    )
    return card_charge_request(charge=charge, customer=customer)
