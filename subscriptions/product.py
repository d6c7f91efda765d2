"""The product's door (`/app/…`, SPEC §1, §2.5): the page that billing locks.

`/app/` is a placeholder for the product itself. Whether someone may enter
depends on the role (accounts) and on whether the account has paid (this app).
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.shortcuts import render

from accounts import permissions
from accounts.decorators import billing_helpers_for, refusal
from subscriptions.selectors import account_status

# What a closed account shows in the product: unpaid (402 Payment Required) or expired.
CLOSED_PAGES = {
    "locked": ("accounts/account_locked.html", 402),
    "expired": ("accounts/account_expired.html", 403),
}


def product_gate(request):
    """The response that keeps someone out of the product, or None to let them in (SPEC §1, §2.5).

    Role `none` meets a locked door; an unpaid invoice locks the account; an
    expired subscription blocks everyone until someone subscribes again.
    """
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    closed = refusal(request, permissions.can_use_product, "product")
    if closed is not None:
        return closed
    account, membership = request.account, request.membership
    page = CLOSED_PAGES.get(account_status(account))
    if page is not None:
        template, status = page
        context = {"can_pay": permissions.can_manage_billing(membership), "helpers": billing_helpers_for(account)}
        return render(request, template, context, status=status)
    return None


def product_required(view):
    """Guard a product view (`/app/…`) with product_gate."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        return product_gate(request) or view(request, *args, **kwargs)

    return wrapped


@product_required
def app_home(request):
    return render(request, "app/home.html")
