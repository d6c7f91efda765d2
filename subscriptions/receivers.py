from django.dispatch import receiver

from accounts.signals import membership_changed
from invoicing.signals import invoice_closed, invoice_paid
from subscriptions.services import account_after_payment, subscription_sync_seats
from subscriptions.signals import seats_synced


@receiver(membership_changed)
def seats_follow_members(sender, *, account, membership, on, by, reason, **kwargs):
    subscription_sync_seats(account=account, on=on, by=by, reason=reason)
    seats_synced.send(sender=None, account=account, on=on)


@receiver(invoice_paid)
@receiver(invoice_closed)
def account_follows_its_invoices(sender, *, invoice, on, **kwargs):
    """A payment, a void or a write-off may unlock the account at once (SPEC §2.5)."""
    account_after_payment(account=invoice.account, on=on)
