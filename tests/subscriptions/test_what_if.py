"""The admin's what-if: a replay under the subscription's own plan reproduces what was issued (issue 17, item 2)."""

import io

import pytest
from django.core.management import call_command

from common.clock import today
from subscriptions import services
from subscriptions.models import Subscription
from subscriptions.what_if import subscription_what_if

pytestmark = pytest.mark.django_db


def issued(invoices) -> list[tuple]:
    return [(inv.issued_on, inv.reason, inv.total) for inv in invoices]


@pytest.fixture
def demo():
    call_command("demo", months=3, stdout=io.StringIO())


def test_replaying_each_demo_subscription_under_its_own_plan_gives_what_was_issued(demo):
    # The four demo accounts cover a trial with its offer (Acme), fixed seats bought ahead of
    # members (Kestrel), an annual plan (Blue Harbor) and seat changes under a coupon-free plan.
    subs = list(Subscription.objects.select_related("plan", "account"))
    assert len(subs) == 4
    for sub in subs:
        result = subscription_what_if(subscription=sub, plan=sub.plan, until=today(sub.account))
        assert not result.refused, (sub.account.name, result.refused)
        assert issued(result.replay) == issued(result.actual), sub.account.name
        assert result.replay_total == result.actual_total


def test_a_minimum_set_by_support_today_is_not_replayed_over_the_past(demo):
    """Before: 9 minimum seats set today replayed from the start gave $189.00 where $142.10 was issued."""
    sub = Subscription.objects.get(account__name="Northwind Studio")
    on = today(sub.account)
    services.subscription_set_minimum_seats(subscription=sub, seats=9, on=on)
    result = subscription_what_if(subscription=sub, plan=sub.plan, until=on)
    assert {"on": on.isoformat(), "do": "set_minimum_seats", "seats": 9} in result.events
    assert issued(result.replay) == issued(result.actual) and result.replay_total == result.actual_total
