"""Per-account API keys (SPEC §3): created and revoked by an owner or admin, shown once, stored as a hash."""

import hashlib
import secrets

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from accounts import permissions
from accounts.models import Account, Membership
from api.models import ApiKey
from common.errors import Refused

KEY_PREFIX = "prk_"


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, account: Account, name: str, role: str, by: Membership) -> tuple[ApiKey, str]:
    """A new key acting as `account` with `role`; returns the key and its secret, which is never shown again."""
    if not permissions.can_manage_members(by) or by.account_id != account.pk:
        raise Refused(gettext("Only the owner or an admin can create API keys."), code="permission_denied")
    name = (name or "").strip()
    if not name:
        raise Refused(gettext("Give the key a name, e.g. the system that will use it."), field="name")
    if len(name) > 100:
        raise Refused(gettext("Keep the name under 100 characters."), field="name")
    if role not in ApiKey.Role.values:
        raise Refused(gettext("Choose admin, billing admin or member."), field="role")
    public = secrets.token_hex(4)
    raw = f"{KEY_PREFIX}{public}_{secrets.token_urlsafe(32)}"
    key = ApiKey.objects.create(
        account=account, name=name, role=role, prefix=f"{KEY_PREFIX}{public}", hashed=_hash(raw), created_by=by.user
    )
    return key, raw


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, by: Membership) -> ApiKey:
    """Revoke a key at once; requests with it are refused from now on."""
    if not permissions.can_manage_members(by) or by.account_id != api_key.account_id:
        raise Refused(gettext("Only the owner or an admin can revoke API keys."), code="permission_denied")
    key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if key.revoked_at is not None:
        raise Refused(gettext("%(name)s is already revoked.") % {"name": key.name})
    key.revoked_at, key.revoked_by = timezone.now(), by.user
    key.save(update_fields=["revoked_at", "revoked_by"])
    return key


def api_key_authenticate(raw: str) -> ApiKey | None:
    """The live key with this secret, or None; records when it was last used (at most once a minute)."""
    if not raw or not raw.startswith(KEY_PREFIX) or len(raw) > 200:
        return None
    key = ApiKey.objects.select_related("account").filter(hashed=_hash(raw), revoked_at__isnull=True).first()
    if key is None:
        return None
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key
