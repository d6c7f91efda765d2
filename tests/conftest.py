import os

import pytest
from moneyed import Money

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def plan(db):
    """The $7/month, $70/year “team” plan (max_instances=1) shared by the API and licensing tests."""
    from subscriptions.models import Plan

    return Plan.objects.create(
        code="team",
        name="Team",
        currency="USD",
        monthly_price=Money("7.00", "USD"),
        annual_price=Money("70.00", "USD"),
        max_instances=1,
    )
