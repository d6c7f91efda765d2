from django.db.models.signals import post_save
from django.dispatch import receiver

from common.dryrun import is_dry_run
from licensing.services import licence_sync
from subscriptions.models import Subscription
from subscriptions.signals import seats_synced

# Licences follow real changes only: a preview's dry run shows no licence, and syncing them would take
# the account's row lock, which a preview has no business waiting for (STYLE habit 13).

# Saves that can change how many licences an account has.
SEAT_FIELDS = frozenset({"paid_seats", "bought_seats", "status"})


@receiver(seats_synced)
def licences_follow_members(sender, *, account, on, **kwargs):
    if is_dry_run():
        return
    licence_sync(account=account, on=on)


@receiver(post_save, sender=Subscription)
def licences_follow_paid_seats(sender, *, instance, raw=False, update_fields=None, **kwargs):
    if raw or is_dry_run() or (update_fields is not None and not SEAT_FIELDS & set(update_fields)):
        return
    licence_sync(account=instance.account)
