import pytest

from accounts import services
from accounts.models import Membership
from tests.conftest import PASSWORD, ROLES  # noqa: F401 (used by the tests of this folder)


@pytest.fixture
def other_account(db):
    owner, account = services.signup(email="zed@other.example", password=PASSWORD, account_name="Other")
    member = services.membership_invite(account=account, email="someone@other.example", by=owner)
    return account, member


def status_of(account, email):
    return Membership.objects.get(account=account, email=email)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # PBKDF2 at full strength costs ~0.3 s per user; these tests make dozens.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
