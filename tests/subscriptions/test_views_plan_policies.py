"""Settings pages under the plan settings `downgrade` and `minimum_invoice` (SPEC §2.4, §3; issue 22)."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse
from moneyed import Money

from invoicing.models import Invoice, InvoiceLine
from subscriptions.models import Downgrade, Subscription
from tests.builders import make_plan, make_team_plan, world

pytestmark = pytest.mark.django_db

NOV_1, DEC_1 = date(2026, 11, 1), date(2026, 12, 1)
DETAIL = "/settings/subscription/"
INVITE = "/settings/members/invite/"


def text(response) -> str:
    return response.content.decode()


def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def team_and_start():
    """Team ($7.00 a seat a month, downgrades at period end), Start ($4.00) and Business ($12.00)."""
    team = make_team_plan(downgrade=Downgrade.AT_PERIOD_END)
    make_plan("start", monthly="4.00", annual="40.00")
    make_plan("business", monthly="12.00", annual="120.00")
    return team


def test_a_downgrade_is_previewed_as_waiting_then_shown_with_an_undo(client, team_and_start):
    w = world(on=NOV_1, people=2, plan_obj=team_and_start)  # 3 seats on Team, Nov 1 – Dec 1
    with time_machine.travel("2026-11-15 12:00Z", tick=False):
        c = signed_in(client, w.owner)
        listing = text(c.get(reverse("subscriptions:change_plan")))
        assert 'data-starts="start">Dec 1, 2026<' in listing and 'data-starts="business">tomorrow<' in listing
        assert "A plan that costs less per seat starts at your renewal on Dec 1, 2026, with no credit" in listing

        shown = c.get(reverse("subscriptions:change_plan"), {"plan": "start"})
        page = text(shown)
        assert "<h1>Change to Start on Dec 1, 2026</h1>" in page
        assert "Start costs less per seat ($4.00 instead of $7.00 a month)" in page
        assert "you stay on Team until Nov 30, 2026, and from Dec 1, 2026 you are on Start" in page
        assert shown.context["result"].is_free  # nothing now: no credit, no charge
        [renewal] = shown.context["later"].invoices  # what Dec 1 brings: 3 seats × 4.00 = 12.00
        assert renewal.issued_on == DEC_1 and renewal.total == Money("12.00", "USD")
        assert [line.description for line in renewal.lines] == ["Start (monthly) · 3 seats"]
        assert "Your invoice on Dec 1, 2026" in page

        data = {"plan": "start", "fingerprint": shown.context["fingerprint"]}
        page = text(c.post(reverse("subscriptions:change_plan"), data, follow=True))
        assert "Scheduled: you move to the Start plan on Dec 1, 2026." in page
        assert "Changes to <strong>Start</strong> on Dec 1, 2026" in page
        assert "Team, billed monthly" in page and "$12.00" in page  # the next invoice is on Start
        assert Invoice.objects.filter(account=w.account).count() == 1  # only the purchase
        assert Subscription.objects.get(account=w.account).pending_plan.code == "start"

        page = text(c.post(reverse("subscriptions:undo_plan_change"), follow=True))
        assert "The change to Start is undone: you stay on Team." in page
        assert "data-scheduled-change" not in page and "$21.00" in page  # 3 × 7.00 again
        assert Subscription.objects.get(account=w.account).pending_plan is None

        page = text(c.post(reverse("subscriptions:undo_plan_change"), follow=True))
        assert "No plan change is scheduled." in page


def test_an_upgrade_under_at_period_end_is_prorated_and_replaces_a_scheduled_downgrade(client, team_and_start):
    w = world(on=NOV_1, people=2, plan_obj=team_and_start)
    with time_machine.travel("2026-11-15 12:00Z", tick=False):
        c = signed_in(client, w.owner)
        shown = c.get(reverse("subscriptions:change_plan"), {"plan": "start"})
        c.post(reverse("subscriptions:change_plan"), {"plan": "start", "fingerprint": shown.context["fingerprint"]})
        shown = c.get(reverse("subscriptions:change_plan"), {"plan": "business"})
        assert "This replaces your scheduled change to Start." in text(shown)
        [inv] = shown.context["result"].invoices
        # −3 × 7.00 × 15/30 = −10.50, +3 × 12.00 × 15/30 = 18.00
        assert [line.amount.amount for line in inv.lines] == [-10.5, 18]
        assert shown.context["later"] is None
        c.post(reverse("subscriptions:change_plan"), {"plan": "business", "fingerprint": shown.context["fingerprint"]})
    sub = Subscription.objects.get(account=w.account)
    assert (sub.plan.code, sub.pending_plan) == ("business", None)


def test_the_member_cost_preview_says_a_small_proration_waits(client):
    pro = make_plan("pro", minimum_invoice=Money("1.00", "USD"))
    w = world(on=DEC_1, people=0, plan_obj=pro)  # the owner alone, Dec 1 – Jan 1 (31 days)
    with time_machine.travel("2026-12-29 12:00Z", tick=False):
        c = signed_in(client, w.owner)
        shown = c.post(INVITE, {"emails": "ana@x.example", "role": "member"})
        # Dec 30 – Dec 31: 7.00 × 2/31 = 0.4516 → 0.45, under the $1.00 minimum
        assert [str(words) for words in shown.context["impact"]] == [
            "+1 seat: $0.45 — added to your next invoice on Jan 1, 2027, "
            "as invoices under $1.00 are not issued on their own."
        ]
        data = {"emails": "ana@x.example", "role": "member", "fingerprint": shown.context["fingerprint"]}
        done = text(c.post(INVITE, data, follow=True))
    assert "$0.45 added to your invoice of Jan 1, 2027." in done
    assert Invoice.objects.filter(account=w.account).count() == 1  # only the purchase
    [waiting] = InvoiceLine.objects.filter(subscription=w.sub, invoice__isnull=True)
    assert (waiting.amount, waiting.bill_on) == (Money("0.45", "USD"), date(2027, 1, 1))
