"""Who may do what (SPEC §1), answered in one place."""

from accounts.models import Membership

Role = Membership.Role

BILLING_ROLES = frozenset({Role.OWNER, Role.ADMIN, Role.BILLING_ADMIN})
MEMBER_MANAGERS = frozenset({Role.OWNER, Role.ADMIN})

# Which roles each role may hand out.
GRANTABLE = {
    Role.OWNER: frozenset({Role.ADMIN, Role.BILLING_ADMIN, Role.MEMBER, Role.NONE}),
    Role.ADMIN: frozenset({Role.ADMIN, Role.BILLING_ADMIN, Role.MEMBER, Role.NONE}),
}


def can_use_product(membership: Membership | None) -> bool:
    return membership is not None and membership.status == Membership.Status.ACTIVE and membership.role != Role.NONE


def can_manage_billing(membership: Membership | None) -> bool:
    return _active(membership) and membership.role in BILLING_ROLES


def can_manage_members(membership: Membership | None) -> bool:
    return _active(membership) and membership.role in MEMBER_MANAGERS


def can_grant(membership: Membership | None, role: str) -> bool:
    return _active(membership) and role in GRANTABLE.get(membership.role, frozenset())


def can_transfer_ownership(membership: Membership | None) -> bool:
    return _active(membership) and membership.role == Role.OWNER


def _active(membership: Membership | None) -> bool:
    return membership is not None and membership.status == Membership.Status.ACTIVE
