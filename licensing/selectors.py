"""Reads about licences, for Settings › Members, Settings › Licences and the API."""

from accounts.models import Account
from licensing.models import Activation, Licence


def licences_of(account: Account):
    return Licence.objects.filter(account=account).select_related("membership").order_by("id")


def licensed_membership_ids(account: Account) -> set[int]:
    """Who holds a licence: use it to mark holders in the members list."""
    return set(
        Licence.objects.filter(account=account, membership__isnull=False).values_list("membership_id", flat=True)
    )


def activations_of(subscription) -> list[Activation]:
    if subscription is None:
        return []
    return list(Activation.objects.filter(subscription=subscription).order_by("-deactivated_at", "first_activated_at"))
