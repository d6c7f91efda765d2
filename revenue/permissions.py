"""Who sees revenue figures: the Finance group and superusers. Support does not (issue 21)."""

from accounts.staff_groups import FINANCE


def can_see_revenue(user) -> bool:
    """Asked several times per page (the index, the page): answered once per request's user."""
    if not (user.is_active and user.is_staff):
        return False
    if not hasattr(user, "_can_see_revenue"):
        user._can_see_revenue = user.is_superuser or user.groups.filter(name=FINANCE).exists()
    return user._can_see_revenue
