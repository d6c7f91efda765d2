"""Settings › Subscription: what it shows, and each change as preview → confirm → message → redirect."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from accounts.models import Account
from invoicing.models import Invoice
from subscriptions.models import Coupon, Subscription, ToMonthly
from subscriptions.previews import invoice_preview
from tests.builders import bulk, make_plan, make_team_plan, world

pytestmark = pytest.mark.django_db

NOV_1, NOV_15 = date(2026, 11, 1), date(2026, 11, 15)
DETAIL = "/settings/subscription/"


@pytest.fixture
def on_nov_15():
    with time_machine.travel("2026-11-15 12:00Z", tick=False):
        yield


def signed_in(client, user):
    client.force_login(user)
    return client


def text(response) -> str:
    return response.content.decode()


def test_the_page_shows_plan_status_seats_next_invoice_and_credit(client, on_nov_15):
    w = world(on=NOV_1, people=2)  # owner + 2 on Team, $7.00 a seat a month
    page = text(signed_in(client, w.owner).get(DETAIL))
    assert "Team, billed monthly" in page
    assert 'href="/settings/invoices/next.pdf"' in page  # the next invoice as a PDF is linked (issue 17, item 12)
    assert "Renews on Dec 1, 2026" in page
    assert 'data-seats="in-use">3<' in page and 'data-seats="paid">3<' in page and 'data-seats="free">0<' in page
    assert "Next invoice" in page and "On <strong>Dec 1, 2026</strong>" in page
    assert "$21.00" in page  # 3 seats × 7.00
    assert "Credit balance: <strong data-credit-balance>$0.00</strong>" in page
    assert 'Payment method: Bank transfer — <a href="/settings/payment-method/">change</a>' in page
    assert Invoice.objects.filter(account=w.account).count() == 1  # the preview issued nothing


def test_freed_seats_under_keep_until_renewal_say_until_when(client, on_nov_15):
    from accounts import services as accounts_services

    w = world(on=NOV_1, people=2)
    accounts_services.membership_archive_many(memberships=list(w.account.memberships.filter(role="member")), on=NOV_15)
    page = text(signed_in(client, w.owner).get(DETAIL))
    assert 'data-seats="free">2<' in page
    assert "2 seats freed this period can be refilled at no charge until Nov 30, 2026" in page


def test_a_member_gets_the_403_page_and_none_the_locked_door(client, on_nov_15):
    w = world(on=NOV_1, people=0)
    member, nobody = w.person("member"), w.person("none")
    response = signed_in(client, member).get(DETAIL)
    assert response.status_code == 403 and "Ask one of them" in text(response)
    assert "owner@acme.example.com" in text(response)
    response = signed_in(client, nobody).get(DETAIL)
    assert response.status_code == 403 and "This door is locked" in text(response)


def test_switch_to_annual_preview_then_confirm_gives_the_same_invoice(client, on_nov_15):
    w = world(on=NOV_1, people=2)
    c = signed_in(client, w.owner)
    shown = c.get(reverse("subscriptions:switch_cycle"), {"cycle": "annual"})
    page = text(shown)
    assert "Unused time on Team (monthly) · 3 seats" in page
    assert "-$10.50" in page  # 3 × 7.00 × 15/30 credited
    assert "Team (annual) · 3 seats" in page and "$210.00" in page  # 3 × 70.00
    assert "$199.50" in page  # 210.00 − 10.50 due
    result = shown.context["result"]
    response = c.post(
        reverse("subscriptions:switch_cycle"), {"cycle": "annual", "fingerprint": shown.context["fingerprint"]}
    )
    assert response.status_code == 302 and response["Location"] == DETAIL
    issued = Invoice.objects.filter(account=w.account, reason="cycle_switch").get()
    assert invoice_preview(issued) == result.invoices[0]
    page = text(c.get(DETAIL))
    assert "You are now billed annually." in page and issued.number in page
    assert "Team, billed annually" in page
    assert "Current period: Nov 16, 2026 – Nov 15, 2027" in page


def test_switch_to_annual_as_two_documents_shows_the_credit_note_then_the_invoice(client, on_nov_15):
    # switch_documents=credit_note_and_invoice: 3 × 7.00 × 15/30 = 10.50 credited first, then 210.00 less it
    w = world(on=NOV_1, people=2, plan_obj=make_team_plan(switch_documents="credit_note_and_invoice"))
    c = signed_in(client, w.owner)
    shown = c.get(reverse("subscriptions:switch_cycle"), {"cycle": "annual"})
    page = text(shown)
    assert "Credited to your balance" in page and "$10.50" in page
    assert "Paid from your credit balance" in page and "$199.50" in page
    result = shown.context["result"]
    assert [n.total.amount for n in result.credit_notes] == [Decimal("10.50")]
    response = c.post(
        reverse("subscriptions:switch_cycle"), {"cycle": "annual", "fingerprint": shown.context["fingerprint"]}
    )
    assert response.status_code == 302
    issued = Invoice.objects.filter(account=w.account, reason="cycle_switch").get()
    assert (issued.total.amount, issued.credit_applied.amount, issued.amount_due.amount) == (
        Decimal("210.00"),
        Decimal("10.50"),
        Decimal("199.50"),
    )
    assert w.account.credit_notes.get().reason == "cycle_switch"


def test_a_stale_confirmation_changes_nothing_and_shows_the_new_cost(client, on_nov_15):
    w = world(on=NOV_1, people=2)
    c = signed_in(client, w.owner)
    response = c.post(reverse("subscriptions:switch_cycle"), {"cycle": "annual", "fingerprint": "not-what-was-shown"})
    assert response.status_code == 200
    assert "Something changed since you opened this page" in text(response)
    assert not Invoice.objects.filter(account=w.account, reason="cycle_switch").exists()


def test_annual_to_monthly_on_a_support_only_plan_says_contact_support(client, on_nov_15):
    w = world(on=NOV_1, people=0, cycle="annual", plan_obj=make_team_plan(to_monthly=ToMonthly.SUPPORT_ONLY))
    c = signed_in(client, w.owner)
    assert "contact support" in text(c.get(DETAIL))
    page = text(c.get(reverse("subscriptions:switch_cycle"), {"cycle": "monthly"}))
    assert "Contact support" in page and 'name="fingerprint"' not in page


def test_coupon_refusal_is_shown_next_to_the_field_and_a_good_one_is_applied(client, on_nov_15):
    w = world(on=NOV_1, people=0)
    Coupon.objects.create(code="SPRING", percent_off=20, duration_periods=3)
    c = signed_in(client, w.owner)
    response = c.post(reverse("subscriptions:coupon"), {"coupon": "NOPE"})
    assert response.status_code == 200
    assert '<span class="field-error" role="alert">NOPE is not a valid coupon.</span>' in text(response)
    response = c.post(reverse("subscriptions:coupon"), {"coupon": "spring"}, follow=True)
    assert "Coupon SPRING applied" in text(response)
    assert "SPRING is active; it starts with your next renewal" in text(response)
    assert "3 more periods to go." in text(response)  # how long the coupon lasts (issue 17, item 12)


def test_cancel_then_undo(client, on_nov_15):
    w = world(on=NOV_1, people=0)
    c = signed_in(client, w.owner)
    asked = text(c.get(reverse("subscriptions:cancel")))  # first: why (issue 17, item 13)
    assert "Why are you canceling?" in asked and "It costs too much" in asked and "until <strong>Dec 1, 2026" in asked
    said = {"reason": "missing_features", "comment": "We need per-project budgets"}
    shown = c.get(reverse("subscriptions:cancel"), said)
    assert "Nothing is invoiced or credited for this." in text(shown)
    data = {**said, "fingerprint": shown.context["fingerprint"]}
    page = text(c.post(reverse("subscriptions:cancel"), data, follow=True))
    assert "Canceled. The subscription ends on Dec 1, 2026" in page
    canceled = Subscription.objects.get(pk=w.sub.pk)
    assert (canceled.cancel_reason, canceled.cancel_comment) == ("missing_features", "We need per-project budgets")
    assert "Ends on Dec 1, 2026." in page and "Undo the cancellation" in page
    page = text(c.post(reverse("subscriptions:undo_cancel"), follow=True))
    assert "Cancellation undone" in page and "Renews on Dec 1, 2026" in page


def test_refund_within_the_guarantee(client, on_nov_15):
    w = world(on=NOV_1, people=0, plan_obj=make_team_plan(refund_window_days=30))
    c = signed_in(client, w.owner)
    assert "money-back guarantee until Dec 1, 2026" in text(c.get(DETAIL))
    shown = c.get(reverse("subscriptions:refund"))
    assert "Refunds" in text(shown) and "$7.00" in text(shown)
    page = text(c.post(reverse("subscriptions:refund"), {"fingerprint": shown.context["fingerprint"]}, follow=True))
    assert "Refunded, and the subscription has ended." in page
    assert "Subscribe again" in page


def test_subscribe_from_nothing_preview_then_confirm(client, on_nov_15):
    w = world(on=NOV_15, people=1, subscribe=False)
    c = signed_in(client, w.owner)
    page = text(c.get(DETAIL))
    assert "has no subscription yet" in page and "Team — $7.00 a month or $70.00 a year per seat" in page
    shown = c.get(reverse("subscriptions:subscribe"), {"plan": w.plan.code, "cycle": "monthly"})
    assert "Team (monthly) · 2 seats" in text(shown) and "$14.00" in text(shown)
    page = text(
        c.post(
            reverse("subscriptions:subscribe"),
            {"plan": w.plan.code, "cycle": "monthly", "fingerprint": shown.context["fingerprint"]},
            follow=True,
        )
    )
    assert "Welcome to Team." in page and "Team, billed monthly" in page
    assert Subscription.objects.get(account=w.account).paid_seats == 2


def test_subscribe_refusal_is_shown_next_to_the_field(client, on_nov_15):
    w = world(on=NOV_15, people=4, subscribe=False)
    make_plan("free", monthly="0", annual=None, name="Free", max_seats=3)
    page = text(
        signed_in(client, w.owner).get(reverse("subscriptions:subscribe"), {"plan": "free", "cycle": "monthly"})
    )
    assert "The Free plan allows at most 3 users." in page and "field-error" in page


def test_trial_banner_for_billing_roles_only(client, on_nov_15):
    w = world(on=NOV_1, people=0, plan_obj=make_team_plan(trial_days=30), subscribe=False)
    from subscriptions import services

    services.subscription_create(account=w.account, plan=w.plan, cycle="monthly", on=NOV_1, trial=True)
    page = text(signed_in(client, w.owner).get(DETAIL))
    assert "16 days left" in page and "See your subscription" in page  # trial Nov 1 → Dec 1
    assert "change plan and billing cycle at no charge" in page
    member = w.person("member")
    page = text(signed_in(client, member).get("/settings/"))
    assert "See your subscription" not in page and "/settings/subscription/" not in page


PAGES = [
    ("get", DETAIL, None),
    ("get", "/settings/subscription/cycle/?cycle=annual", None),
    ("post", "/settings/members/invite/", {"emails": "new@x.example", "role": "member"}),  # the cost preview
]


def test_query_counts_do_not_grow_with_members_and_invoices(client, on_nov_15, django_assert_max_num_queries):
    small = world(on=NOV_1, people=2, name="Small")
    large = world(on=NOV_1, people=2, name="Large", plan_obj=small.plan)
    bulk(large, members=1000, invoices=500, on=NOV_1)
    # A change's preview runs, rolled back, the change followed by the next billing day's run, and that
    # run without the change: ~155 queries (PostgreSQL counts its savepoints), the same at any size.
    for method, url, data in PAGES:
        counts = []
        for w in (small, large):
            signed_in(client, w.owner)
            with django_assert_max_num_queries(160) as captured:
                response = getattr(client, method)(url, data) if data else client.get(url)
            assert response.status_code == 200
            counts.append(len(captured))
        print(f"{url}: {counts[0]} queries with 3 members, {counts[1]} with 1,000 members and 500 invoices")
        assert counts[1] <= counts[0]
    assert Account.objects.count() == 2


def test_change_plan_lists_plans_then_previews_credit_and_charge(client, on_nov_15):
    w = world(on=NOV_1, people=2)
    make_plan("business", monthly="10.00", annual="100.00")
    c = signed_in(client, w.owner)
    assert "Business" in text(c.get(reverse("subscriptions:change_plan")))
    shown = c.get(reverse("subscriptions:change_plan"), {"plan": "business"})
    [inv] = shown.context["result"].invoices
    assert [line.amount.amount for line in inv.lines] == [-10.5, 15]  # −3 × 7.00 × 15/30, +3 × 10.00 × 15/30
    data = {"plan": "business", "fingerprint": shown.context["fingerprint"]}
    page = text(c.post(reverse("subscriptions:change_plan"), data, follow=True))
    assert "You are now on the Business plan." in page and "Business, billed monthly" in page
    assert invoice_preview(Invoice.objects.get(account=w.account, reason="plan_change")) == inv


def test_fixed_seats_are_bought_with_a_preview(client, on_nov_15):
    w = world(on=NOV_1, people=2, seats=5, plan_obj=make_team_plan(seat_mode="fixed"))
    c = signed_in(client, w.owner)
    page = text(c.get(DETAIL))
    assert 'data-seats="paid">5<' in page and "2 of your 5 bought seats are free" in page
    shown = c.get(reverse("subscriptions:set_seats"), {"seats": 7})
    assert shown.context["result"].invoices[0].total.amount == 7  # 2 × 7.00 × 15/30
    # Issue 17, item 8: the preview also says what the change does to the next invoice: 5 → 7 seats × 7.00
    assert "Your next invoice, on Dec 1, 2026: $49.00 instead of $35.00." in text(shown)
    c.post(reverse("subscriptions:set_seats"), {"seats": 7, "fingerprint": shown.context["fingerprint"]})
    assert Subscription.objects.get(account=w.account).bought_seats == 7


def test_subscribe_with_the_trial_charges_nothing(client, on_nov_15):
    w = world(on=NOV_15, people=1, subscribe=False, plan_obj=make_team_plan(trial_days=14))
    c = signed_in(client, w.owner)
    params = {"plan": w.plan.code, "cycle": "monthly", "trial": "on"}
    shown = c.get(reverse("subscriptions:subscribe"), params)
    assert "Nothing is invoiced or credited for this. Your trial runs until Nov 29, 2026." in text(shown)
    data = {**params, "trial": "True", "fingerprint": shown.context["fingerprint"]}
    page = text(c.post(reverse("subscriptions:subscribe"), data, follow=True))
    assert "14 days left" in page and Invoice.objects.filter(account=w.account).count() == 0


def test_free_plan_page_shows_nothing_to_invoice_on_the_renewal_day(client, on_nov_15):
    """Issue 17 item 1: the page crashed (500) on a Free-plan subscription with no next invoice."""
    from subscriptions import services

    w = world(on=NOV_15, people=1, subscribe=False)
    free = make_plan("free", monthly="0", annual=None, name="Free", max_seats=3)
    services.subscription_create(account=w.account, plan=free, cycle="monthly", on=NOV_15)
    response = signed_in(client, w.owner).get(DETAIL)
    assert response.status_code == 200
    assert "Nothing to invoice on Dec 15, 2026." in text(response)


def test_a_minimum_set_by_support_is_explained_before_it_is_billed(client, on_nov_15):
    """Issue 17, item 3: "7 in use · 7 paid" while the next invoice said "9 seats × $7" with no reason."""
    from subscriptions import services

    w = world(on=NOV_1, people=6)  # 7 in use, 7 paid
    services.subscription_set_minimum_seats(subscription=w.sub, seats=9, on=NOV_15)
    page = text(signed_in(client, w.owner).get(DETAIL))
    assert 'data-seats="paid">7<' in page
    assert "Minimum 9 seats: from the next invoice (Dec 1, 2026) you pay for at least 9 seats" in page


def test_an_annual_to_monthly_switch_set_by_support_is_shown_and_not_offered_again(client, on_nov_15):
    from subscriptions import services

    w = world(on=NOV_1, people=1, cycle="annual", plan_obj=make_team_plan(to_monthly=ToMonthly.SUPPORT_ONLY))
    page = text(signed_in(client, w.owner).get(DETAIL))
    assert "contact support" in page  # before: the way to ask for it
    services.subscription_switch_cycle(subscription=w.sub, cycle="monthly", on=NOV_15, by_support=True)
    page = text(signed_in(client, w.owner).get(DETAIL))
    assert "From Nov 1, 2027 you are billed monthly; until then this period stays billed annually." in page
    assert "contact support" not in page and "Team, billed annually" in page


def test_a_canceled_subscription_is_not_offered_a_cycle_switch(client, on_nov_15):
    from subscriptions import services

    w = world(on=NOV_1, people=1, cycle="annual", plan_obj=make_team_plan(to_monthly=ToMonthly.SUPPORT_ONLY))
    services.subscription_cancel(subscription=w.sub, on=NOV_15)
    page = text(signed_in(client, w.owner).get(DETAIL))
    assert "contact support" not in page and "Switch to" not in page and "Undo the cancellation" in page


def test_a_locked_account_is_offered_to_pay_not_to_buy_more_and_is_refused_if_it_tries(client, on_nov_15):
    w = world(on=NOV_1, people=1)
    Account.objects.filter(pk=w.account.pk).update(locked_on=NOV_15)
    page = text(signed_in(client, w.owner).get(DETAIL))
    assert "data-unpaid" in page and "Change plan" not in page and "Switch to annual billing" not in page
    assert "Cancel the subscription" in page  # cancelling stays open
    confirm = text(client.get(reverse("subscriptions:switch_cycle"), {"cycle": "annual"}))
    assert "has an invoice unpaid past its due date. Pay it first" in confirm
    assert Subscription.objects.get(pk=w.sub.pk).cycle == "monthly"


def test_a_change_free_today_still_says_what_the_next_invoice_becomes(client, on_nov_15):
    """Issue 17, item 8: "Pay for 10 seats" said only "Nothing is invoiced" though the renewal rose."""
    plan = make_team_plan(seat_mode="fixed", seat_add_billing_monthly="next_invoice")
    w = world(on=NOV_1, people=2, seats=5, plan_obj=plan)
    shown = text(signed_in(client, w.owner).get(reverse("subscriptions:set_seats"), {"seats": 7}))
    # 2 seats added wait for the Dec 1 invoice (2 × 7.00 × 15/30 = 7.00), which renews 7 seats (49.00): 56.00
    assert "Your next invoice, on Dec 1, 2026: $56.00 instead of $35.00." in shown


def test_a_cycle_switch_preview_names_the_next_invoice_of_the_new_cycle(client, on_nov_15):
    w = world(on=NOV_1, people=2)  # 3 seats × 7.00 renew on Dec 1
    shown = text(signed_in(client, w.owner).get(reverse("subscriptions:switch_cycle"), {"cycle": "annual"}))
    # Annual from Nov 16: the next invoice is the renewal a year later, 3 × 70.00
    assert "Your next invoice, on Nov 16, 2027: $210.00 (without this change: $21.00 on Dec 1, 2026)." in shown


def test_subscribe_and_change_plan_show_plan_cards(client, on_nov_15):
    """Issue 17, item 13: price per seat per cycle, the seat policy in words and what each plan includes."""
    w = world(on=NOV_15, people=1, subscribe=False, plan_obj=make_team_plan(features="Timesheets\nReports"))
    make_plan("fixed", name="Fixed", seat_mode="fixed", seat_removal="credit_prorated", trial_days=14)
    c = signed_in(client, w.owner)
    page = text(c.get(reverse("subscriptions:subscribe")))
    assert 'data-plan-card="team"' in page and 'data-plan-card="fixed"' in page
    assert "$7.00 per seat a month" in page and "$70.00 per seat a year" in page
    assert "<li>Timesheets</li>" in page and "Seats follow your members" in page
    assert "You choose how many seats to pay for" in page and "A seat you free is credited for the days left." in page
    assert "14-day free trial." in page
    from subscriptions import services

    services.subscription_create(account=w.account, plan=w.plan, cycle="monthly", on=NOV_15)
    page = text(c.get(reverse("subscriptions:change_plan")))
    assert "Your plan" in page and 'data-plan-card="fixed"' in page and "See what it costs" in page
