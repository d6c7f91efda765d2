"""The scenario month of issue 21, built with the real services, shared by the revenue tests."""

from datetime import UTC, date, datetime

import pytest
import time_machine

from invoicing.models import Invoice
from invoicing.services import invoice_pay
from revenue.models import RevenueMonth
from revenue.services import revenue_snapshot
from subscriptions import services
from tests.builders import invite, make_plan, world

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
