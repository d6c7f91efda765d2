"""/app/ stands for the product: product_gate keeps out role `none`, locked and expired accounts."""

from datetime import date

import pytest
from moneyed import Money

from invoicing.models import Invoice
from invoicing.services import invoice_pay
from subscriptions import services as billing
from subscriptions.models import Plan

START = date(2026, 1, 1)


@pytest.fixture
def subscribed(team):
    plan = Plan.objects.create(code="pro", name="Pro", monthly_price=Money("7.00", "USD"), grace_days=14)
    return billing.subscription_create(account=team["account"], plan=plan, cycle="monthly", on=START)


@pytest.fixture
def locked(subscribed, team):
    billing.billing_run(on=date(2026, 1, 20), accounts=[team["account"]])  # unpaid past 14 days of grace
    team["account"].refresh_from_db()
    assert team["account"].locked_on is not None
    return team["account"]


@pytest.mark.parametrize("role", ["owner", "admin", "billing_admin"])
def test_locked_account_tells_payers_where_to_pay(as_role, locked, role):
    response = as_role(role).get("/app/")
    assert response.status_code == 402
    text = response.content.decode()
    assert "unpaid" in text and 'href="/settings/invoices/"' in text


def test_locked_account_tells_members_who_can_pay(as_role, locked):
    response = as_role("member").get("/app/")
    assert response.status_code == 402
    text = response.content.decode()
    assert "/settings/invoices/" not in text
    assert "olga@acme.example" in text and "billing_admin@acme.example" in text


def test_paying_unlocks_the_product(as_role, locked):
    invoice_pay(invoice=Invoice.objects.get(account=locked), on=date(2026, 1, 21))
    assert as_role("member").get("/app/").status_code == 200


@pytest.fixture
def expired(subscribed, team):
    billing.subscription_cancel(subscription=subscribed, on=date(2026, 1, 5))
    invoice_pay(invoice=Invoice.objects.get(account=team["account"]), on=date(2026, 1, 5))
    billing.billing_run(on=date(2026, 2, 2), accounts=[team["account"]])
    return team["account"]


def test_expired_account_offers_owner_to_subscribe_again(as_role, expired):
    response = as_role("owner").get("/app/")
    assert response.status_code == 403
    assert 'href="/settings/subscription/"' in response.content.decode()


def test_expired_account_blocks_members_without_the_link(as_role, expired):
    response = as_role("member").get("/app/")
    assert response.status_code == 403
    text = response.content.decode()
    assert "subscription has ended" in text and "/settings/subscription/" not in text


def test_invited_but_not_accepted_cannot_use_the_product(client, team):
    from accounts import services

    user = services.user_create(email="pending@x.example", password="x")
    services.membership_invite(account=team["account"], email=user.email)
    client.force_login(user)
    response = client.get("/app/")
    assert response.status_code == 403
    assert "accept the invitation" in response.content.decode()
