"""Sign → verify round trip, tampering and expiry (SPEC §2.7)."""

import json
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from licensing import keys
from licensing.services import licence_sign
from licensing.verify import LicenceExpired, LicenceInvalid, canonical, verify_licence, verify_licence_document

SMALL = {
    "format": "prorata-licence/1",
    "subscription_id": "sub_x",
    "seats": 3,
    "licensed_users": [{"id": 1}],
    "instance_id": "srv-1",
    "issued_at": "2026-11-15T00:00:00Z",
    "expires_on": "2026-12-22",
}
BEFORE = date(2026, 12, 21)


@pytest.fixture
def signed(signing_key):
    return licence_sign(SMALL)


def test_round_trip_returns_the_licence(signed):
    assert verify_licence(signed, keys.public_key_pem(), today=BEFORE) == SMALL
    assert verify_licence(signed, keys.public_key_base64(), today=BEFORE) == SMALL


def test_parsed_document_verifies_too(signed):
    assert verify_licence_document(json.loads(signed), keys.public_key_pem(), today=BEFORE)["seats"] == 3


def test_every_single_byte_change_is_rejected(signed):
    public = keys.public_key_pem()
    assert len(signed) < 400
    for i in range(len(signed)):
        for flip in (0x01, 0x20, 0x80):
            tampered = signed[:i] + bytes([signed[i] ^ flip]) + signed[i + 1 :]
            with pytest.raises(LicenceInvalid):
                verify_licence(tampered, public, today=BEFORE)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255))
def test_any_byte_replaced_by_any_value_is_rejected(signed, position, value):
    i = position % len(signed)
    if signed[i] == value:
        return
    tampered = signed[:i] + bytes([value]) + signed[i + 1 :]
    with pytest.raises(LicenceInvalid):
        verify_licence(tampered, keys.public_key_pem(), today=BEFORE)


def test_edited_and_re_serialised_licence_is_rejected(signed):
    doc = json.loads(signed)
    doc["licence"]["seats"] = 300
    with pytest.raises(LicenceInvalid, match="signature"):
        verify_licence(canonical(doc) + b"\n", keys.public_key_pem(), today=BEFORE)


def test_another_key_is_rejected(signed, settings):
    settings.LICENCE_SIGNING_KEY = keys.generate()
    with pytest.raises(LicenceInvalid, match="signature"):
        verify_licence(signed, keys.public_key_pem(), today=BEFORE)


def test_expiry_is_honoured(signed):
    # expires_on 2026-12-22 is the first day it no longer works.
    assert verify_licence(signed, keys.public_key_pem(), today=date(2026, 12, 21))
    with pytest.raises(LicenceExpired, match="2026-12-22"):
        verify_licence(signed, keys.public_key_pem(), today=date(2026, 12, 22))


def test_default_today_is_utc(signed):
    now = datetime.now(UTC).date()
    with pytest.raises(LicenceExpired):
        verify_licence(licence_sign({**SMALL, "expires_on": now.isoformat()}), keys.public_key_pem())


def test_pem_private_key_is_accepted(settings):
    from cryptography.hazmat.primitives import serialization

    private = keys.private_key()
    settings.LICENCE_SIGNING_KEY = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    assert verify_licence(licence_sign(SMALL), keys.public_key_pem(), today=BEFORE) == SMALL


def test_an_activated_licence_carries_the_plans_entitlements_under_its_signature(subscription):
    from licensing.services import activation_activate
    from subscriptions.models import PlanEntitlement

    PlanEntitlement.objects.create(plan=subscription.plan, key="time_tracking")
    PlanEntitlement.objects.create(plan=subscription.plan, key="max_projects", limit=50)
    _, signed = activation_activate(subscription_id=subscription.public_id, instance_id="srv-1")
    licence = verify_licence(signed, keys.public_key_pem(), today=date(2026, 11, 16))
    assert licence["entitlements"] == [{"key": "max_projects", "limit": 50}, {"key": "time_tracking", "limit": None}]
    tampered = signed.replace(b'"limit":50', b'"limit":99')
    with pytest.raises(LicenceInvalid):
        verify_licence(tampered, keys.public_key_pem(), today=date(2026, 11, 16))
