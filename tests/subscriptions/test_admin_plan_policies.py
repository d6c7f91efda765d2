"""The support admin for the plan settings `downgrade` and `minimum_invoice` (SPEC §2.4, §3; issue 22)."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from accounts.models import User
from invoicing.models import Invoice
from subscriptions import services
from subscriptions.models import Downgrade, Plan, Subscription
from tests.builders import ENTITLEMENTS_NONE, invite, make_account, make_plan, usd, verified_login

NOV_1 = dt.date(2026, 11, 1)


@pytest.fixture
def admin_client(client, db):
    with time_machine.travel(dt.datetime(2026, 11, 15, 12, tzinfo=dt.UTC), tick=False):
        verified_login(client, User.objects.create_superuser(email="root@prorata.example", password=None))
        yield client


def action_url(obj, name: str) -> str:
    return reverse("admin:subscriptions_subscription_action", args=[obj.pk, name])


def change_url(obj) -> str:
    return reverse("admin:subscriptions_subscription_change", args=[obj.pk])


def preview_then_confirm(client, url: str, data: dict):
    shown = client.post(url, {**data, "preview": "1"})
    pv = shown.context["preview"]
    assert pv is not None, shown.context["form"].errors
    done = client.post(url, {**data, "confirm": "1", "fingerprint": pv.fingerprint()})
    assert done.status_code == 302, done.content[:1000]
    return shown, pv


def test_the_plan_form_explains_each_choice(admin_client):
    html = admin_client.get(reverse("admin:subscriptions_plan_add")).content.decode()
    assert "At period end: the cheaper plan starts at the next renewal, with no credit; upgrades stay immediate" in html
    assert "Now: the unused days are credited and the cheaper plan is charged from tomorrow" in html
    assert "are not invoiced on their own: they wait for the next invoice" in html


def test_the_plan_form_saves_both_settings_in_the_plans_currency(admin_client):
    data = {
        "code": "start",
        "name": "Start",
        "is_public": "on",
        "currency": "USD",
        "monthly_price_0": "4.00",
        "monthly_price_1": "USD",
        "seat_mode": "auto",
        "seat_add_billing_monthly": "invoice_now",
        "seat_add_billing_annual": "invoice_now",
        "seat_removal": "keep_until_renewal",
        "minimum_invoice_0": "1.00",
        "minimum_invoice_1": "EUR",
        "to_monthly": "support_only",
        "downgrade": "at_period_end",
        "trial_days": 0,
        "refund_window_days": 0,
        "grace_days": 14,
        **ENTITLEMENTS_NONE,
    }
    refused = admin_client.post(reverse("admin:subscriptions_plan_add"), data)
    assert refused.context["adminform"].form.errors["minimum_invoice"] == [
        "Give this price in the plan's currency, USD."
    ]
    done = admin_client.post(reverse("admin:subscriptions_plan_add"), {**data, "minimum_invoice_1": "USD"})
    assert done.status_code == 302
    plan = Plan.objects.get(code="start")
    assert (plan.downgrade, plan.minimum_invoice) == (Downgrade.AT_PERIOD_END, usd("1.00"))
    assert plan.prices_include_tax is False  # the default: tax is added on top of the price


def test_the_plan_form_sets_tax_inclusive_prices(admin_client):
    page = admin_client.get(reverse("admin:subscriptions_plan_add")).content.decode()
    assert 'name="prices_include_tax"' in page and "119.00 at 19 % is 100.00 + 19.00" in page
    data = {
        "code": "incl",
        "name": "Inclusive",
        "currency": "EUR",
        "monthly_price_0": "119.00",
        "monthly_price_1": "EUR",
        "prices_include_tax": "on",
        "seat_mode": "auto",
        "seat_add_billing_monthly": "invoice_now",
        "seat_add_billing_annual": "invoice_now",
        "seat_removal": "keep_until_renewal",
        "to_monthly": "support_only",
        "downgrade": "at_period_end",
        "trial_days": 0,
        "refund_window_days": 0,
        "grace_days": 14,
        "entitlements-TOTAL_FORMS": "0",  # the plan's entitlements table, left empty
        "entitlements-INITIAL_FORMS": "0",
        "entitlements-MIN_NUM_FORMS": "0",
        "entitlements-MAX_NUM_FORMS": "1000",
    }
    done = admin_client.post(reverse("admin:subscriptions_plan_add"), data)
    assert done.status_code == 302, done.context["adminform"].form.errors
    assert Plan.objects.get(code="incl").prices_include_tax is True


def test_a_downgrade_by_support_is_scheduled_shown_and_undone(admin_client):
    team = make_plan("team", monthly="7.00", annual="70.00", downgrade=Downgrade.AT_PERIOD_END)
    start = make_plan("start", monthly="4.00", annual="40.00")
    account = make_account("Acme", on=NOV_1)
    invite(account, 1, on=NOV_1)
    sub = services.subscription_create(account=account, plan=team, cycle="monthly", on=NOV_1)

    shown, pv = preview_then_confirm(
        admin_client, action_url(sub, "change_plan"), {"plan": start.pk, "reason": "asked"}
    )
    assert pv.is_free  # no credit, no charge today
    # the renewal on Dec 1 it brings: 2 seats × 4.00 = 8.00 on Start
    [renewal] = shown.context["later"].invoices
    assert (renewal.issued_on, renewal.total) == (dt.date(2026, 12, 1), usd("8.00"))
    sub = Subscription.objects.get(pk=sub.pk)
    assert (sub.plan, sub.pending_plan) == (team, start)
    html = admin_client.get(change_url(sub)).content.decode()
    assert "a downgrade waiting for the period end" in html and "2026-12-01" in html
    assert action_url(sub, "undo_plan_change") in html
    assert "Start (monthly) · 2 seats" in html  # the next invoice, previewed

    preview_then_confirm(admin_client, action_url(sub, "undo_plan_change"), {"reason": "changed their mind"})
    sub.refresh_from_db()
    assert sub.pending_plan is None
    assert action_url(sub, "undo_plan_change") not in admin_client.get(change_url(sub)).content.decode()
    assert Invoice.objects.filter(account=account).count() == 1  # only the purchase
