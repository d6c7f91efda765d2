"""The licence signing key (SPEC §2.7): Ed25519, from the environment, never committed."""

import base64
import binascii

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def generate() -> str:
    """A new private key as base64 of its 32 raw bytes (the LICENCE_SIGNING_KEY format)."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    return base64.b64encode(raw).decode()


def parse_private_key(value: str) -> Ed25519PrivateKey:
    value = value.strip()
    if value.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(value.replace("\\n", "\n").encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ImproperlyConfigured("LICENCE_SIGNING_KEY is a PEM key but not an Ed25519 one.")
        return key
    try:
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(value, validate=True))
    except (binascii.Error, ValueError):
        raise ImproperlyConfigured("LICENCE_SIGNING_KEY must be base64 of 32 raw bytes or a PEM key.") from None


def private_key() -> Ed25519PrivateKey:
    if not settings.LICENCE_SIGNING_KEY:
        raise ImproperlyConfigured(
            "LICENCE_SIGNING_KEY is not set. Run `python manage.py licence_keygen` (development) "
            "or set it in the environment."
        )
    return parse_private_key(settings.LICENCE_SIGNING_KEY)


def public_key_pem() -> str:
    return (
        private_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def public_key_base64() -> str:
    raw = private_key().public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()
