"""Plan entitlements (issue 20): what each account state unlocks, the admin inline, the kept-price copy."""

from datetime import date

import pytest
from django.db import IntegrityError
from django.urls import reverse

from accounts.models import User
from subscriptions import services
from subscriptions.models import Plan, PlanEntitlement
from subscriptions.selectors import ENTITLED_STATUSES, PRODUCT_STATUSES, account_entitlements, entitlements_for
from tests.builders import invite, make_account, make_plan, verified_login

NOV_1 = date(2026, 11, 1)


@pytest.fixture
def pro(db):
    plan = make_plan("pro")
    PlanEntitlement.objects.create(plan=plan, key="api_access")
    PlanEntitlement.objects.create(plan=plan, key="max_projects", limit=50)
    return plan


def test_blocked_states_unlock_nothing_the_others_the_plans_features(pro):
    features = [{"key": "api_access", "limit": None}, {"key": "max_projects", "limit": 50}]
    got = {status: entitlements_for(status, pro) for status in PRODUCT_STATUSES}
    assert got == {
        "active": features,
        "trialing": features,
        "past_due": features,
        "locked": [],
        "expired": [],
    }
    assert ENTITLED_STATUSES == {"active", "trialing", "past_due"}
    assert entitlements_for("active", None) == []


def test_an_accounts_entitlements_follow_its_subscription(pro):
    account = make_account(on=NOV_1)
    assert account_entitlements(account, on=NOV_1) == []  # nothing subscribed
    invite(account, 1, on=NOV_1)
    services.subscription_create(account=account, plan=pro, cycle="monthly", on=NOV_1)
    assert [e["key"] for e in account_entitlements(account, on=NOV_1)] == ["api_access", "max_projects"]


def test_a_key_appears_once_per_plan(pro):
    with pytest.raises(IntegrityError):
        PlanEntitlement.objects.create(plan=pro, key="api_access", limit=3)


def test_the_kept_price_copy_keeps_the_entitlements(pro):
    account = make_account(on=NOV_1)
    services.subscription_create(account=account, plan=pro, cycle="monthly", on=NOV_1)
    copy = services.plan_keep_price_for_subscribers(plan=pro, on=NOV_1)
    assert list(copy.entitlements.values_list("key", "limit")) == [("api_access", None), ("max_projects", 50)]


def test_support_edits_entitlements_in_the_plan_form(client, pro):
    verified_login(client, User.objects.create_superuser(email="root@prorata.example", password=None))
    url = reverse("admin:subscriptions_plan_change", args=[pro.pk])
    page = client.get(url).content.decode()
    assert 'name="entitlements-0-key"' in page and "max_projects" in page
    api, projects = pro.entitlements.order_by("key")
    data = {
        "code": "pro",
        "name": pro.name,
        "is_public": "on",
        "currency": "USD",
        "monthly_price_0": "7.00",
        "monthly_price_1": "USD",
        "annual_price_0": "60.00",
        "annual_price_1": "USD",
        "seat_mode": pro.seat_mode,
        "seat_add_billing_monthly": pro.seat_add_billing_monthly,
        "seat_add_billing_annual": pro.seat_add_billing_annual,
        "seat_removal": pro.seat_removal,
        "to_monthly": pro.to_monthly,
        "switch_documents": pro.switch_documents,
        "downgrade": pro.downgrade,
        "trial_days": 0,
        "trial_offer_1": "USD",
        "refund_window_days": 0,
        "grace_days": 14,
        "existing_subscriptions": "move",
        "entitlements-TOTAL_FORMS": "3",
        "entitlements-INITIAL_FORMS": "2",
        "entitlements-MIN_NUM_FORMS": "0",
        "entitlements-MAX_NUM_FORMS": "1000",
        "entitlements-0-id": api.pk,
        "entitlements-0-plan": pro.pk,
        "entitlements-0-key": "api_access",
        "entitlements-0-DELETE": "on",
        "entitlements-1-id": projects.pk,
        "entitlements-1-plan": pro.pk,
        "entitlements-1-key": "max_projects",
        "entitlements-1-limit": "100",
        "entitlements-2-plan": pro.pk,
        "entitlements-2-key": "time_tracking",
        "entitlements-2-limit": "",
    }
    done = client.post(url, data)
    assert done.status_code == 302, done.context["adminform"].form.errors if done.context else done
    assert list(Plan.objects.get(pk=pro.pk).entitlements.values_list("key", "limit")) == [
        ("max_projects", 100),
        ("time_tracking", None),
    ]


def test_finance_edits_entitlements_support_only_sees_them(client, pro):
    from accounts.staff_groups import FINANCE, SUPPORT
    from tests.subscriptions.test_admin import staff

    url = reverse("admin:subscriptions_plan_change", args=[pro.pk])
    verified_login(client, staff("fay@prorata.example", FINANCE))
    assert 'name="entitlements-0-key"' in client.get(url).content.decode()
    client.logout()
    verified_login(client, staff("sam@prorata.example", SUPPORT))
    page = client.get(url).content.decode()
    assert "max_projects" in page and 'name="entitlements-0-key"' not in page
