"""Verify a Prorata licence file. Needs only the standard library and `cryptography`.

An on-premise server can copy this file as is::

    from verify import verify_licence
    licence = verify_licence(open("licence.json", "rb").read(), open("prorata-public-key.pem", "rb").read())

A licence file is one line of canonical JSON (sorted keys, no spaces, ASCII) and a newline::

    {"licence":{...},"signature":"<base64 Ed25519 signature of the canonical JSON of licence>"}

Anything that is not byte for byte that canonical form is refused, so a licence with any
byte changed fails verification, even where JSON or base64 would tolerate the change.
"""

import base64
import binascii
import json
from datetime import UTC, date, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

FORMAT = "prorata-licence/1"


class LicenceInvalid(ValueError):
    """The file is not a licence signed by the given key, or it was changed."""


class LicenceExpired(LicenceInvalid):
    """A genuine licence whose `expires_on` has come."""


def canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def load_public_key(public_key) -> Ed25519PublicKey:
    """A key object, PEM bytes/str, or the base64 of the 32 raw bytes."""
    if isinstance(public_key, Ed25519PublicKey):
        return public_key
    raw = public_key.encode() if isinstance(public_key, str) else bytes(public_key)
    if raw.lstrip().startswith(b"-----BEGIN"):
        key = serialization.load_pem_public_key(raw)
        if not isinstance(key, Ed25519PublicKey):
            raise LicenceInvalid("The public key is not an Ed25519 key.")
        return key
    try:
        return Ed25519PublicKey.from_public_bytes(base64.b64decode(raw.strip(), validate=True))
    except (binascii.Error, ValueError):
        raise LicenceInvalid("The public key is neither PEM nor base64 of 32 bytes.") from None


def verify_licence(data: bytes, public_key, *, today: date | None = None) -> dict:
    """Return the licence dict if `data` is an unmodified licence signed by `public_key` and not expired.

    Raises LicenceInvalid on any tampering or a foreign key, LicenceExpired once `expires_on` has come
    (pass `today=` to check against another day; default: today in UTC).
    """
    key = load_public_key(public_key)
    try:
        document = json.loads(data.decode("ascii"))
        licence, signature = document["licence"], document["signature"]
        signature_bytes = base64.b64decode(signature, validate=True)
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, binascii.Error):
        raise LicenceInvalid("This is not a licence file.") from None
    if not isinstance(licence, dict) or not isinstance(signature, str):
        raise LicenceInvalid("This is not a licence file.")
    # Exactly one encoding is accepted: no spare whitespace, key order, escapes or base64 variants.
    if base64.b64encode(signature_bytes).decode() != signature or data != canonical(document) + b"\n":
        raise LicenceInvalid("The licence file was changed.")
    try:
        key.verify(signature_bytes, canonical(licence))
    except InvalidSignature:
        raise LicenceInvalid("The licence signature does not match: it was changed or signed by another key.") from None
    if licence.get("format") != FORMAT:
        raise LicenceInvalid(f"Unknown licence format {licence.get('format')!r}.")
    try:
        expires_on = date.fromisoformat(licence["expires_on"])
    except (KeyError, TypeError, ValueError):
        raise LicenceInvalid("The licence has no expiry date.") from None
    if (today or datetime.now(UTC).date()) >= expires_on:
        raise LicenceExpired(f"The licence expired on {expires_on.isoformat()}.")
    return licence


def verify_licence_document(document: dict, public_key, *, today: date | None = None) -> dict:
    """The same check for a licence received as parsed JSON (the online activation's answer)."""
    return verify_licence(canonical(document) + b"\n", public_key, today=today)
