"""Settings › Members at size: 50 people a page (owner first, archived last, then by email), a search
over name and email, and the same number of queries whatever the size."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.views import MEMBERS_PER_PAGE


def emails_on(response) -> list[str]:
    """The emails of the member rows, in order, as the page shows them."""
    html = response.content.decode()
    rows = re.findall(r'<tr id="member-\d+">(.*?)</tr>', html, flags=re.S)
    return [re.search(r"[\w.+-]+@[\w.-]+", row).group(0) for row in rows]


@pytest.fixture
def owner(as_role):
    return as_role("owner")


@pytest.fixture
def crowd(team):
    """The team (5 people) plus 60 invited people and one archived member: 65 in all."""
    account = team["account"]
    services.membership_invite_many(account=account, emails=[f"p{n:02}@crowd.example" for n in range(60)])
    services.membership_archive(membership=team["member"])
    return account


def test_first_page_has_50_people_the_owner_first(owner, crowd):
    response = owner.get("/settings/members/")
    shown = emails_on(response)
    assert len(shown) == MEMBERS_PER_PAGE == 50
    assert shown[0] == "olga@acme.example"  # the owner, whatever her email sorts as
    assert shown[1:] == sorted(shown[1:])
    assert "1–50 of 65" in response.content.decode()
    assert "Page 1 of 2" in response.content.decode()


def test_second_page_has_the_rest_and_the_archived_member_last(owner, crowd):
    response = owner.get("/settings/members/?page=2")
    shown = emails_on(response)
    assert len(shown) == 65 - 50
    assert shown[-1] == "member@acme.example"  # archived: last of all
    first_page = emails_on(owner.get("/settings/members/"))
    assert not set(first_page) & set(shown)


@pytest.mark.parametrize("page", ["abc", "0", "-1", "999", ""])
def test_a_page_out_of_range_shows_a_real_page(owner, crowd, page):
    response = owner.get(f"/settings/members/?page={page}")
    assert response.status_code == 200
    assert len(emails_on(response)) in (50, 15)


def test_search_by_email_or_name(owner, crowd):
    by_email = owner.get("/settings/members/?q=p1")  # p10 … p19
    assert emails_on(by_email) == [f"p{n}@crowd.example" for n in range(10, 20)]
    assert "1–10 of 10 matching “p1”" in by_email.content.decode()
    by_name = owner.get("/settings/members/?q=billing+ADMIN")  # the user's name "Billing Admin"
    assert emails_on(by_name) == ["billing_admin@acme.example"]
    nobody = owner.get("/settings/members/?q=zzz")
    assert emails_on(nobody) == [] and "Nobody matches “zzz”." in nobody.content.decode()


def test_search_keeps_its_query_in_the_page_links(owner, crowd):
    response = owner.get("/settings/members/?q=crowd")
    assert "?q=crowd&amp;page=2" in response.content.decode()
    assert len(emails_on(owner.get("/settings/members/?q=crowd&page=2"))) == 10


def test_query_count_is_the_same_with_66_or_266_people(owner, crowd):
    def count():
        with CaptureQueriesContext(connection) as queries:
            assert owner.get("/settings/members/?page=2").status_code == 200
        return len(queries)

    few = count()
    services.membership_invite_many(account=crowd, emails=[f"q{n:03}@crowd.example" for n in range(200)])
    assert count() == few
