"""GET /api/v1/subscription shows a downgrade scheduled for the period's end, and the schema describes it (issue 22)."""

import json

from moneyed import Money
from rest_framework.test import APIClient

from subscriptions.models import Downgrade, Plan
from subscriptions.services import subscription_change_plan, subscription_undo_plan_change

from .conftest import DAY


def test_a_scheduled_downgrade_is_in_the_subscription_until_undone(subscription, api, plan):
    plan.downgrade, plan.minimum_invoice = Downgrade.AT_PERIOD_END, Money("1.00", "USD")
    plan.save()
    start = Plan.objects.create(
        code="start", name="Start", currency="USD", monthly_price=Money("4.00", "USD"), annual_price=None
    )
    body = api.get("/api/v1/subscription").json()
    assert body["scheduled_change"] is None
    assert (body["plan"]["downgrade"], body["plan"]["minimum_invoice"]) == (
        "at_period_end",
        {"amount": "1.00", "currency": "USD"},
    )

    subscription_change_plan(subscription=subscription, plan=start, on=DAY)  # 4.00 < 7.00 a seat: it waits
    body = api.get("/api/v1/subscription").json()
    assert body["plan"]["code"] == "team"
    assert body["scheduled_change"]["on"] == "2026-12-15"  # the period Nov 15 – Dec 15 ends
    assert body["scheduled_change"]["plan"]["code"] == "start"
    assert body["scheduled_change"]["plan"]["monthly_price"] == {"amount": "4.00", "currency": "USD"}

    subscription_undo_plan_change(subscription=subscription, on=DAY)
    assert api.get("/api/v1/subscription").json()["scheduled_change"] is None


def test_the_schema_describes_the_scheduled_change(db):
    schema = json.loads(APIClient().get("/api/schema/?format=json").content)
    parts = schema["components"]["schemas"]
    field = parts["Subscription"]["properties"]["scheduled_change"]
    assert "at_period_end" in field["description"]
    assert field["allOf"] == [{"$ref": "#/components/schemas/ScheduledChange"}] and field["nullable"] is True
    assert set(parts["ScheduledChange"]["properties"]) == {"plan", "on"}
    assert {"downgrade", "minimum_invoice"} <= set(parts["Plan"]["properties"])
