"""Settings › Members: invite, archive, re-activate and change role show their cost before they happen."""

from datetime import date

import pytest
import time_machine
from django.core import mail

from accounts.models import Membership
from invoicing.models import CreditNote, Invoice
from subscriptions.models import SeatAddBilling, SeatRemoval
from subscriptions.previews import invoice_preview
from tests.builders import make_plan, make_team_plan, world

pytestmark = pytest.mark.django_db

NOV_1 = date(2026, 11, 1)
INVITE = "/settings/members/invite/"


@pytest.fixture(autouse=True)
def on_nov_15():
    with time_machine.travel("2026-11-15 12:00Z", tick=False):
        yield


def owner_client(client, w):
    client.force_login(w.owner)
    return client


def costs(response) -> list[str]:
    return [str(words) for words in response.context["impact"]]


def test_invite_shows_the_prorated_charge_then_issues_exactly_that(client):
    w = world(on=NOV_1, people=2)  # 3 seats, $7.00 a month, Nov 1 – Dec 1
    c = owner_client(client, w)
    shown = c.post(INVITE, {"emails": "ana@x.example", "role": "member"})
    assert shown.status_code == 200
    assert costs(shown) == ["+1 seat: $3.50 invoiced now ($3.50 due now)."]  # 7.00 × 15/30
    assert not Membership.objects.filter(email="ana@x.example").exists() and mail.outbox == []
    data = {"emails": "ana@x.example", "role": "member", "fingerprint": shown.context["fingerprint"]}
    done = c.post(INVITE, data, follow=True)
    issued = Invoice.objects.get(account=w.account, reason="seats")
    assert invoice_preview(issued) == shown.context["result"].invoices[0]
    assert f"Invoice {issued.number}: $3.50, $3.50 due." in done.content.decode()
    assert [m.to[0] for m in mail.outbox] == ["ana@x.example"]


def test_archive_keeps_the_seat_then_an_invite_fills_it_for_free(client):
    w = world(on=NOV_1, people=2)
    c = owner_client(client, w)
    member = w.account.memberships.filter(role="member").first()
    shown = c.post(f"/settings/members/{member.pk}/archive/")
    assert costs(shown) == [
        "−1 seat: no credit. The freed seat stays paid until Nov 30, 2026 and can be refilled at no charge."
    ]
    c.post(f"/settings/members/{member.pk}/archive/", {"fingerprint": shown.context["fingerprint"]})
    assert Membership.objects.get(pk=member.pk).status == "archived"
    shown = c.post(INVITE, {"emails": "ana@x.example", "role": "member"})
    assert costs(shown) == ["Fills a free seat: no charge."]
    assert "ana@x.example — Member" in shown.content.decode()  # who is invited, with the role (issue 17, item 12)
    assert "Nothing is invoiced" not in shown.content.decode() and "invoiced now" not in shown.content.decode()


def test_archive_under_credit_prorated_shows_the_credit(client):
    w = world(on=NOV_1, people=2, plan_obj=make_team_plan(seat_removal=SeatRemoval.CREDIT_PRORATED))
    c = owner_client(client, w)
    member = w.account.memberships.filter(role="member").first()
    shown = c.post(f"/settings/members/{member.pk}/archive/")
    assert costs(shown) == ["−1 seat: $3.50 credit, by a credit note issued today."]
    page = c.post(f"/settings/members/{member.pk}/archive/", {"fingerprint": shown.context["fingerprint"]}, follow=True)
    note = CreditNote.objects.get(account=w.account)
    assert f"Credit note {note.number}: $3.50 added to your credit balance." in page.content.decode()


def test_reactivate_and_role_change_show_their_cost(client):
    later = make_team_plan(
        seat_add_billing_monthly=SeatAddBilling.NEXT_INVOICE, seat_removal=SeatRemoval.CREDIT_PRORATED
    )
    w = world(on=NOV_1, people=2, plan_obj=later)
    c = owner_client(client, w)
    nobody = w.person("none")
    shown = c.post(f"/settings/members/{Membership.objects.get(user=nobody).pk}/role/", {"role": "member"})
    assert costs(shown) == ["+1 seat: added to your next invoice on Dec 1, 2026: $3.50."]
    assert Membership.objects.get(user=nobody).role == "none"


def test_going_over_the_free_plan_is_refused_next_to_the_field(client):
    w = world(on=NOV_1, people=2, plan_obj=make_plan("free", monthly="0", annual=None, name="Free", max_seats=3))
    response = owner_client(client, w).post(INVITE, {"emails": "four@x.example", "role": "member"})
    assert response.status_code == 200
    assert "The Free plan allows at most 3 users." in response.content.decode()
    assert not Membership.objects.filter(email="four@x.example").exists()


def test_a_changed_cost_asks_again(client):
    w = world(on=NOV_1, people=2)
    c = owner_client(client, w)
    response = c.post(INVITE, {"emails": "ana@x.example", "role": "member", "fingerprint": "stale"})
    assert "Something changed since you opened this page" in response.content.decode()
    assert not Membership.objects.filter(email="ana@x.example").exists()
