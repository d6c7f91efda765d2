"""Reads about subscriptions and seats."""

from django.db.models import Count

from accounts.models import Account, Membership
from subscriptions.models import Subscription


def _seat_takers():
    return Membership.objects.exclude(status=Membership.Status.ARCHIVED).exclude(role=Membership.Role.NONE)


def seats_in_use(account: Account) -> int:
    """Active and invited members whose role is not `none`; the owner counts (SPEC §2.3)."""
    return _seat_takers().filter(account=account).count()


def seats_in_use_by_account(account_ids) -> dict[int, int]:
    """`seats_in_use` of many accounts in one query, keyed by account id (0 when none)."""
    ids = list(account_ids)
    counts = dict(
        _seat_takers().filter(account_id__in=ids).order_by().values_list("account_id").annotate(n=Count("id"))
    )
    return {pk: counts.get(pk, 0) for pk in ids}


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
