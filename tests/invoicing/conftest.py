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
from pathlib import Path

import pytest
import stripe

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


def post_event(client, event: dict, **sign_kwargs):
    payload = json.dumps(event)
    return client.post(
        "/stripe/webhook/",
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": sign(payload, **sign_kwargs)},
    )
