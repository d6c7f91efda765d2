"""`AnyOf`: the rows `__in` finds, as one array parameter on PostgreSQL (issue 15)."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common.lookups import AnyOf
from subscriptions.models import Subscription
from tests.builders import make_team_plan, world

pytestmark = pytest.mark.django_db

NOV_1 = date(2026, 11, 1)


def test_any_of_finds_what_in_finds_with_one_parameter():
    plan = make_team_plan()
    subs = [world(on=NOV_1, people=1, name=f"Team {i}", plan_obj=plan).sub for i in range(3)]
    wanted = [subs[0].pk, subs[2].pk, 10**9]
    with CaptureQueriesContext(connection) as captured:
        found = sorted(Subscription.objects.filter(AnyOf("pk", wanted)).values_list("pk", flat=True))
    assert found == sorted(Subscription.objects.filter(pk__in=wanted).values_list("pk", flat=True))
    assert found == sorted([subs[0].pk, subs[2].pk])
    [query] = captured.captured_queries
    assert ("= ANY(" in query["sql"]) == (connection.vendor == "postgresql")


def test_any_of_nothing_finds_nothing():
    world(on=NOV_1, people=1)
    assert not Subscription.objects.filter(AnyOf("account_id", [])).exists()
    assert Subscription.objects.exclude(AnyOf("account_id", [])).count() == 1
