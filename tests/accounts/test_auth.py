"""Sign-up, log in by email, log out, password reset, the one-owner rule and switching accounts."""

import re

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.http import HttpRequest

from accounts import services
from accounts.models import Account, Membership, User

from .conftest import PASSWORD


def test_signup_creates_user_account_and_owner_usable_once_verified(client, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/accounts/signup/",
            {
                "email": "New@Example.com",
                "name": "Nia",
                "password": "a-long-fine-password",
                "account_name": "Nia's Team",
            },
        )
    assert response.status_code == 200 and "Check your email" in response.content.decode()
    user = User.objects.get(email="new@example.com")
    account = Account.objects.get(name="Nia's Team")
    assert account.memberships.get().user == user and not user.email_verified
    assert account.memberships.get().role == "owner" and account.memberships.get().status == "active"
    link = re.search(r"http://testserver(/accounts/verify/\S+/)", mail.outbox[0].body).group(1)
    assert client.get(link).status_code == 302
    client.post("/accounts/login/", {"username": "new@example.com", "password": "a-long-fine-password"})
    assert client.get("/app/").status_code == 200


def test_signup_with_a_taken_email_changes_nothing(client, team):
    response = client.post(
        "/accounts/signup/",
        {"email": "olga@acme.example", "password": "a-long-fine-password", "account_name": "Again"},
    )
    assert "already" not in response.content.decode() and "Check your email" in response.content.decode()
    assert not Account.objects.filter(name="Again").exists()


def test_login_by_email_any_case_and_logout_by_post(client, team):
    response = client.post("/accounts/login/", {"username": "OLGA@acme.example", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/")["Location"] == "/app/"
    assert client.get("/accounts/logout/").status_code == 405
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/")["Location"] == "/accounts/login/"


def test_password_reset_sends_a_link(client, team):
    response = client.post("/accounts/password/reset/", {"email": "olga@acme.example"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and "/accounts/reset/" in mail.outbox[0].body


def test_password_change(client, team):
    client.force_login(team["member"].user)
    response = client.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": "an-even-longer-pass", "new_password2": "an-even-longer-pass"},
    )
    assert response.status_code == 302
    team["member"].user.refresh_from_db()
    assert team["member"].user.check_password("an-even-longer-pass")


def test_one_owner_per_account_is_a_database_constraint(team):
    with pytest.raises(IntegrityError), transaction.atomic():
        Membership.objects.create(account=team["account"], email="second@acme.example", role="owner", status="active")


def test_switching_accounts(client, team, other_account):
    account, _ = other_account
    user = team["member"].user
    services.membership_invite(account=account, email=user.email, role="admin")
    client.force_login(user)
    assert "Other" in client.get("/accounts/switch/").content.decode()
    response = client.post(f"/accounts/switch/{account.slug}/")
    assert response.status_code == 302
    assert client.session["account_id"] == account.pk


def test_cannot_switch_into_an_account_you_do_not_belong_to(client, team, other_account):
    account, _ = other_account
    client.force_login(team["member"].user)
    assert client.post(f"/accounts/switch/{account.slug}/").status_code == 404
    assert client.session.get("account_id") != account.pk


def test_cannot_switch_into_an_account_you_were_archived_from(client, team):
    _, second = services.signup(email="x@y.example", password=PASSWORD, account_name="Second")
    user = team["member"].user
    m = services.membership_invite(account=second, email=user.email)
    services.invitation_accept(token=services.invitation_token(m), user=user)
    services.membership_archive(membership=m)
    client.force_login(user)
    assert client.post(f"/accounts/switch/{second.slug}/").status_code == 404


def test_support_staff_without_an_account_land_in_the_admin(client, db):
    client.force_login(User.objects.create_superuser(email="support@prorata.example", password=PASSWORD))
    assert client.get("/")["Location"] == "/admin/"


def test_switching_returns_only_to_a_local_page(client, team, other_account):
    account, _ = other_account
    user = team["member"].user
    services.membership_invite(account=account, email=user.email)
    client.force_login(user)
    url = f"/accounts/switch/{account.slug}/"
    assert client.post(url, {"next": "/settings/"})["Location"] == "/settings/"
    assert client.post(url, {"next": "https://evil.example/"})["Location"] == "/app/"


def admin_elsewhere(team, other_account):
    """Acme's member is also an admin of Other (an account named later, so not the first)."""
    account, _ = other_account
    user = team["member"].user
    m = services.membership_invite(account=account, email=user.email, role="admin")
    services.invitation_accept(token=services.invitation_token(m), user=user)
    return account, user


def test_a_person_in_several_accounts_lands_in_the_last_used_one(client, team, other_account):
    """Issue 17, item 6: after login a person always landed in the first account by name."""
    account, user = admin_elsewhere(team, other_account)
    # django-axes watches authenticate() and needs the request it is for; Client.login passes none of its own.
    assert client.login(request=HttpRequest(), email=user.email, password=PASSWORD)
    assert client.get("/settings/members/").context["current_account"] == team["account"]  # first by name
    client.post(f"/accounts/switch/{account.slug}/")
    client.post("/accounts/logout/")
    assert client.login(request=HttpRequest(), email=user.email, password=PASSWORD)  # a new session
    assert client.get("/settings/members/").context["current_account"] == account


def test_a_403_offers_the_account_where_the_page_is_allowed(client, team, other_account):
    account, user = admin_elsewhere(team, other_account)
    client.force_login(user)
    page = client.get("/settings/members/")
    html = page.content.decode()
    assert page.status_code == 403 and "data-elsewhere" in html and "Switch to Other" in html
    assert f'action="/accounts/switch/{account.slug}/"' in html and 'value="/settings/members/"' in html
    followed = client.post(f"/accounts/switch/{account.slug}/", {"next": "/settings/members/"}, follow=True)
    assert followed.status_code == 200 and followed.context["current_account"] == account


def test_a_403_offers_no_switch_when_no_other_account_allows_the_page(client, team, other_account):
    client.force_login(team["member"].user)
    html = client.get("/settings/members/").content.decode()
    assert "data-elsewhere" not in html
