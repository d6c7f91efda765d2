"""Reads about subscriptions and seats."""

from accounts.models import Account, Membership
from subscriptions.models import Subscription


def seats_in_use(account: Account) -> int:
    """Active and invited members whose role is not `none`; the owner counts (SPEC §2.3)."""
    return (
        Membership.objects.filter(account=account)
        .exclude(status=Membership.Status.ARCHIVED)
        .exclude(role=Membership.Role.NONE)
        .count()
    )


def live_subscription(account: Account) -> Subscription | None:
    """The account's subscription that has not expired, if any."""
    return Subscription.objects.select_related("plan").filter(account=account).exclude(status="expired").first()


def latest_subscription(account: Account) -> Subscription | None:
    return Subscription.objects.select_related("plan").filter(account=account).order_by("-created_at", "-id").first()


def account_status(account: Account) -> str:
    """`active`, `locked` or `expired` (SPEC §4)."""
    if account.locked_on:
        return "locked"
    latest = latest_subscription(account)
    if latest is not None and latest.status == Subscription.Status.EXPIRED:
        return "expired"
    return "active"
