from datetime import date

import pytest

from accounts.services import membership_invite, signup
from licensing import keys
from subscriptions.services import subscription_create

DAY = date(2026, 11, 15)


@pytest.fixture(autouse=True)
def signing_key(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast sign-ups
    settings.LICENCE_SIGNING_KEY = keys.generate()
    settings.LICENCE_GRACE_DAYS = 7
    return settings.LICENCE_SIGNING_KEY


@pytest.fixture
def owner_account(db):
    return signup(email="owner@example.com", password="a long password 1", account_name="Acme")


@pytest.fixture
def account(owner_account):
    return owner_account[1]


@pytest.fixture
def subscription(account, plan):
    membership_invite(account=account, email="ana@example.com", on=DAY)
    return subscription_create(account=account, plan=plan, cycle="monthly", on=DAY)
