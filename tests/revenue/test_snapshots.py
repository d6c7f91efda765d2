"""Revenue snapshots written from real subscriptions by the daily run and `backfill_revenue` (issue 21)."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command

from invoicing.models import Invoice
from invoicing.services import invoice_pay
from revenue.models import RevenueMonth, SubscriptionMonth
from revenue.services import revenue_snapshot
from subscriptions import services
from tests.builders import invite, make_plan, world

pytestmark = pytest.mark.django_db

SEP1, OCT1, NOV1, DEC1 = date(2026, 9, 1), date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)


def pay_all(on):
    for inv in Invoice.objects.filter(status=Invoice.Status.OPEN):
        invoice_pay(invoice=inv, on=on)


def at(day):
    """The clock on `day` at noon, so that the subscriptions' history is dated as the services' days."""
    return time_machine.travel(datetime(day.year, day.month, day.day, 12, tzinfo=UTC), tick=False)


@pytest.fixture
def december():
    """The scenario month, December 2026, built with the services as customers and the daily run would."""
    with at(SEP1):
        return _december()


def _december():
    a = make_plan("a", monthly="10.00", annual="100.00")  # $10 per seat per month
    b = make_plan("b", monthly="20.00", annual="200.00")  # $20 per seat per month, $200 a year
    # September: "Returns" pays for 6 seats of A ($60), cancels, and expires on Oct 1
    returns = world(on=SEP1, plan_obj=a, people=5, name="Returns")
    revenue_snapshot(date(2026, 9, 30))
    with at(date(2026, 9, 10)):
        services.subscription_cancel(subscription=returns.sub, on=date(2026, 9, 10))
    with at(OCT1):
        services.billing_run(on=OCT1)  # the daily run: expires it, then snapshots October
    # November 1: four customers (the owner takes a seat too)
    travel = at(NOV1)
    travel.start()
    expands = world(on=NOV1, plan_obj=a, people=4, name="Expands")  # 5 × $10 = $50
    upgrades = world(on=NOV1, plan_obj=a, people=3, name="Upgrades")  # 4 × $10 = $40
    downgrades = world(on=NOV1, plan_obj=b, people=2, name="Downgrades")  # 3 × $20 = $60
    cancels = world(on=NOV1, plan_obj=a, people=1, name="Cancels")  # 2 × $10 = $20
    services.subscription_cancel(subscription=cancels.sub, on=date(2026, 11, 20))
    services.billing_run(on=date(2026, 11, 30))  # snapshot of November's end: December's opening
    travel.stop()
    travel = at(DEC1)
    travel.start()
    services.billing_run(on=DEC1)  # renewals; "Cancels" expires
    pay_all(DEC1)
    on = date(2026, 12, 5)
    travel.stop()
    travel = at(on)
    travel.start()
    invite(expands.account, 3, on=on)  # 8 seats: $80
    services.subscription_change_plan(subscription=upgrades.refresh(), plan=b, on=on)  # 4 × $20 = $80
    services.subscription_change_plan(subscription=downgrades.refresh(), plan=a, on=on)  # 3 × $10 = $30
    services.subscription_create(account=returns.account, plan=a, cycle="monthly", on=date(2026, 12, 10))  # $60
    world(on=date(2026, 12, 10), plan_obj=b, cycle="annual", people=9, name="New")  # 10 × $200 / 12 = $166.67
    pay_all(date(2026, 12, 10))
    services.billing_run(on=date(2026, 12, 31))
    travel.stop()
    return RevenueMonth.objects.get(currency="USD", month=DEC1)


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
