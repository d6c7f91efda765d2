"""Services under the plan settings `downgrade` and `minimum_invoice` (SPEC §2.4, issue 22): the edges."""

from datetime import date
from decimal import Decimal

import pytest

from common.errors import Refused
from invoicing.models import Invoice, InvoiceLine
from subscriptions import services
from subscriptions.models import Downgrade, SeatMode, Subscription
from tests.builders import invite, make_account, make_plan, snapshot, usd

pytestmark = pytest.mark.django_db

NOV1, NOV10, DEC1 = date(2026, 11, 1), date(2026, 11, 10), date(2026, 12, 1)


def team_for(people: int, **settings) -> Subscription:
    """Acme with `people` seats on Team ($7.00 a month, $70.00 a year), whose downgrades wait."""
    account = make_account("Acme", on=NOV1)
    if people > 1:
        invite(account, people - 1, on=NOV1)
    team = make_plan("team", monthly="7.00", annual="70.00", downgrade=Downgrade.AT_PERIOD_END, **settings)
    return services.subscription_create(account=account, plan=team, cycle="monthly", on=NOV1)


def invoices(account) -> list[Invoice]:
    return list(Invoice.objects.filter(account=account).order_by("issued_on", "id"))


def test_seats_beyond_the_scheduled_plans_maximum_are_refused_until_it_is_undone():
    sub = team_for(2)
    free = make_plan("free", monthly="0.00", annual="0.00", max_seats=3)
    services.subscription_change_plan(subscription=sub, plan=free, on=NOV10)  # 0.00 < 7.00: waits
    invite(sub.account, 1, on=NOV10)  # 3 seats: still within Free's 3
    before = snapshot(sub.account)
    with pytest.raises(Refused, match=r"Your change to the Free plan on Dec 1, 2026 allows at most 3 users") as exc:
        invite(sub.account, 1, on=NOV10)
    assert exc.value.code == "max_seats" and snapshot(sub.account) == before
    services.subscription_undo_plan_change(subscription=sub, on=NOV10)
    invite(sub.account, 1, on=NOV10)
    assert Subscription.objects.get(pk=sub.pk).paid_seats == 4


def test_a_self_serve_cycle_switch_waits_for_the_scheduled_change_to_be_undone():
    sub = team_for(1)
    services.subscription_change_plan(subscription=sub, plan=make_plan("start", monthly="4.00"), on=NOV10)
    with pytest.raises(Refused, match=r"A change to the Start plan is scheduled for Dec 1, 2026; undo it before"):
        services.subscription_switch_cycle(subscription=sub, cycle="annual", on=NOV10)


def test_supports_switch_to_monthly_and_a_scheduled_downgrade_meet_at_the_renewal():
    account = make_account("Acme", on=NOV1)
    team = make_plan("team", monthly="7.00", annual="70.00", downgrade=Downgrade.AT_PERIOD_END)
    sub = services.subscription_create(account=account, plan=team, cycle="annual", on=NOV1)
    no_monthly = make_plan("yearly", monthly=None, annual="40.00")
    services.subscription_switch_cycle(subscription=sub, cycle="monthly", on=NOV10, by_support=True)
    with pytest.raises(Refused, match=r"The Yearly plan has no monthly price\."):
        services.subscription_change_plan(subscription=sub, plan=no_monthly, on=NOV10)
    start = make_plan("start", monthly="4.00", annual="40.00")
    services.subscription_change_plan(subscription=sub, plan=start, on=NOV10)  # 40.00 < 70.00 a year: waits
    services.billing_run(on=date(2027, 11, 1), accounts=[account])
    # Nov 1, 2027: the annual period ends; the renewal is monthly on Start, 1 seat × 4.00 = 4.00
    renewal = invoices(account)[-1]
    assert (renewal.issued_on, renewal.total) == (date(2027, 11, 1), usd("4.00"))
    sub.refresh_from_db()
    assert (sub.plan.code, sub.cycle, sub.pending_plan, sub.period_end) == ("start", "monthly", None, date(2027, 12, 1))


def test_a_scheduled_move_to_fixed_seats_buys_the_seats_in_use_at_the_renewal():
    sub = team_for(3)
    fixed = make_plan("fixed", monthly="5.00", annual="50.00", seat_mode=SeatMode.FIXED)
    services.subscription_change_plan(subscription=sub, plan=fixed, on=NOV10)
    services.billing_run(on=DEC1, accounts=[sub.account])
    sub.refresh_from_db()
    # Dec 1: 3 seats in use are bought; 3 × 5.00 = 15.00, no credit line
    assert (sub.plan.code, sub.bought_seats, sub.paid_seats) == ("fixed", 3, 3)
    renewal = invoices(sub.account)[-1]
    assert [(line.kind, line.amount) for line in renewal.lines.all()] == [("subscription", usd("15.00"))]


def test_a_cancellation_wins_over_a_scheduled_downgrade():
    sub = team_for(1)
    services.subscription_change_plan(subscription=sub, plan=make_plan("start", monthly="4.00"), on=NOV10)
    services.subscription_cancel(subscription=sub, on=NOV10)
    services.billing_run(on=DEC1, accounts=[sub.account])
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.EXPIRED and sub.plan.code == "team"
    assert len(invoices(sub.account)) == 1  # the purchase; nothing on Dec 1


def test_a_downgrade_during_the_trial_is_made_at_once():
    account = make_account("Acme", on=NOV1)
    team = make_plan("team", monthly="7.00", downgrade=Downgrade.AT_PERIOD_END, trial_days=14)
    sub = services.subscription_create(account=account, plan=team, cycle="monthly", on=NOV1, trial=True)
    services.subscription_change_plan(subscription=sub, plan=make_plan("start", monthly="4.00"), on=NOV10)
    sub.refresh_from_db()
    assert (sub.plan.code, sub.pending_plan) == ("start", None)


def test_a_waiting_line_joins_a_plan_change_invoice():
    account = make_account("Acme", on=DEC1)
    pro = make_plan("pro", monthly="7.00", minimum_invoice=usd("1.00"))
    sub = services.subscription_create(account=account, plan=pro, cycle="monthly", on=DEC1)
    invite(account, 1, on=date(2026, 12, 29))  # 7.00 × 2/31 = 0.45 < 1.00: waits
    services.subscription_change_plan(subscription=sub, plan=make_plan("max", monthly="12.00"), on=date(2026, 12, 30))
    # Dec 30, 1 of 31 days left: credit 2 × 7.00 × 1/31 = −0.45, charge 2 × 12.00 × 1/31 = 0.77, + the waiting 0.45
    change = invoices(account)[-1]
    assert sorted(line.amount for line in change.lines.all()) == [usd("-0.45"), usd("0.45"), usd("0.77")]
    assert change.total == usd("0.77")
    assert not InvoiceLine.objects.filter(subscription=sub, invoice__isnull=True).exists()


def test_the_minimum_is_compared_with_the_total_after_tax():
    account = make_account("Acme", on=DEC1, tax_rate=Decimal("0.2"))
    pro = make_plan("pro", monthly="7.00", minimum_invoice=usd("0.50"))
    services.subscription_create(account=account, plan=pro, cycle="monthly", on=DEC1)
    invite(account, 1, on=date(2026, 12, 29))
    # 7.00 × 2/31 = 0.45, + 20% tax 0.09 = 0.54 ≥ 0.50: issued that day
    seats = invoices(account)[-1]
    assert (seats.issued_on, seats.subtotal, seats.tax, seats.total) == (
        date(2026, 12, 29),
        usd("0.45"),
        usd("0.09"),
        usd("0.54"),
    )
