import os

import pytest
from django.conf import settings
from moneyed import Money

from common.catalogs import catalogs_compile


def pytest_sessionstart(session):
    """German and French documents need the compiled catalogues (`make messages` does the same)."""
    for root in settings.LOCALE_PATHS:
        catalogs_compile(root)


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


PASSWORD = "correct-horse-battery"
ROLES = ["owner", "admin", "billing_admin", "member", "none"]


@pytest.fixture
def team(db):
    """An account with one active person per role: team["owner"] is that person's membership."""
    from accounts import services

    owner, account = services.signup(
        email="olga@acme.example", password=PASSWORD, account_name="Acme", name="Olga Owner"
    )
    people = {"owner": account.memberships.get(user=owner)}
    for role in ROLES[1:]:
        services.user_create(email=f"{role}@acme.example", password=PASSWORD, name=role.replace("_", " ").title())
        m = services.membership_invite(account=account, email=f"{role}@acme.example", role=role, by=owner)
        people[role] = services.invitation_accept(token=services.invitation_token(m), user=m.user)
    people["account"] = account
    return people


@pytest.fixture
def as_role(client, team):
    """Log the test client in as the person with `role` (or stay anonymous)."""

    def login(role):
        if role != "anonymous":
            client.force_login(team[role].user)
        return client

    return login


@pytest.fixture
def eu_tax_rates(db):
    """The rate table as the data migration seeds it (the suite builds its database without migrations)."""
    import importlib

    from accounts.models import TaxRate

    seeded = importlib.import_module("accounts.migrations.0005_eu_tax_rates").EU_STANDARD_RATES
    TaxRate.objects.bulk_create(
        TaxRate(country=country, rate=rate, valid_from=since) for country, (rate, since) in seeded.items()
    )
    return {country: rate for country, (rate, _since) in seeded.items()}
