"""GET /api/v1/account (issue 20): status, plan, seats, period and entitlements, in every state."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from invoicing.models import Invoice
from invoicing.services import invoice_pay
from subscriptions.models import PlanEntitlement
from subscriptions.services import dunning_run, subscription_cancel, subscription_cancel_now, subscription_create

DAY = date(2026, 11, 15)
URL = "/api/v1/account"
FEATURES = [{"key": "max_projects", "limit": 50}, {"key": "time_tracking", "limit": None}]


@pytest.fixture
def featured(plan):
    PlanEntitlement.objects.create(plan=plan, key="time_tracking")
    PlanEntitlement.objects.create(plan=plan, key="max_projects", limit=50)
    return plan


def at(day: date):
    return time_machine.travel(datetime(day.year, day.month, day.day, 12, tzinfo=UTC), tick=False)


def read(client_for, role="admin") -> dict:
    response = client_for(role).get(URL)
    assert response.status_code == 200, response.content
    return response.json()


def test_an_active_account_gets_its_plan_seats_period_and_entitlements(featured, subscription, client_for):
    body = read(client_for)
    assert body == {
        "id": subscription.account_id,
        "name": "Acme",
        "status": "active",
        "plan": {"code": "team", "name": "Team", "prices_include_tax": False},
        "cycle": "monthly",
        "seats": {"in_use": 2, "paid": 2},
        "current_period": {"start": "2026-11-15", "end": "2026-12-15"},
        "trial_end": None,
        "cancel_at_period_end": False,
        "locked_on": None,
        "entitlements": FEATURES,
    }
    # Any role may read it: the product's key need not be a billing one.
    assert read(client_for, "member")["status"] == "active"


def test_a_trial_has_the_plans_entitlements(featured, account, client_for):
    featured.trial_days = 14
    featured.save()
    subscription_create(account=account, plan=featured, cycle="monthly", on=DAY, trial=True)
    body = read(client_for)
    assert (body["status"], body["trial_end"], body["entitlements"]) == ("trialing", "2026-11-29", FEATURES)


def test_an_invoice_past_its_due_date_makes_it_past_due_then_locked_then_paid_active(
    featured, subscription, client_for
):
    invoice = Invoice.objects.get(account=subscription.account, status="open")
    assert invoice.due_on == DAY
    with at(DAY + timedelta(days=1)):
        body = read(client_for)
        assert (body["status"], body["entitlements"]) == ("past_due", FEATURES)
    lock_day = DAY + timedelta(days=featured.grace_days)
    with at(lock_day):
        dunning_run(on=lock_day)
        body = read(client_for)  # a locked account is answered, not refused with 402
        assert (body["status"], body["locked_on"], body["entitlements"]) == ("locked", lock_day.isoformat(), [])
        assert client_for().get("/api/v1/subscription").status_code == 402
        invoice_pay(invoice=invoice, on=lock_day)
        body = read(client_for)
        assert (body["status"], body["locked_on"], body["entitlements"]) == ("active", None, FEATURES)


def test_a_canceled_subscription_is_active_until_it_ends_then_expired_with_nothing(featured, subscription, client_for):
    subscription_cancel(subscription=subscription, on=DAY)
    body = read(client_for)
    assert (body["status"], body["cancel_at_period_end"], body["entitlements"]) == ("active", True, FEATURES)
    subscription_cancel_now(subscription=subscription, on=DAY)
    body = read(client_for)
    assert body["status"] == "expired"
    assert (body["plan"], body["cycle"], body["current_period"], body["entitlements"]) == (None, None, None, [])
    assert body["seats"] == {"in_use": 2, "paid": None}
    assert client_for().get("/api/v1/subscription").status_code == 403


def test_no_key_is_a_401(subscription, client):
    assert client.get(URL).status_code == 401
