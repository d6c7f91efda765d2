"""Settings › Licences (offline activation file), Settings › API keys and the admin's offline licence."""

import json

import pytest
from django.test import Client

from accounts.models import Membership, User
from api.models import ApiKey
from licensing import keys
from licensing.models import Activation
from licensing.verify import verify_licence
from tests.builders import verified_login

from .conftest import DAY


@pytest.fixture
def owner_client(owner_account):
    client = Client()
    client.force_login(owner_account[0])
    return client


def member_client(account, role):
    user = User.objects.create_user(email=f"{role}@example.com", password="pw long enough 1")
    Membership.objects.create(account=account, user=user, email=user.email, role=role, status="active")
    client = Client()
    client.force_login(user)
    return client


def test_licences_page_shows_id_holders_and_servers(subscription, owner_client):
    page = owner_client.get("/settings/licences/").content.decode()
    assert subscription.public_id in page
    assert "ana@example.com" in page
    assert "Offline activation" in page


def test_offline_activation_downloads_a_signed_file(subscription, owner_client):
    response = owner_client.post("/settings/licences/offline/", {"instance_id": "srv-9"})
    assert response.status_code == 200
    assert "prorata-licence-srv-9.json" in response["Content-Disposition"]
    licence = verify_licence(response.content, keys.public_key_pem(), today=DAY)
    assert (licence["instance_id"], licence["kind"]) == ("srv-9", "offline")
    refused = owner_client.post("/settings/licences/offline/", {"instance_id": "srv-10"})
    assert refused.status_code == 400
    assert "allows 1 server" in refused.content.decode()
    activation = Activation.objects.get()
    assert owner_client.post(f"/settings/licences/activations/{activation.pk}/deactivate/").status_code == 302
    assert owner_client.post("/settings/licences/offline/", {"instance_id": "srv-10"}).status_code == 200


def test_billing_admin_sees_licences_but_cannot_download(subscription, account):
    client = member_client(account, "billing_admin")
    assert client.get("/settings/licences/").status_code == 200
    assert "Offline activation" not in client.get("/settings/licences/").content.decode()
    assert client.post("/settings/licences/offline/", {"instance_id": "srv-1"}).status_code == 403
    assert member_client(account, "member").get("/settings/licences/").status_code == 403


def test_api_key_is_shown_once_then_only_its_prefix(subscription, owner_client):
    created = owner_client.post("/settings/api-keys/", {"name": "HR system", "role": "billing_admin"})
    key = ApiKey.objects.get()
    page = created.content.decode()
    secret = page.split('<code id="new-key">')[1].split("</code>")[0]
    assert secret.startswith(key.prefix)
    listing = owner_client.get("/settings/api-keys/").content.decode()
    assert key.prefix in listing and secret not in listing
    assert owner_client.post(f"/settings/api-keys/{key.pk}/revoke/").status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    bad = owner_client.post("/settings/api-keys/", {"name": "", "role": "member"})
    assert bad.status_code == 400


def test_only_owner_and_admin_manage_api_keys(subscription, account):
    assert member_client(account, "billing_admin").get("/settings/api-keys/").status_code == 403
    assert member_client(account, "admin").get("/settings/api-keys/").status_code == 200


def test_public_key_pem_download(signing_key, client):
    response = client.get("/settings/licences/public-key.pem")
    assert response.content.decode() == keys.public_key_pem()


def test_support_issues_an_offline_licence_in_the_admin(subscription, db):
    staff = User.objects.create_superuser(email="support@example.com", password="pw long enough 1")
    client = Client()
    verified_login(client, staff)
    assert "Issue offline licence" in client.get("/admin/licensing/activation/").content.decode()
    response = client.post(
        "/admin/licensing/activation/offline/", {"subscription_id": subscription.public_id, "instance_id": "srv-7"}
    )
    assert response.status_code == 200
    assert json.loads(response.content)["licence"]["instance_id"] == "srv-7"
    unknown = client.post("/admin/licensing/activation/offline/", {"subscription_id": "sub_x", "instance_id": "a"})
    assert "No subscription has this ID" in unknown.content.decode()


def test_members_page_shows_who_holds_a_licence(subscription, owner_client, account):
    Membership.objects.create(account=account, email="none@example.com", role="none", status="active")
    page = owner_client.get("/settings/members/").content.decode()
    assert page.count(">Licensed<") == 2  # owner and ana; the role-none member holds none


def test_settings_links_to_licences_and_api_keys(subscription, owner_client):
    page = owner_client.get("/settings/").content.decode()
    assert 'href="/settings/licences/"' in page and 'href="/settings/api-keys/"' in page


def test_subscription_page_shows_the_subscription_id(subscription, owner_client):
    assert subscription.public_id in owner_client.get("/settings/subscription/").content.decode()
