"""Login throttling (django-axes): five wrong passwords lock an address+IP pair out of the login page and the admin's
for the cool-off, with a page saying when to retry; support lifts it in the admin; API keys are not affected."""

import datetime as dt

import time_machine
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from axes.utils import reset
from django.urls import reverse

from api.keys import api_key_create
from tests.subscriptions.test_admin import staff, support_client  # noqa: F401 (fixture)

from .conftest import PASSWORD

LOGIN = "/accounts/login/"


def fail(client, email, times, url=LOGIN, **extra):
    for _ in range(times):
        response = client.post(url, {"username": email, "password": "wrong-password"}, **extra)
        assert response.status_code in (200, 429)
    return response


def test_five_wrong_passwords_lock_the_address_out_even_with_the_right_one(client, team):
    response = fail(client, "olga@acme.example", 4)
    assert response.status_code == 200 and "enter a correct" in response.content.decode()
    # The fifth failure, in another case, counts for the same address.
    locked = fail(client, "OLGA@acme.example", 1)
    assert locked.status_code == 429
    right = client.post(LOGIN, {"username": "olga@acme.example", "password": PASSWORD})
    html = right.content.decode()
    assert right.status_code == 429 and "_auth_user_id" not in client.session
    assert "Too many failed logins" in html and "Try again in 15 minutes, after" in html and " UTC</time>" in html
    assert "Reset it" in html
    assert AccessFailureLog.objects.filter(username="olga@acme.example").count() >= 5


def test_the_lock_is_per_address_and_ip(client, team):
    fail(client, "olga@acme.example", 5)
    # Another address from the same IP, and the same address from another IP, still log in.
    assert client.post(LOGIN, {"username": "admin@acme.example", "password": PASSWORD}).status_code == 302
    client.logout()
    other_ip = {"REMOTE_ADDR": "203.0.113.9"}
    assert client.post(LOGIN, {"username": "olga@acme.example", "password": PASSWORD}, **other_ip).status_code == 302


def test_after_the_cool_off_the_right_password_works_and_is_logged(client, team, settings):
    settings.AXES_COOLOFF_TIME = dt.timedelta(minutes=15)
    fail(client, "olga@acme.example", 5)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=14), tick=False):
        assert client.post(LOGIN, {"username": "olga@acme.example", "password": PASSWORD}).status_code == 429
    # That attempt restarted the wait: 15 minutes after it, not after the fifth failure.
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=30), tick=False):
        response = client.post(LOGIN, {"username": "olga@acme.example", "password": PASSWORD})
        assert response.status_code == 302 and client.session["_auth_user_id"] == str(team["owner"].user.pk)
    assert AccessLog.objects.filter(username="olga@acme.example").count() == 1
    assert not AccessAttempt.objects.filter(username="olga@acme.example").exists()  # reset on success


def test_the_admin_login_is_throttled_too(client, db):
    user = staff("root@prorata.example", superuser=True)
    user.set_password(PASSWORD)
    user.save()
    url = reverse("admin:login")
    fail(client, "root@prorata.example", 4, url=url)
    locked = fail(client, "root@prorata.example", 1, url=url)
    assert locked.status_code == 429 and "Too many failed logins" in locked.content.decode()
    right = client.post(url, {"username": "root@prorata.example", "password": PASSWORD})
    assert right.status_code == 429
    # The login page shares the counter: the same pair is locked there as well.
    assert client.post(LOGIN, {"username": "root@prorata.example", "password": PASSWORD}).status_code == 429
    reset(username="root@prorata.example")  # what support's "delete access attempt" does
    assert client.post(url, {"username": "root@prorata.example", "password": PASSWORD}).status_code == 302


def test_support_lifts_a_lockout_in_the_admin(client, team, support_client):  # noqa: F811
    from django.test import Client

    visitor = Client()
    fail(visitor, "olga@acme.example", 5)
    attempt = AccessAttempt.objects.get(username="olga@acme.example")
    listing = support_client.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200 and "olga@acme.example" in listing.content.decode()
    assert support_client.get(reverse("admin:axes_accesslog_changelist")).status_code == 200
    assert support_client.get(reverse("admin:axes_accessfailurelog_changelist")).status_code == 200
    deleted = support_client.post(reverse("admin:axes_accessattempt_delete", args=[attempt.pk]), {"post": "yes"})
    assert deleted.status_code == 302 and not AccessAttempt.objects.exists()
    assert visitor.post(LOGIN, {"username": "olga@acme.example", "password": PASSWORD}).status_code == 302


def test_api_keys_are_not_throttled(client, team):
    secret = api_key_create(account=team["account"], name="ci", role="admin", by=team["owner"])[1]
    fail(client, "olga@acme.example", 6)
    for _ in range(3):
        response = client.get("/api/v1/members", HTTP_AUTHORIZATION=f"Bearer {secret}")
        assert response.status_code == 200
    bad = client.get("/api/v1/members", HTTP_AUTHORIZATION="Bearer not-a-key")
    assert bad.status_code == 401
    assert client.get("/api/v1/members", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
