"""Every settings view × every role → the expected status (SPEC §1). Adding a page is one line."""

import pytest
from django.urls import Resolver404, resolve

ROLES = ["owner", "admin", "billing_admin", "member", "none", "anonymous"]

#                                      owner admin billing member none anonymous
MATRIX = {
    "/settings/": (200, 200, 200, 200, 403, 302),
    "/settings/members/": (200, 200, 403, 403, 403, 302),
    "/settings/subscription/": (200, 200, 200, 403, 403, 302),
    "/settings/invoices/": (200, 200, 200, 403, 403, 302),
    "/app/": (200, 200, 200, 200, 403, 302),
}


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
        return {name for name in ("subscription", "members", "invoices") if f"/settings/{name}/" in text}

    assert links("owner") == {"subscription", "members", "invoices"}
    assert links("admin") == {"subscription", "members", "invoices"}
    assert links("billing_admin") == {"subscription", "invoices"}
    assert links("member") == set()
