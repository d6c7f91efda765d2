"""Sign-up without enumeration (issue 18): the same page for a new and a taken address, a verification link for the
new one (usable once, expiring), a “someone tried” email for the taken one, and no login before verification."""

import datetime as dt
import re

import time_machine
from django.core import mail
from django.test import Client

from accounts import services
from accounts.models import Account, User

from .conftest import PASSWORD

FORM = {"name": "Nia", "password": "a-long-fine-password", "account_name": "Nia's Team"}
CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')


def sign_up(client, email, **extra):
    return client.post("/accounts/signup/", {**FORM, "email": email, **extra})


def link_in(message) -> str:
    return re.search(r"http://testserver(/accounts/verify/\S+/)", message.body).group(1)


def login(client, email, password="a-long-fine-password"):
    return client.post("/accounts/login/", {"username": email, "password": password})


def test_a_new_and_a_taken_address_get_the_same_page(team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        taken = sign_up(Client(), "olga@acme.example")
        new = sign_up(Client(), "nia@example.com")
    assert taken.status_code == new.status_code == 200
    # Byte for byte the same page once the two CSRF tokens and the address typed in are set aside.
    assert CSRF.sub(b"", taken.content).replace(b"olga@acme.example", b"X") == CSRF.sub(b"", new.content).replace(
        b"nia@example.com", b"X"
    )
    assert b"Check your email" in new.content
    assert sorted(taken.headers) == sorted(new.headers)
    # The emails tell them apart, only to the owners of the addresses.
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {"olga@acme.example", "nia@example.com"}
    note = by_address["olga@acme.example"]
    assert note.subject == "Someone tried to sign up for Prorata with your address"
    assert "nothing was created" in note.body
    assert (
        "http://testserver/accounts/login/" in note.body and "http://testserver/accounts/password/reset/" in note.body
    )
    assert "/accounts/verify/" not in note.body
    assert by_address["nia@example.com"].subject == "Confirm your email address for Prorata"
    # The taken address: nothing created, nothing changed.
    assert not Account.objects.filter(name="Nia's Team", memberships__email="olga@acme.example").exists()
    assert User.objects.get(email="olga@acme.example").check_password(PASSWORD)
    assert Account.objects.filter(name="Nia's Team").count() == 1


def test_emails_go_after_commit(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sign_up(Client(), "nia@example.com")
    assert mail.outbox == [] and len(callbacks) == 1
    callbacks[0]()
    assert len(mail.outbox) == 1


def test_no_login_before_verification_then_the_link_works_once(client, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, "nia@example.com")
    refused = login(client, "nia@example.com")
    html = refused.content.decode()
    assert refused.status_code == 200 and "_auth_user_id" not in client.session
    assert "Confirm your email address first" in html and 'action="/accounts/verify/resend/"' in html
    # A wrong password says nothing about verification.
    assert "Confirm your email" not in login(client, "nia@example.com", "wrong-password").content.decode()

    verified = client.get(link_in(mail.outbox[0]), follow=True)
    assert "nia@example.com is confirmed" in verified.content.decode()
    assert User.objects.get(email="nia@example.com").email_verified
    assert login(client, "nia@example.com").status_code == 302
    assert client.get("/app/").status_code == 200
    client.post("/accounts/logout/")
    again = client.get(link_in(mail.outbox[0]), follow=True)
    assert "already confirmed" in again.content.decode() and "_auth_user_id" not in client.session


def test_resend_sends_a_new_link_only_to_an_unverified_address(client, team, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, "nia@example.com")
        for email in ("nia@example.com", "olga@acme.example", "nobody@example.com"):
            page = client.post("/accounts/verify/resend/", {"email": email})
            assert page.status_code == 200 and b"Check your email" in page.content
    assert [m.to for m in mail.outbox] == [["nia@example.com"], ["nia@example.com"]]
    assert client.get(link_in(mail.outbox[1])).status_code == 302
    assert User.objects.get(email="nia@example.com").email_verified


def test_an_altered_or_expired_link_is_refused_with_a_way_to_resend(client, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, "nia@example.com")
    link = link_in(mail.outbox[0])
    altered = client.get(link[:-3] + "xx/")
    assert altered.status_code == 400 and "This link is not valid" in altered.content.decode()
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=4)):
        expired = client.get(link)
    html = expired.content.decode()
    assert expired.status_code == 400 and "This link has expired" in html and "/accounts/verify/resend/" in html
    assert not User.objects.get(email="nia@example.com").email_verified


def test_a_password_reset_also_confirms_the_address(client, db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client, "nia@example.com")
    client.post("/accounts/password/reset/", {"email": "nia@example.com"})
    reset = re.search(r"http://testserver(/accounts/reset/\S+/)", mail.outbox[-1].body).group(1)
    form = client.get(reset, follow=True)
    client.post(
        form.redirect_chain[-1][0], {"new_password1": "brand-new-passw0rd", "new_password2": "brand-new-passw0rd"}
    )
    assert User.objects.get(email="nia@example.com").email_verified
    assert login(client, "nia@example.com", "brand-new-passw0rd").status_code == 302


def test_users_made_by_services_and_invitations_are_verified(team):
    assert all(team[role].user.email_verified for role in ("owner", "admin", "member"))
    user, _ = services.signup(email="x@example.com", password=PASSWORD, account_name="X")
    assert user.email_verified
