from django.db.models.signals import post_save
from django.dispatch import receiver

from licensing.services import licence_sync
from subscriptions.models import Subscription
from subscriptions.signals import seats_synced

# Saves that can change how many licences an account has.
SEAT_FIELDS = frozenset({"paid_seats", "bought_seats", "status"})


@receiver(seats_synced)
def licences_follow_members(sender, *, account, on, **kwargs):
    licence_sync(account=account, on=on)


@receiver(post_save, sender=Subscription)
def licences_follow_paid_seats(sender, *, instance, raw=False, update_fields=None, **kwargs):
    if raw or (update_fields is not None and not SEAT_FIELDS & set(update_fields)):
        return
    licence_sync(account=instance.account)
