"""Settings › Members: every action is a POST that calls one service; bad input changes nothing."""

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.models import Membership


def snapshot(account):
    return sorted(Membership.objects.filter(account=account).values_list("email", "role", "status"))


@pytest.fixture
def owner(as_role):
    return as_role("owner")


def test_invite_many_sends_one_email_each(owner, team):
    response = owner.post("/settings/members/invite/", {"emails": "ana@x.example,\nben@x.example", "role": "member"})
    assert response.status_code == 302 and response["Location"] == "/settings/members/"
    invited = Membership.objects.filter(account=team["account"], status="invited")
    assert sorted(invited.values_list("email", flat=True)) == ["ana@x.example", "ben@x.example"]
    assert sorted(m.to[0] for m in mail.outbox) == ["ana@x.example", "ben@x.example"]
    assert "/invitations/" in mail.outbox[0].body
    assert "Invited 2 people" in owner.get("/settings/members/").content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"emails": "member@acme.example", "role": "member"}, "member@acme.example is already in Acme"),
        ({"emails": "new@x.example, not-an-email", "role": "member"}, "“not-an-email” is not an email address"),
        ({"emails": "new@x.example", "role": "owner"}, "Transfer ownership"),
        ({"emails": "new@x.example", "role": "emperor"}, "Select a valid choice"),
    ],
)
def test_bad_invite_changes_nothing_and_says_why(owner, team, data, message):
    before = snapshot(team["account"])
    response = owner.post("/settings/members/invite/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert snapshot(team["account"]) == before
    assert mail.outbox == []


@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("archive", {}, "The owner cannot be archived"),
        ("role", {"role": "member"}, "The owner cannot be demoted"),
    ],
)
def test_owner_cannot_be_archived_or_demoted(as_role, team, action, data, message):
    before = snapshot(team["account"])
    response = as_role("admin").post(f"/settings/members/{team['owner'].pk}/{action}/", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert snapshot(team["account"]) == before


def test_role_the_actor_may_not_grant_is_refused(owner, team):
    before = snapshot(team["account"])
    response = owner.post(f"/settings/members/{team['member'].pk}/role/", {"role": "owner"})
    assert "Transfer ownership" in response.content.decode()
    assert snapshot(team["account"]) == before


@pytest.mark.parametrize("action", ["archive", "reactivate", "role", "remove", "resend", "transfer"])
def test_another_accounts_member_is_404(owner, other_account, action):
    account, stranger = other_account
    before = snapshot(account)
    response = owner.post(f"/settings/members/{stranger.pk}/{action}/", {"role": "admin"})
    assert response.status_code == 404
    assert snapshot(account) == before


def test_archive_reactivate_and_change_role(owner, team):
    pk = team["member"].pk
    assert owner.post(f"/settings/members/{pk}/archive/").status_code == 302
    assert Membership.objects.get(pk=pk).status == "archived"
    assert owner.post(f"/settings/members/{pk}/reactivate/").status_code == 302
    assert Membership.objects.get(pk=pk).status == "active"
    assert owner.post(f"/settings/members/{pk}/role/", {"role": "billing_admin"}).status_code == 302
    assert Membership.objects.get(pk=pk).role == "billing_admin"


def test_withdraw_invitation_only_while_pending(owner, team):
    invited = services.membership_invite(account=team["account"], email="late@x.example")
    assert owner.post(f"/settings/members/{invited.pk}/remove/").status_code == 302
    assert not Membership.objects.filter(pk=invited.pk).exists()
    response = owner.post(f"/settings/members/{team['member'].pk}/remove/")
    assert "has already joined; archive them instead" in response.content.decode()
    assert Membership.objects.get(pk=team["member"].pk).status == "active"


def test_only_the_owner_transfers_ownership(as_role, team):
    response = as_role("admin").post(f"/settings/members/{team['member'].pk}/transfer/")
    assert "Only the owner can transfer ownership" in response.content.decode()
    assert Membership.objects.get(pk=team["owner"].pk).role == "owner"
    response = as_role("owner").post(f"/settings/members/{team['admin'].pk}/transfer/")
    assert response.status_code == 302
    assert Membership.objects.get(pk=team["admin"].pk).role == "owner"
    assert Membership.objects.get(pk=team["owner"].pk).role == "admin"


def test_actions_are_post_only(owner, team):
    assert owner.get(f"/settings/members/{team['member'].pk}/archive/").status_code == 405
    assert Membership.objects.get(pk=team["member"].pk).status == "active"


def test_members_page_query_count_does_not_grow_with_members(owner, team):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert owner.get("/settings/members/").status_code == 200
        return len(queries)

    few = count()
    services.membership_invite_many(account=team["account"], emails=[f"p{n}@x.example" for n in range(8)])
    assert count() == few


def test_a_refused_invitation_reads_in_german_on_a_german_page(owner, team):
    page = owner.post(
        "/settings/members/invite/",
        {"emails": "olga@acme.example", "role": "member"},
        HTTP_ACCEPT_LANGUAGE="de",
        follow=True,
    ).content.decode()

    assert f"olga@acme.example ist bereits in {team['account'].name}." in page
    assert not mail.outbox
