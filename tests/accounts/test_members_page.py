"""Settings › Members: the shared settings tabs and the seat summary line (SPEC §3)."""

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services
from common.clock import today
from invoicing.formatting import day
from subscriptions.models import SeatMode
from subscriptions.services import subscription_create
from tests.builders import make_plan

TABS = ["Subscription", "Members", "Invoices", "Payment method", "Billing details", "API keys", "Licences"]
BILLING_TABS = ["Subscription", "Invoices", "Payment method", "Billing details", "Licences"]


def tabs(response) -> list[str]:
    nav = re.search(r'<nav class="settings-nav".*?</nav>', response.content.decode(), re.S)
    assert nav, "the page shows the settings tabs"
    return re.findall(r">([^<>]+)</a>", nav.group(0))


def current_tab(response) -> str:
    return re.search(r'aria-current="page">([^<]+)</a>', response.content.decode()).group(1)


def summary(response) -> str:
    return re.search(r'data-seats="summary">([^<]+)</p>', response.content.decode()).group(1)


@pytest.fixture
def fixed_eight(team):
    """8 bought seats; the team takes 4 (role `none` takes none), and 3 people are invited: 7 in use."""
    account = team["account"]
    sub = subscription_create(
        account=account, plan=make_plan(seat_mode=SeatMode.FIXED), cycle="monthly", seats=8, on=today(account)
    )
    services.membership_invite_many(account=account, emails=["a@x.example", "b@x.example", "c@x.example"])
    return sub


def test_seat_summary_line_matches_the_subscription_page(as_role, fixed_eight):
    owner = as_role("owner")
    last_paid_day = day(fixed_eight.period_end - timedelta(days=1), "en_US")  # the period is [start, end)
    line = summary(owner.get("/settings/members/"))
    assert line == f"7 seats in use (incl. 3 pending invitations) · 8 paid · 1 free until {last_paid_day}"
    detail = owner.get("/settings/subscription/").content.decode()
    assert 'data-seats="in-use">7<' in detail and 'data-seats="paid">8<' in detail and 'data-seats="free">1<' in detail


def test_seat_summary_without_a_subscription_counts_seats_only(as_role):
    assert summary(as_role("owner").get("/settings/members/")) == "4 seats in use"


@pytest.mark.parametrize(
    ("role", "url", "expected", "current"),
    [
        ("owner", "/settings/members/", TABS, "Members"),
        ("admin", "/settings/api-keys/", TABS, "API keys"),
        ("owner", "/settings/licences/", TABS, "Licences"),
        ("owner", "/settings/payment-method/", TABS, "Payment method"),
        ("billing_admin", "/settings/billing-details/", BILLING_TABS, "Billing details"),
        (
            "billing_admin",
            "/settings/subscription/",
            ["Subscription", "Invoices", "Payment method", "Billing details", "Licences"],
            "Subscription",
        ),
        (
            "billing_admin",
            "/settings/invoices/",
            ["Subscription", "Invoices", "Payment method", "Billing details", "Licences"],
            "Invoices",
        ),
    ],
)
def test_every_settings_page_shows_the_tabs_its_role_may_open(as_role, fixed_eight, role, url, expected, current):
    response = as_role(role).get(url)
    assert response.status_code == 200
    assert tabs(response) == expected
    assert current_tab(response) == current


def test_members_page_query_count_with_a_subscription_does_not_grow_with_members(as_role, team, fixed_eight):
    owner = as_role("owner")

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert owner.get("/settings/members/").status_code == 200
        return len(queries)

    few = count()
    services.membership_invite_many(account=team["account"], emails=["d@x.example"])  # the 8th and last bought seat
    assert count() == few
