from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.signals import membership_changed
from licensing.services import licence_sync
from subscriptions.models import Subscription


@receiver(membership_changed)
def licences_follow_members(sender, *, account, on, **kwargs):
    # Connected after subscriptions' receiver (app order), so paid seats are already counted.
    licence_sync(account=account, on=on)


@receiver(post_save, sender=Subscription)
def licences_follow_paid_seats(sender, *, instance, raw=False, **kwargs):
    if not raw:
        licence_sync(account=instance.account, on=None)
