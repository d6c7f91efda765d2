from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.cache import cache
from moneyed import Money
from rest_framework.test import APIClient

from accounts.services import membership_invite, signup
from api.keys import api_key_create
from licensing import keys
from subscriptions.models import Plan, SeatMode
from subscriptions.services import subscription_create

DAY = date(2026, 11, 15)
ROLES = ("admin", "billing_admin", "member")


@pytest.fixture(autouse=True)
def fresh(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)  # stored PDFs
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast sign-ups
    settings.LICENCE_SIGNING_KEY = keys.generate()
    cache.clear()  # throttle counters
    with time_machine.travel(datetime(2026, 11, 15, 12, tzinfo=UTC), tick=False):
        yield
    cache.clear()


@pytest.fixture
def fixed_plan(db):
    return Plan.objects.create(
        code="fixed",
        name="Fixed",
        currency="USD",
        monthly_price=Money("7.00", "USD"),
        annual_price=Money("70.00", "USD"),
        seat_mode=SeatMode.FIXED,
        seat_removal="credit_prorated",
        to_monthly="prorated",
    )


@pytest.fixture
def owner_and_account(db):
    return signup(email="owner@example.com", password="a long password 1", account_name="Acme")


@pytest.fixture
def account(owner_and_account):
    return owner_and_account[1]


@pytest.fixture
def owner(owner_and_account, account):
    return account.memberships.get(role="owner")


@pytest.fixture
def subscription(account, plan):
    membership_invite(account=account, email="ana@example.com", on=DAY)
    return subscription_create(account=account, plan=plan, cycle="monthly", on=DAY)


@pytest.fixture
def key_for(account, owner):
    def make(role="admin"):
        return api_key_create(account=account, name=f"{role} key", role=role, by=owner)[1]

    return make


@pytest.fixture
def client_for(key_for):
    def make(role="admin"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {key_for(role)}")
        return client

    return make


@pytest.fixture
def api(client_for):
    return client_for("admin")


def error_of(response) -> dict:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "field"}, body
    assert body["error"]["message"]
    return body["error"]
