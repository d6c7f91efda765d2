"""The Revenue admin page: who sees it, the CSV is the table, a constant number of queries (issue 21)."""

import csv
import io
from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import Account, User
from accounts.staff_groups import FINANCE, SUPPORT, staff_groups_sync
from invoicing.models import Invoice
from tests.builders import invite
from tests.revenue.conftest import at

pytestmark = pytest.mark.django_db

URL = "/admin/revenue/revenuemonth/"
RANGE = {"from": "2026-09", "to": "2026-12", "currency": "USD"}
TABLES = ["mrr", "movements", "retention", "receivables", "overdue", "locked", "deferred"]


def staff(email, group=None, *, superuser=False):
    if superuser:
        return User.objects.create_superuser(email=email, password=None)
    user = User.objects.create_user(email=email, password=None, is_staff=True)
    if group:
        staff_groups_sync()
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def login(client):
    def as_(kind):
        if kind == "superuser":
            client.force_login(staff("root@prorata.example", superuser=True))
        elif kind == "member":
            client.force_login(User.objects.create_user(email="ann@example.com", password=None))
        else:
            client.force_login(staff(f"{kind.lower()}@prorata.example", kind))
        return client

    return as_


class Tables(HTMLParser):
    """The text of every <table data-table=…> cell, by table."""

    def __init__(self):
        super().__init__()
        self.tables, self.current, self.row, self.cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "data-table" in attrs:
            self.current = self.tables.setdefault(attrs["data-table"], [])
        elif self.current is not None and tag == "tr":
            self.row = []
        elif self.row is not None and tag in ("td", "th"):
            self.cell = ""

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.row.append(self.cell.strip())
            self.cell = None
        elif tag == "tr" and self.row is not None:
            self.current.append(self.row)
            self.row = None
        elif tag == "table":
            self.current = None


@pytest.mark.parametrize(("kind", "status"), [("superuser", 200), (FINANCE, 200), (SUPPORT, 403)])
def test_finance_and_superusers_see_the_page_support_does_not(login, kind, status):
    assert login(kind).get(URL).status_code == status


def test_customers_are_sent_to_the_login(login):
    response = login("member").get(URL)
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.parametrize(("kind", "listed"), [(FINANCE, True), (SUPPORT, False)])
def test_the_admin_index_links_it_for_finance_only(login, kind, listed):
    assert (URL in login(kind).get("/admin/").content.decode()) is listed


def test_the_page_shows_the_scenario_month(december, login):
    with at(date(2026, 12, 31)):
        response = login(FINANCE).get(URL, RANGE)
    tables = Tables()
    tables.feed(response.content.decode())
    movements = tables.tables["movements"]
    assert movements[0][:2] == ["Month", "Opening"]
    december_row = movements[-1]
    # Month, Opening, New, Seat exp., Upgrade, Seat contr., Downgrade, Churn, Reactivation, Closing, check
    assert december_row == [
        "2026-12", "170.00", "166.67", "30.00", "40.00", "0.00", "-30.00", "-20.00", "60.00", "416.67", "✓"
    ]  # fmt: skip
    # ARR = 12 × 416.67 = 5,000.04
    assert tables.tables["mrr"][-1][:3] == ["2026-12", "416.67", "5000.04"]
    assert b"<svg" in response.content


@pytest.mark.parametrize("key", TABLES)
def test_each_csv_is_its_table(december, login, key):
    with at(date(2026, 12, 31)):
        client = login(FINANCE)
        page = client.get(URL, RANGE)
        export = client.get(URL, {**RANGE, "csv": key})
    assert export["Content-Type"].startswith("text/csv"), (export.status_code, export.content[:300])
    tables = Tables()
    tables.feed(page.content.decode())
    shown = tables.tables[key]
    if len(shown) == 2 and shown[1] == ["None"]:
        shown = shown[:1]  # an empty table says so on the page; its CSV has the headers only
    assert list(csv.reader(io.StringIO(export.content.decode()))) == shown


def test_receivables_link_the_overdue_invoices_and_locked_accounts(december, login):
    expands = Account.objects.get(name="Expands")
    with at(date(2026, 12, 15)):
        invite(expands, 1, on=date(2026, 12, 15))  # one more seat, invoiced now and left unpaid
    inv = Invoice.objects.get(account=expands, status=Invoice.Status.OPEN)
    upgrades = Account.objects.get(name="Upgrades")
    Account.objects.filter(pk=upgrades.pk).update(locked_on=date(2026, 12, 20))
    day = inv.due_on + timedelta(days=20)  # 20 days late: the 15–30 bucket
    with at(day):
        body = login(FINANCE).get(URL, RANGE).content.decode()
    tables = Tables()
    tables.feed(body)
    ages = {row[0]: row[1:] for row in tables.tables["receivables"][1:]}
    left = f"{inv.amount_due.amount - inv.amount_paid.amount - inv.amount_credited.amount:.2f}"
    assert ages["15–30 days overdue"] == ["1", left]
    assert ages["Total"] == ["1", left]
    assert tables.tables["overdue"][1] == [inv.number, "Expands", inv.due_on.isoformat(), "20", left]
    assert reverse("admin:invoicing_invoice_change", args=[inv.pk]) in body
    assert tables.tables["locked"][1] == ["Upgrades", "2026-12-20"]
    assert reverse("admin:accounts_account_change", args=[upgrades.pk]) in body


def test_the_number_of_queries_does_not_grow_with_the_data(december, login, django_assert_max_num_queries):
    with at(date(2026, 12, 31)):
        client = login(FINANCE)
        with django_assert_max_num_queries(11):
            assert client.get(URL, {"from": "2025-01", "to": "2026-12", "currency": "USD"}).status_code == 200


def test_more_customers_and_months_take_the_same_queries(december, login):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from revenue.services import revenue_snapshot
    from subscriptions.models import Plan
    from tests.builders import world

    params = {"from": "2025-01", "to": "2026-12", "currency": "USD"}
    with at(date(2026, 12, 31)):
        client = login(FINANCE)
        client.get(URL, params)
        with CaptureQueriesContext(connection) as small:
            client.get(URL, params)
        plan = Plan.objects.get(code="a")
        for i in range(5):
            world(on=date(2026, 12, 20), plan_obj=plan, people=i + 1, name=f"More {i}")
        revenue_snapshot(date(2026, 12, 31))
        with CaptureQueriesContext(connection) as large:
            client.get(URL, params)
    assert len(large) == len(small)


def test_the_account_page_has_a_revenue_strip_for_finance_only(december, login):
    account = Account.objects.get(name="Expands")
    url = reverse("admin:accounts_account_change", args=[account.pk])
    with at(date(2026, 12, 31)):
        finance = login(FINANCE).get(url).content.decode()
    # 8 seats × $10 = $80.00 MRR
    assert "revenue-strip" in finance
    assert "$80.00" in finance
    assert "<svg" in finance
    with at(date(2026, 12, 31)):
        support = login(SUPPORT).get(url).content.decode()
    assert "revenue-strip" not in support
