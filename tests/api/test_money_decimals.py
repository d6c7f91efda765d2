"""Money in the API has its currency's decimals: ¥1,000 is {"amount": "1000", "currency": "JPY"} (issue 16, SPEC §4)."""

from moneyed import Money

from accounts.services import membership_invite
from subscriptions.models import Plan
from subscriptions.services import subscription_create, subscription_switch_cycle

from .conftest import DAY


def test_yen_amounts_have_no_decimals_and_dollars_two(account, api):
    plan = Plan.objects.create(
        code="yen",
        name="Yen",
        currency="JPY",
        monthly_price=Money("1000", "JPY"),
        annual_price=Money("10000", "JPY"),
    )
    membership_invite(account=account, email="ana@example.com", on=DAY)
    sub = subscription_create(account=account, plan=plan, cycle="monthly", on=DAY)
    # Nov 15: 2 seats × ¥1000 = ¥2000 for [Nov 15, Dec 15). Nov 21: 23 of 30 days unused (from Nov 22) →
    # credit 2000 × 23/30 = 1533.33 → ¥1533; annual 2 × ¥10000 = ¥20000; total ¥18467.
    subscription_switch_cycle(subscription=sub, cycle="annual", on=DAY.replace(day=21))

    listed = api.get("/api/v1/invoices").json()["results"]
    switch = api.get(f"/api/v1/invoices/{listed[0]['number']}").json()

    assert switch["total"] == {"amount": "18467", "currency": "JPY"}
    assert [line["amount"]["amount"] for line in switch["lines"]] == ["-1533", "20000"]
    assert switch["lines"][1]["unit_price"] == {"amount": "10000", "currency": "JPY"}
    keys = ("subtotal", "discount", "tax", "credit_applied", "amount_due", "amount_paid")
    assert [switch[k]["amount"] for k in keys] == ["18467", "0", "0", "0", "18467", "0"]
    assert listed[1]["total"] == {"amount": "2000", "currency": "JPY"}
    body = api.get("/api/v1/subscription").json()
    assert body["plan"]["monthly_price"] == {"amount": "1000", "currency": "JPY"}


def test_dollar_amounts_keep_two_decimals(subscription, api):
    [invoice] = api.get("/api/v1/invoices").json()["results"]
    # 2 seats × 7.00 = 14.00; nothing discounted, taxed or applied: 0.00, never -0.00
    assert invoice["total"] == {"amount": "14.00", "currency": "USD"}
    assert invoice["discount"] == {"amount": "0.00", "currency": "USD"}
    assert invoice["credit_applied"] == {"amount": "0.00", "currency": "USD"}
