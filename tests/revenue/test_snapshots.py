"""Revenue snapshots written from real subscriptions by the daily run and `backfill_revenue` (issue 21)."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from revenue.models import RevenueMonth, SubscriptionMonth
from tests.revenue.conftest import DEC1, NOV1, OCT1, at

pytestmark = pytest.mark.django_db


def test_the_scenario_month_from_real_subscriptions(december):
    m = december
    # opening = 50 + 40 + 60 + 20 = 170.00 (November's close)
    assert m.opening == Decimal("170.00")
    assert (m.new, m.seat_expansion, m.upgrade) == (Decimal("166.67"), Decimal("30.00"), Decimal("40.00"))
    assert (m.seat_contraction, m.downgrade, m.churn) == (Decimal("0.00"), Decimal("-30.00"), Decimal("-20.00"))
    assert m.reactivation == Decimal("60.00")
    # closing = 80 + 80 + 30 + 60 + 166.67 = 416.67 = 170 + 246.67
    assert m.closing == Decimal("416.67")
    assert m.balances
    # customers: 4 at the opening, 1 churned ("Cancels"), 5 at the close
    assert (m.customers_opening, m.customers_churned, m.customers) == (4, 1, 5)
    # paid seats of the paying subscriptions: 8 + 4 + 3 + 6 + 10 = 31
    assert m.paid_seats == 31


def test_november_is_all_new_and_october_churned(december):
    nov = RevenueMonth.objects.get(currency="USD", month=NOV1)
    assert (nov.opening, nov.new, nov.closing) == (Decimal("0.00"), Decimal("170.00"), Decimal("170.00"))
    oct_ = RevenueMonth.objects.get(currency="USD", month=OCT1)
    # Returns' $60 ended on Oct 1
    assert (oct_.opening, oct_.churn, oct_.closing) == (Decimal("60.00"), Decimal("-60.00"), Decimal("0.00"))


def test_backfill_is_idempotent(december):
    before = list(RevenueMonth.objects.order_by("currency", "month").values())
    with at(date(2026, 12, 31)):
        call_command("backfill_revenue", "--until", "2026-12-31", verbosity=0)
    first = list(RevenueMonth.objects.order_by("currency", "month").values_list("month", "closing"))
    snapshots = SubscriptionMonth.objects.count()
    with at(date(2026, 12, 31)):
        call_command("backfill_revenue", "--until", "2026-12-31", verbosity=0)
    assert list(RevenueMonth.objects.order_by("currency", "month").values_list("month", "closing")) == first
    assert SubscriptionMonth.objects.count() == snapshots
    # The same months and figures as the daily runs wrote, November's from the subscriptions' history
    assert [(r["month"], r["closing"]) for r in before] == first
    after = list(RevenueMonth.objects.order_by("currency", "month").values())
    assert [{k: v for k, v in r.items() if k not in ("id", "as_of")} for r in after] == [
        {k: v for k, v in r.items() if k not in ("id", "as_of")} for r in before
    ]
    assert dict(first)[NOV1] == Decimal("170.00")
    assert dict(first)[DEC1] == Decimal("416.67")


def test_deferred_revenue_of_an_annual_invoice(december):
    # "New" was invoiced 10 × $200 = $2,000 on Dec 10 for [Dec 10, 2027-12-10), 365 days; by Dec 31, 22 days:
    # 2000 × 22/365 = 120.548 → 120.55 recognised in December, 1,879.45 of it still deferred
    dec = RevenueMonth.objects.get(currency="USD", month=DEC1)
    assert dec.invoiced >= Decimal("2000.00")
    assert dec.deferred >= Decimal("1879.45")
    assert dec.invoiced - dec.recognised == dec.deferred - RevenueMonth.objects.get(currency="USD", month=NOV1).deferred


def test_the_demo_leaves_revenue_figures_for_each_month(db):
    import io

    call_command("demo", months=3, stdout=io.StringIO())
    months = list(RevenueMonth.objects.filter(currency="USD").order_by("month"))
    # a snapshot at every month end of the replay, and today's: 4 or 5 months, each balancing
    assert len(months) >= 4
    assert all(m.balances for m in months)
    assert months[-1].closing > 0
    assert sum(m.new for m in months) > 0


def test_alike_subscriptions_share_one_mrr_but_a_canceled_one_ends_with_its_own_period(db):
    from billing import revenue as core
    from revenue.services import subscription_months
    from subscriptions import services
    from subscriptions.models import Subscription
    from tests.builders import make_plan, world

    plan = make_plan("a", monthly="10.00", annual="100.00")
    keeps, ended, running = (world(on=DEC1, plan_obj=plan, people=1, name=n).sub for n in ("Keeps", "Ended", "Running"))
    for sub in (ended, running):
        services.subscription_cancel(subscription=sub, on=DEC1)
    Subscription.objects.filter(pk=ended.pk).update(period_end=date(2026, 12, 10))  # its period ended first
    on = date(2026, 12, 15)
    rows = {r[2]: r for r in subscription_months(on, historical=False)}  # by subscription id
    # 2 seats × $10 = $20.00 a month, until a canceled subscription's period ends
    assert {k: rows[s.pk][5] for k, s in [("keeps", keeps), ("ended", ended), ("running", running)]} == {
        "keeps": Decimal("20.00"),
        "ended": Decimal("0.00"),
        "running": Decimal("20.00"),
    }
    for sub in Subscription.objects.filter(pk__in=rows):
        state = core.SubscriptionState(
            sub.status, sub.cycle, plan.price(sub.cycle), sub.paid_seats, sub.period_end, sub.cancel_at_period_end
        )
        assert rows[sub.pk][5] == core.mrr(state, on, "USD").amount
