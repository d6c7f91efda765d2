"""View guards built on accounts.permissions; every view uses one of these."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.db.models import Case, Value, When
from django.shortcuts import render

from accounts import permissions
from accounts.models import Membership

# Owner, then admins, then billing admins: the order people would ask them in.
OWNER_FIRST = Case(
    *(When(role=role, then=Value(rank)) for rank, role in enumerate(Membership.Role.values)), default=Value(9)
)


def helpers_for(account):
    """Who a member can ask: the account's owner and admins."""
    return (
        Membership.objects.filter(
            account=account, status=Membership.Status.ACTIVE, role__in=[Membership.Role.OWNER, Membership.Role.ADMIN]
        )
        .select_related("user")
        .order_by(OWNER_FIRST, "email")
    )


def allowed_elsewhere(request, check) -> list[Membership]:
    """The person's other accounts where `check` passes: a 403 offers to switch to them."""
    others = (
        Membership.objects.select_related("account")
        .filter(user=request.user)
        .exclude(status=Membership.Status.ARCHIVED)
        .exclude(account=request.account)
        .order_by("account__name")
    )
    return [m for m in others if m.role != Membership.Role.NONE and check(m)]


def forbidden(request, what: str, check=None):
    return render(
        request,
        "accounts/forbidden.html",
        {
            "what": what,
            "helpers": helpers_for(request.account) if request.account else [],
            "elsewhere": allowed_elsewhere(request, check) if check is not None else [],
        },
        status=403,
    )


def refusal(request, check, what):
    """The page for a signed-in person whose membership fails `check`, or None."""
    if request.account is None:
        return render(request, "accounts/no_account.html", status=403)
    if request.membership.role == Membership.Role.NONE:
        return render(request, "accounts/door_locked.html", {"helpers": helpers_for(request.account)}, status=403)
    if not check(request.membership):
        return forbidden(request, what, check)
    return None


def _guard(check, what):
    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            return refusal(request, check, what) or view(request, *args, **kwargs)

        return wrapped

    return decorator


billing_required = _guard(permissions.can_manage_billing, "billing")
members_required = _guard(permissions.can_manage_members, "members")
settings_required = _guard(lambda m: m.status == Membership.Status.ACTIVE, "settings")


def billing_helpers_for(account):
    """Who can pay an invoice: the account's owner, admins and billing admins."""
    return (
        Membership.objects.filter(account=account, status=Membership.Status.ACTIVE, role__in=permissions.BILLING_ROLES)
        .select_related("user")
        .order_by(OWNER_FIRST, "email")
    )
