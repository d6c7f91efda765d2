"""API keys, session auth, roles, the error shape, locked/expired accounts and rate limits."""

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Membership
from api.keys import api_key_authenticate, api_key_create, api_key_revoke
from api.models import ApiKey
from api.throttling import ApiKeyRateThrottle
from common.errors import Refused

from .conftest import DAY, error_of


def test_key_is_shown_once_and_only_its_hash_is_stored(account, owner):
    key, secret = api_key_create(account=account, name="HR system", role="member", by=owner)
    assert secret.startswith(key.prefix + "_")
    assert secret not in (key.hashed, key.prefix)
    assert len(key.hashed) == 64
    assert not ApiKey.objects.filter(hashed=secret).exists()
    assert api_key_authenticate(secret) == key
    assert ApiKey.objects.get().last_used_at is not None


def test_only_owner_or_admin_create_and_revoke_keys(account, owner):
    billing = Membership.objects.create(account=account, email="b@example.com", role="billing_admin", status="active")
    with pytest.raises(Refused):
        api_key_create(account=account, name="x", role="member", by=billing)
    key, _ = api_key_create(account=account, name="x", role="admin", by=owner)
    with pytest.raises(Refused):
        api_key_revoke(api_key=key, by=billing)
    with pytest.raises(Refused, match="name"):
        api_key_create(account=account, name=" ", role="member", by=owner)
    with pytest.raises(Refused, match="Choose"):
        api_key_create(account=account, name="x", role="owner", by=owner)


def test_no_credentials_is_401(subscription):
    response = APIClient().get("/api/v1/subscription")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Bearer"


def test_wrong_and_revoked_keys_are_401(subscription, account, owner):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer prk_00000000_nope")
    assert error_of(client.get("/api/v1/subscription"))["code"] == "authentication_failed"
    key, secret = api_key_create(account=account, name="x", role="admin", by=owner)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/subscription").status_code == 200
    api_key_revoke(api_key=key, by=owner)
    response = client.get("/api/v1/subscription")
    assert response.status_code == 401
    assert "revoked" in error_of(response)["message"]


ENDPOINTS = [
    ("/api/v1/subscription", {"admin": 200, "billing_admin": 200, "member": 403}),
    ("/api/v1/members", {"admin": 200, "billing_admin": 403, "member": 403}),
    ("/api/v1/invoices", {"admin": 200, "billing_admin": 200, "member": 403}),
    ("/api/v1/credit-notes", {"admin": 200, "billing_admin": 200, "member": 403}),
    ("/api/v1/licences", {"admin": 200, "billing_admin": 200, "member": 403}),
]


@pytest.mark.parametrize(("path", "expected"), ENDPOINTS)
@pytest.mark.parametrize("role", ["admin", "billing_admin", "member"])
def test_read_endpoints_by_role(subscription, client_for, path, expected, role):
    response = client_for(role).get(path)
    assert response.status_code == expected[role], response.content
    if response.status_code == 403:
        assert error_of(response)["code"] == "permission_denied"


WRITES = [
    ("/api/v1/members", {"email": "new@example.com"}, {"admin": 201, "billing_admin": 403, "member": 403}),
    ("/api/v1/subscription/cancel?preview=1", {}, {"admin": 200, "billing_admin": 200, "member": 403}),
    ("/api/v1/subscription/cycle?preview=1", {"cycle": "annual"}, {"admin": 200, "billing_admin": 200, "member": 403}),
]


@pytest.mark.parametrize(("path", "body", "expected"), WRITES)
@pytest.mark.parametrize("role", ["admin", "billing_admin", "member"])
def test_write_endpoints_by_role(subscription, client_for, path, body, expected, role):
    response = client_for(role).post(path, body, format="json")
    assert response.status_code == expected[role], response.content


def test_session_auth_works_for_the_browser_and_needs_csrf(subscription, owner_and_account):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(owner_and_account[0])
    assert client.get("/api/v1/subscription").json()["subscription_id"] == subscription.public_id
    response = client.post("/api/v1/subscription/cancel", {}, format="json")
    assert response.status_code == 403
    assert "CSRF" in error_of(response)["message"]


def test_session_of_role_none_is_locked_out(subscription, account):
    from accounts.models import User

    user = User.objects.create_user(email="none@example.com", password="pw long enough 1")
    Membership.objects.create(account=account, user=user, email=user.email, role="none", status="active")
    client = APIClient()
    client.force_login(user)
    response = client.get("/api/v1/subscription")
    assert response.status_code == 403
    assert error_of(response)["code"] == "door_locked"


def test_validation_error_names_the_field(subscription, api):
    response = api.post("/api/v1/subscription/cycle", {"cycle": "weekly"}, format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert error["field"] == "cycle"
    assert error["code"] == "invalid_choice"


def test_refusal_from_a_service_has_its_message_and_field(subscription, api):
    # The Team plan's seats follow members: the service refuses a bought seat count.
    response = api.post("/api/v1/subscription/seats", {"seats": 5}, format="json")
    assert response.status_code == 409  # valid input, refused by the account's state
    error = error_of(response)
    assert "follow your members" in error["message"]
    assert error["field"] == "seats"


def test_not_found_has_the_error_shape(subscription, api):
    response = api.get("/api/v1/invoices/INV-1999-000001")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_no_subscription_is_404(account, api):
    response = api.get("/api/v1/subscription")
    assert response.status_code == 404
    assert error_of(response)["code"] == "no_subscription"


def test_locked_account_pays_first_but_billing_roles_read_invoices(subscription, account, client_for):
    account.locked_on = DAY
    account.save()
    admin, billing, member = client_for("admin"), client_for("billing_admin"), client_for("member")
    response = admin.get("/api/v1/subscription")
    assert response.status_code == 402
    assert error_of(response)["code"] == "account_locked"
    assert admin.post("/api/v1/members", {"email": "x@example.com"}, format="json").status_code == 402
    assert billing.get("/api/v1/invoices").status_code == 200
    number = billing.get("/api/v1/invoices").json()["results"][0]["number"]
    assert billing.get(f"/api/v1/invoices/{number}").status_code == 200
    assert member.get("/api/v1/invoices").status_code == 402


def test_expired_subscription_is_403_with_a_clear_body(subscription, client_for):
    subscription.status = "expired"
    subscription.expired_on = DAY
    subscription.save()
    response = client_for("admin").get("/api/v1/members")
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "subscription_expired"
    assert "reactivate" in error["message"]
    assert client_for("billing_admin").get("/api/v1/invoices").status_code == 200


def test_rate_limit_per_key_answers_429_with_retry_after(subscription, client_for, monkeypatch):
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "3/min"})
    first, second = client_for("admin"), client_for("admin")
    codes = [first.get("/api/v1/subscription").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    response = first.get("/api/v1/subscription")
    assert error_of(response)["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60
    assert second.get("/api/v1/subscription").status_code == 200  # each key has its own budget


def test_last_used_is_recorded(subscription, api):
    api.get("/api/v1/subscription")
    key = ApiKey.objects.get()
    assert key.last_used_at is not None
    assert (timezone.now() - key.last_used_at).total_seconds() < 60


MEMBER_ACTIONS = [("archive", {}), ("reactivate", {}), ("role", {"role": "billing_admin"})]


@pytest.mark.parametrize("role", ["admin", "billing_admin", "member"])
def test_member_actions_by_role(subscription, account, client_for, role):
    ana = account.memberships.get(email="ana@example.com")
    client = client_for(role)
    codes = [
        client.post(f"/api/v1/members/{ana.pk}/{action}", body, format="json").status_code
        for action, body in MEMBER_ACTIONS
    ]
    assert codes == ([200, 200, 200] if role == "admin" else [403, 403, 403])
    assert client.get(f"/api/v1/members/{ana.pk}").status_code == (200 if role == "admin" else 403)


@pytest.mark.parametrize("role", ["admin", "billing_admin", "member"])
def test_document_reads_by_role(subscription, client_for, role):
    from invoicing.models import Invoice

    number = Invoice.objects.get().number
    client = client_for(role)
    expected = 403 if role == "member" else 200
    assert client.get(f"/api/v1/invoices/{number}").status_code == expected
    assert client.get(f"/api/v1/invoices/{number}/pdf").status_code == expected


@pytest.mark.parametrize("role", ["admin", "billing_admin", "member"])
def test_subscription_changes_by_role(subscription, client_for, role):
    client = client_for(role)
    seats = client.post("/api/v1/subscription/seats", {"seats": 3}, format="json")
    undo = client.post("/api/v1/subscription/undo-cancel")
    if role == "member":
        assert (seats.status_code, undo.status_code) == (403, 403)
    else:  # allowed, then refused by the rules: auto seats, nothing to undo
        assert (seats.status_code, undo.status_code) == (409, 409)
        assert error_of(undo)["message"] == "This subscription is not canceled."


def test_admin_key_cannot_hand_out_owner(subscription, api, account):
    ana = account.memberships.get(email="ana@example.com")
    response = api.post(f"/api/v1/members/{ana.pk}/role", {"role": "owner"}, format="json")
    assert response.status_code == 400
    assert error_of(response)["field"] == "role"


def test_rate_limit_counters_can_live_in_the_database_for_several_workers(subscription, api, monkeypatch, settings):
    """CACHE_URL=dbcache://…: every worker reads and writes the same counters (the production default)."""
    from django.core.cache.backends.db import DatabaseCache
    from django.core.management import call_command

    local = settings.CACHES
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "test_cache"}}
    call_command("createcachetable")
    monkeypatch.setattr(ApiKeyRateThrottle, "THROTTLE_RATES", {"api_key": "3/min"})
    assert [api.get("/api/v1/subscription").status_code for _ in range(3)] == [200, 200, 200]
    another_worker = DatabaseCache("test_cache", {})
    assert len(another_worker.get(f"throttle_api_key_key:{ApiKey.objects.get().pk}")) == 3  # three timestamps
    assert api.get("/api/v1/subscription").status_code == 429
    settings.CACHES = local  # before the API tests' teardown clears the cache


def test_a_refusal_stays_english_whatever_accept_language_asks(subscription, api):
    response = api.post("/api/v1/subscription/undo-cancel", HTTP_ACCEPT_LANGUAGE="de")

    assert error_of(response)["message"] == "This subscription is not canceled."
    assert response["Content-Language"] == "en"
