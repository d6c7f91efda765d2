"""Accepting an invitation: new and existing users; expired, reused and tampered links."""

import datetime as dt

import time_machine
from django.contrib.auth import get_user_model

from accounts import services

User = get_user_model()


def link_for(membership):
    return f"/invitations/{services.invitation_token(membership)}/"


def test_new_person_sets_a_password_and_lands_in_the_product(client, team):
    m = services.membership_invite(account=team["account"], email="nina@x.example", by=team["owner"].user)
    page = client.get(link_for(m))
    assert page.status_code == 200 and "Choose a password" in page.content.decode()
    response = client.post(link_for(m), {"name": "Nina", "password": "a-long-fine-password"})
    assert response.status_code == 302 and response["Location"] == "/app/"
    m.refresh_from_db()
    assert m.status == "active" and m.user.email == "nina@x.example" and m.user.check_password("a-long-fine-password")
    assert client.get("/app/").status_code == 200


def test_existing_user_logs_in_then_accepts(client, team):
    services.user_create(email="someone@other.example", password="x")
    m = services.membership_invite(account=team["account"], email="someone@other.example")
    text = client.get(link_for(m)).content.decode()
    assert "Log in to accept" in text
    client.force_login(User.objects.get(email="someone@other.example"))
    assert client.post(link_for(m)).status_code == 302
    m.refresh_from_db()
    assert m.status == "active" and m.user.email == "someone@other.example"
    assert client.session["account_id"] == team["account"].pk


def test_signed_in_as_someone_else_is_told_so(client, team):
    m = services.membership_invite(account=team["account"], email="nina@x.example")
    client.force_login(team["member"].user)
    response = client.post(link_for(m))
    assert "this invitation is for nina@x.example" in response.content.decode()
    m.refresh_from_db()
    assert m.status == "invited"


def test_expired_link(client, team, settings):
    with time_machine.travel(dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)):
        m = services.membership_invite(account=team["account"], email="nina@x.example")
        link = link_for(m)
    with time_machine.travel(
        dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC) + dt.timedelta(days=settings.INVITATION_MAX_AGE_DAYS, seconds=1)
    ):
        response = client.post(link, {"password": "a-long-fine-password"})
    assert response.status_code == 410
    assert "This invitation has expired" in response.content.decode()
    assert f"work for {settings.INVITATION_MAX_AGE_DAYS} days" in response.content.decode()
    m.refresh_from_db()
    assert m.status == "invited" and m.user is None


def test_link_still_works_on_its_last_day(client, team, settings):
    with time_machine.travel(dt.datetime(2026, 11, 1, 12, tzinfo=dt.UTC)):
        m = services.membership_invite(account=team["account"], email="nina@x.example")
        link = link_for(m)
    with time_machine.travel(
        dt.datetime(2026, 11, 1, 11, tzinfo=dt.UTC) + dt.timedelta(days=settings.INVITATION_MAX_AGE_DAYS)
    ):
        assert client.get(link).status_code == 200


def test_reused_link(client, team):
    m = services.membership_invite(account=team["account"], email="nina@x.example")
    link = link_for(m)
    client.post(link, {"password": "a-long-fine-password"})
    client.logout()
    response = client.post(link, {"password": "another-long-password"})
    assert response.status_code == 410
    assert "already been used" in response.content.decode()
    assert User.objects.get(email="nina@x.example").check_password("a-long-fine-password")


def test_tampered_link(client, team):
    m = services.membership_invite(account=team["account"], email="nina@x.example")
    token = services.invitation_token(m)
    response = client.post(f"/invitations/{token[:-2]}xx/", {"password": "a-long-fine-password"})
    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    m.refresh_from_db()
    assert m.status == "invited"


def test_withdrawn_invitation_link_is_dead(client, team):
    m = services.membership_invite(account=team["account"], email="nina@x.example")
    link = link_for(m)
    services.membership_remove_invitation(membership=m)
    assert client.get(link).status_code == 410


def test_weak_password_is_refused_next_to_the_field(client, team):
    m = services.membership_invite(account=team["account"], email="nina@x.example")
    response = client.post(link_for(m), {"password": "short"})
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert not User.objects.filter(email="nina@x.example").exists()
