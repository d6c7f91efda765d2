"""View guards built on accounts.permissions; every view uses one of these."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts import permissions
from accounts.models import Membership


def helpers_for(account):
    """Who a member can ask: the account's owner and admins."""
    return (
        Membership.objects.filter(
            account=account, status=Membership.Status.ACTIVE, role__in=[Membership.Role.OWNER, Membership.Role.ADMIN]
        )
        .select_related("user")
        .order_by("role", "email")
    )


def forbidden(request, what: str):
    return render(
        request,
        "accounts/forbidden.html",
        {"what": what, "helpers": helpers_for(request.account) if request.account else []},
        status=403,
    )


def _guard(check, what):
    def decorator(view):
        @login_required
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.account is None:
                return render(request, "accounts/no_account.html", status=403)
            if request.membership.role == Membership.Role.NONE:
                return render(request, "accounts/door_locked.html", status=403)
            if not check(request.membership):
                return forbidden(request, what)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


billing_required = _guard(permissions.can_manage_billing, "billing")
members_required = _guard(permissions.can_manage_members, "members")
