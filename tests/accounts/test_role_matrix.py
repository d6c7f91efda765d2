"""Every settings view × every role → the expected status (SPEC §1). Adding a page is one line."""

from datetime import date

import pytest
from django.urls import Resolver404, resolve

from subscriptions.services import subscription_create
from tests.builders import make_plan

ROLES = ["owner", "admin", "billing_admin", "member", "none", "anonymous"]

#                                      owner admin billing member none anonymous
MATRIX = {
    "/settings/": (200, 200, 200, 200, 403, 302),
    "/settings/members/": (200, 200, 403, 403, 403, 302),
    "/settings/subscription/": (200, 200, 200, 403, 403, 302),
    "/settings/invoices/": (200, 200, 200, 403, 403, 302),
    "/settings/invoices/next.pdf": (200, 200, 200, 403, 403, 302),
    "/settings/payment-method/": (200, 200, 200, 403, 403, 302),
    "/settings/billing-details/": (200, 200, 200, 403, 403, 302),
    "/settings/subscription/cycle/": (200, 200, 200, 403, 403, 302),
    "/settings/subscription/plan/": (200, 200, 200, 403, 403, 302),
    "/settings/subscription/cancel/": (200, 200, 200, 403, 403, 302),
    # Licences are part of the subscription (its ID, seats, servers): billing admins read them, only
    # owner and admins download an offline activation (tests/licensing/test_pages.py).
    "/settings/licences/": (200, 200, 200, 403, 403, 302),
    "/settings/api-keys/": (200, 200, 403, 403, 403, 302),
    "/app/": (200, 200, 200, 200, 403, 302),
}
# Pages whose every role sees the same thing.
PUBLIC = ["/settings/licences/public-key.pem"]


@pytest.fixture(autouse=True)
def subscribed(team, settings):
    """The team's account pays for a monthly plan, so every subscription page has something to show."""
    settings.LICENCE_SIGNING_KEY = "A" * 43 + "="
    return subscription_create(account=team["account"], plan=make_plan(), cycle="monthly", on=date.today())


@pytest.mark.parametrize("url", MATRIX)
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(as_role, url, role):
    try:
        resolve(url)
    except Resolver404:
        pytest.skip(f"{url} is not built yet")
    expected = MATRIX[url][ROLES.index(role)]
    response = as_role(role).get(url)
    assert response.status_code == expected, f"{role} on {url}"
    if expected == 302:
        assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("url", ["/settings/members/", "/settings/subscription/", "/settings/invoices/"])
def test_forbidden_page_names_owner_and_admins(as_role, team, url):
    try:
        resolve(url)
    except Resolver404:
        pytest.skip(f"{url} is not built yet")
    response = as_role("member").get(url)
    assert response.status_code == 403
    text = response.content.decode()
    assert "olga@acme.example" in text and "Olga Owner" in text
    assert "admin@acme.example" in text
    assert "billing_admin@acme.example" not in text, "billing admins cannot help with members"


def test_role_none_sees_locked_door_on_the_product(as_role):
    response = as_role("none").get("/app/")
    assert response.status_code == 403
    assert "This door is locked" in response.content.decode()


def test_settings_index_shows_only_links_the_role_may_use(as_role):
    def links(role):
        text = as_role(role).get("/settings/").content.decode()
        names = ("subscription", "members", "invoices", "billing-details", "licences", "api-keys")
        return {name for name in names if f"/settings/{name}/" in text}

    everything = {"subscription", "members", "invoices", "billing-details", "licences", "api-keys"}
    assert links("owner") == everything
    assert links("admin") == everything
    assert links("billing_admin") == {"subscription", "invoices", "billing-details", "licences"}
    assert links("member") == set()


@pytest.mark.parametrize("url", PUBLIC)
@pytest.mark.parametrize("role", ROLES)
def test_public_settings_pages_open_to_everyone(as_role, url, role):
    assert as_role(role).get(url).status_code == 200


@pytest.mark.parametrize("url", ["/settings/", "/app/"])
def test_member_never_sees_a_billing_link(as_role, url):
    response = as_role("member").get(url)
    assert response.status_code == 200
    text = response.content.decode()
    billing = ["/settings/subscription/", "/settings/invoices/", "/settings/payment-method/", "/settings/licences/"]
    assert [link for link in billing if f'href="{link}' in text] == []
    assert "/settings/members/" not in text and "/settings/api-keys/" not in text
