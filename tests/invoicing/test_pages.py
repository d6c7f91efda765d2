"""Settings › Invoices: the list, the year filter, what is due and how to pay it."""

from datetime import date

import pytest
import time_machine
from django.conf import settings as django_settings

from accounts import services as accounts_services
from invoicing.models import Invoice
from subscriptions import services
from subscriptions.models import SeatRemoval
from tests.builders import bulk, make_team_plan, world

pytestmark = pytest.mark.django_db

LIST = "/settings/invoices/"
NOV_1, NOV_15 = date(2026, 11, 1), date(2026, 11, 15)


@pytest.fixture
def on_nov_15():
    with time_machine.travel("2026-11-15 12:00Z", tick=False):
        yield


def page(client, user, url=LIST, **params) -> str:
    client.force_login(user)
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def test_invoices_and_credit_notes_with_number_date_amount_status_and_pdf(client, on_nov_15):
    w = world(on=NOV_1, people=2, plan_obj=make_team_plan(seat_removal=SeatRemoval.CREDIT_PRORATED))
    accounts_services.membership_archive_many(memberships=list(w.account.memberships.filter(role="member")), on=NOV_15)
    invoice = Invoice.objects.get(account=w.account)
    note = w.account.credit_notes.get()
    html = page(client, w.owner)
    assert invoice.number in html and "Nov 1, 2026" in html and "$21.00" in html and "Paid" in html
    assert note.number in html and "credit note" in html and "-$7.00" in html  # 2 seats × 7.00 × 15/30
    assert f'href="/settings/invoices/{invoice.number}.pdf"' in html
    assert f'href="/settings/invoices/{note.number}.pdf"' in html
    assert "To pay" not in html


def test_filter_by_year(client, on_nov_15):
    w = world(on=date(2025, 11, 1), people=0)
    services.billing_run(on=date(2026, 1, 1), accounts=[w.account])  # renewals Dec 1, 2025 and Jan 1, 2026
    rows = {d: f"<td>{n}" for d, n in Invoice.objects.filter(account=w.account).values_list("issued_on", "number")}
    html = page(client, w.owner)
    assert '<a href="?year=2026" aria-current="page">2026</a>' in html and "?year=2025" in html
    assert rows[date(2026, 1, 1)] in html and rows[date(2025, 11, 1)] not in html
    html = page(client, w.owner, year="2025")
    assert rows[date(2025, 11, 1)] in html and rows[date(2026, 1, 1)] not in html
    html = page(client, w.owner, year="all")
    assert all(row in html for row in rows.values())


def test_an_amount_due_is_highlighted_with_how_to_pay(client, on_nov_15, settings):
    settings.DEMO_SELF_PAY = False
    w = world(on=NOV_1, people=2)
    accounts_services.membership_invite(account=w.account, email="new@example.com", on=NOV_15)
    due = Invoice.objects.get(account=w.account, status="open")
    html = page(client, w.owner)
    assert "To pay" in html and due.number in html
    assert '<strong class="amount-due">$3.50</strong>' in html and "due Nov 15, 2026" in html
    assert django_settings.SELLER["bank"] in html and "is-due" in html
    assert f"Transfer $3.50 with the reference <code>{due.number}</code>." in html  # per invoice (issue 17, item 7)
    assert "Pay now" not in html  # the demo stand-in is off


def test_demo_pay_now_pays_and_unlocks(client, settings):
    settings.DEMO_SELF_PAY = True
    with time_machine.travel("2026-11-15 12:00Z", tick=False):
        w = world(on=NOV_1, people=2)
        accounts_services.membership_invite(account=w.account, email="new@example.com", on=NOV_15)
    due = Invoice.objects.get(account=w.account, status="open")
    with time_machine.travel("2026-12-01 12:00Z", tick=False):
        services.dunning_run(on=date(2026, 11, 29), accounts=[w.account])  # issued Nov 15 + 14 days grace
        w.account.refresh_from_db()
        assert w.account.locked_on == date(2026, 11, 29)
        assert "is locked" in page(client, w.owner)
        response = client.post(f"/settings/invoices/{due.number}/pay/", follow=True)
    html = response.content.decode()
    assert f"Paid {due.number}: $3.50. The account is unlocked." in html
    due.refresh_from_db()
    w.account.refresh_from_db()
    assert due.status == "paid" and w.account.locked_on is None


def test_pay_now_is_refused_when_the_demo_stand_in_is_off(client, on_nov_15, settings):
    settings.DEMO_SELF_PAY = False
    w = world(on=NOV_1, people=2)
    accounts_services.membership_invite(account=w.account, email="new@example.com", on=NOV_15)
    due = Invoice.objects.get(account=w.account, status="open")
    client.force_login(w.owner)
    client.post(f"/settings/invoices/{due.number}/pay/")
    due.refresh_from_db()
    assert due.status == "open"


def test_members_cannot_see_invoices_billing_admins_can(client, on_nov_15):
    w = world(on=NOV_1, people=0)
    client.force_login(w.person("member"))
    assert client.get(LIST).status_code == 403
    html = page(client, w.person("billing_admin"))
    assert Invoice.objects.get(account=w.account).number in html


def test_query_count_does_not_grow_with_invoices(client, on_nov_15, django_assert_max_num_queries):
    small = world(on=NOV_1, people=2, name="Small")
    large = world(on=NOV_1, people=2, name="Large", plan_obj=small.plan)
    bulk(large, members=1000, invoices=500, on=NOV_1)
    counts = []
    for w in (small, large):
        client.force_login(w.owner)
        with django_assert_max_num_queries(12) as captured:
            response = client.get(LIST, {"year": "all"})
        assert response.status_code == 200
        counts.append(len(captured))
    print(f"invoice list: {counts[0]} queries with 2 invoices, {counts[1]} with 500")
    assert counts[1] <= counts[0]


def test_all_years_are_paginated_newest_first_keeping_the_year_filter(client, on_nov_15):
    w = world(on=NOV_1, people=2, plan_obj=make_team_plan(seat_removal=SeatRemoval.CREDIT_PRORATED))
    bulk(w, members=0, invoices=400, on=NOV_1)  # one a day back from Oct 31, 2026: 304 in 2026, 96 in 2025
    accounts_services.membership_archive_many(memberships=list(w.account.memberships.filter(role="member")), on=NOV_15)
    client.force_login(w.owner)
    response = client.get(LIST, {"year": "all"})
    first = response.context
    assert first["page"].paginator.count == 402  # the 400, the first invoice and the Nov 15 credit note
    assert len(first["rows"]) == 50 and first["rows"][0].kind == "credit_note"
    assert [r.issued_on for r in first["rows"][:3]] == [NOV_15, NOV_1, date(2026, 10, 31)]
    html = response.content.decode()
    assert "Page 1 of 9" in html and 'href="?year=all&amp;page=2" rel="next"' in html
    last = client.get(LIST, {"year": "all", "page": 9}).context
    assert len(last["rows"]) == 2 and [r.issued_on for r in last["rows"]] == [date(2025, 9, 28), date(2025, 9, 27)]
    in_2025 = client.get(LIST, {"year": "2025", "page": 2})
    assert in_2025.context["year"] == 2025 and in_2025.context["page"].paginator.count == 96
    assert len(in_2025.context["rows"]) == 46 and {r.issued_on.year for r in in_2025.context["rows"]} == {2025}
    assert 'href="?year=2025&amp;page=1" rel="prev"' in in_2025.content.decode()
