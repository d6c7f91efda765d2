from django.dispatch import receiver

from accounts.signals import membership_changed
from subscriptions.services import subscription_sync_seats
from subscriptions.signals import seats_synced


@receiver(membership_changed)
def seats_follow_members(sender, *, account, membership, on, by, reason, **kwargs):
    subscription_sync_seats(account=account, on=on, by=by, reason=reason)
    seats_synced.send(sender=None, account=account, on=on)
