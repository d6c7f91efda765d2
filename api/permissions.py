"""Who is calling and what they may do: the same rules as the pages (accounts.permissions)."""

from dataclasses import dataclass

from rest_framework import exceptions, permissions

from accounts import permissions as rules
from accounts.models import Account, Membership
from api.errors import AccountLocked, SubscriptionExpired
from api.models import ApiKey
from subscriptions.selectors import account_status


@dataclass(frozen=True)
class Actor:
    """The account a request works in and the membership whose role it has.

    For an API key the membership is an unsaved one carrying the key's role.
    """

    account: Account
    membership: Membership
    api_key: ApiKey | None = None

    @property
    def user(self):
        return None if self.api_key else self.membership.user


def actor_of(request) -> Actor | None:
    cached = getattr(request, "_actor", None)
    if cached is not None:
        return cached
    actor = None
    if isinstance(request.auth, ApiKey):
        key = request.auth
        membership = Membership(account=key.account, role=key.role, status=Membership.Status.ACTIVE, email="")
        actor = Actor(account=key.account, membership=membership, api_key=key)
    elif request.user.is_authenticated and getattr(request, "membership", None) is not None:
        actor = Actor(account=request.account, membership=request.membership)
    request._actor = actor
    return actor


def _member_of_an_account(request) -> Actor | None:
    """The request's actor, if any; a signed-in person without an account, or with the role `none`, is refused."""
    actor = actor_of(request)
    if actor is None:
        if request.user.is_authenticated:
            raise exceptions.PermissionDenied("You are not a member of any account.", code="no_account")
        return None
    if actor.membership.role == Membership.Role.NONE:
        raise exceptions.PermissionDenied("This door is locked: your role gives no access.", code="door_locked")
    return actor


class HasAccount(permissions.BasePermission):
    """An API key, or a signed-in member of an account whose role is not `none`.

    Locked accounts get 402 and expired ones 403, except billing roles reading invoices
    (views that set `readable_when_blocked = True`) so they can pay (SPEC §2.5).
    """

    def has_permission(self, request, view):
        actor = _member_of_an_account(request)
        if actor is None:
            return False
        status = account_status(actor.account)
        if status == "active":
            return True
        if (
            getattr(view, "readable_when_blocked", False)
            and request.method in permissions.SAFE_METHODS
            and rules.can_manage_billing(actor.membership)
        ):
            return True
        raise AccountLocked() if status == "locked" else SubscriptionExpired()


class InAnyState(permissions.BasePermission):
    """An API key or member (role not `none`) of an account, whatever its state: locked and expired included.

    For `GET /api/v1/account`, the one call that tells the product the account is blocked.
    """

    def has_permission(self, request, view):
        return _member_of_an_account(request) is not None


class _Role(permissions.BasePermission):
    check = staticmethod(lambda membership: False)
    message = ""

    def has_permission(self, request, view):
        actor = actor_of(request)
        if actor is not None and not self.check(actor.membership):
            raise exceptions.PermissionDenied(self.message, code="permission_denied")
        return actor is not None


class CanManageBilling(_Role):
    check = staticmethod(rules.can_manage_billing)
    message = "Only the owner, an admin or a billing admin can see billing: ask one of them."


class CanManageMembers(_Role):
    check = staticmethod(rules.can_manage_members)
    message = "Only the owner or an admin can manage members: ask one of them."
