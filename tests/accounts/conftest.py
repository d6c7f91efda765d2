import pytest

from accounts import services
from accounts.models import Membership

PASSWORD = "correct-horse-battery"
ROLES = ["owner", "admin", "billing_admin", "member", "none"]


@pytest.fixture
def team(db):
    """An account with one active person per role: team["owner"] is that person's membership."""
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
