"""What base.html needs to show the trial or lock banner, and which settings links a role sees."""

from django.utils.functional import SimpleLazyObject

from accounts import permissions
from common.clock import today
from subscriptions.selectors import live_subscription

_UNREAD = object()


def _banner(account, request):
    # The page's view may have read the live subscription already (`request.live_subscription`): not twice.
    sub = getattr(request, "live_subscription", _UNREAD)
    if sub is _UNREAD:
        sub = live_subscription(account)
    if sub is None or not sub.is_trialing or sub.trial_end is None:
        return None
    return {"days_left": max((sub.trial_end - today(account)).days, 0), "trial_end": sub.trial_end, "plan": sub.plan}


def billing(request):
    membership = getattr(request, "membership", None)
    account = getattr(request, "account", None)
    can_billing = permissions.can_manage_billing(membership)
    return {
        "can_manage_billing": can_billing,
        "can_manage_members": permissions.can_manage_members(membership),
        # Looked up only when a page shows the banner, and only for people who may act on it.
        "trial_banner": SimpleLazyObject(lambda: _banner(account, request)) if can_billing else None,
    }
