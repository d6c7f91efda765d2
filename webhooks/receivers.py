"""Lower layers tell what changed by signals, inside their transactions; each becomes an outbox row here.

Subscriptions and licences are saved by many services, so their changes are read off the model signals:
`post_init` remembers the fields events care about, `post_save` compares. Invoices, credit notes and
locks have their own signals, sent by the one service that makes each change.
"""

import functools

from django.db.models.signals import post_delete, post_init, post_save
from django.dispatch import receiver

from accounts.models import Membership
from common.dryrun import is_dry_run
from invoicing.models import CreditNote, Invoice
from invoicing.signals import credit_note_issued, invoice_closed, invoice_paid, invoices_issued, pending_swept
from licensing.models import Licence
from subscriptions.models import Subscription
from subscriptions.signals import account_locked, account_unlocked
from webhooks import delivery, events
from webhooks.models import EventType as T

# The subscription fields whose change is an event (`paid_seats` is seats.changed; the trial reminder
# being recorded, once per trial end, is subscription.trial_will_end).
WATCHED = ("plan_id", "cycle", "status", "paid_seats", "cancel_at_period_end", "trial_end", "trial_reminder_sent_on")


def _seen(instance, fields) -> dict:
    # __dict__, not getattr: a deferred field stays unloaded (no query per loaded row).
    return {f: instance.__dict__.get(f) for f in fields}


def outbox(handler):
    """A receiver that writes events: in a preview's dry run it writes none, nor reads what their payloads
    say (about a dozen queries of a switch-cycle preview, issue 15). Nothing in a preview reads events, and
    the dry run's rollback would drop them with their deliveries anyway."""

    @functools.wraps(handler)
    def record(*args, **kwargs):
        if not is_dry_run():
            handler(*args, **kwargs)

    return record


@receiver(post_init, sender=Subscription)
def subscription_loaded(sender, instance, **kwargs):
    instance._event_seen = _seen(instance, WATCHED)


def _mirrors_cancel(old_status: str, sub: Subscription) -> bool:
    Status = Subscription.Status
    return {old_status, sub.status} == {Status.ACTIVE, Status.CANCELED} and (
        (sub.status == Status.CANCELED) == sub.cancel_at_period_end
    )


@receiver(post_save, sender=Subscription)
@outbox
def subscription_saved(sender, instance, created, raw=False, update_fields=None, **kwargs):
    if raw:
        return
    sub = instance
    old, new = getattr(sub, "_event_seen", {}), _seen(sub, WATCHED)
    sub._event_seen = new
    if created:
        events.event_record(T.SUBSCRIPTION_CREATED, account_id=sub.account_id, payload=events.subscription_data(sub))
        return
    fields = WATCHED if update_fields is None else [f for f in WATCHED if f.removesuffix("_id") in update_fields]
    changed = {f for f in fields if f in old and old[f] != new[f]}
    if changed == {"status"} and _mirrors_cancel(old["status"], sub):
        changed = set()  # `canceled` follows `cancel_at_period_end`, whose change was the event
    reminded = "trial_reminder_sent_on" in changed and sub.trial_reminder_sent_on is not None
    changed.discard("trial_reminder_sent_on")
    if reminded:
        payload = events.subscription_data(sub)
        events.event_record(T.SUBSCRIPTION_TRIAL_WILL_END, account_id=sub.account_id, payload=payload)
    if not changed:
        return
    kind = None
    if "status" in changed and sub.status == Subscription.Status.EXPIRED:
        kind = T.SUBSCRIPTION_EXPIRED
    elif "cancel_at_period_end" in changed and sub.cancel_at_period_end:
        kind = T.SUBSCRIPTION_CANCELED
    elif changed - {"paid_seats"}:
        kind = T.SUBSCRIPTION_UPDATED
    if kind is not None:
        events.event_record(kind, account_id=sub.account_id, payload=events.subscription_data(sub))
    if "paid_seats" in changed:
        payload = events.seats_data(sub, previous=old["paid_seats"])
        events.event_record(T.SEATS_CHANGED, account_id=sub.account_id, payload=payload)


@receiver(invoices_issued)
@outbox
def invoices_were_issued(sender, *, invoices, **kwargs):
    rows = [(T.INVOICE_ISSUED, inv.account_id, events.invoice_data(inv)) for inv in invoices]
    # Nothing due (credit covered it): issued and paid at once, with no payment to send invoice_paid.
    # Its payload is the one just built (the invoice has not changed since).
    rows += [
        (T.INVOICE_PAID, *row[1:]) for inv, row in zip(invoices, rows, strict=True) if inv.status == Invoice.Status.PAID
    ]
    events.events_record(rows)


@receiver(invoice_paid)
@outbox
def invoice_was_paid(sender, *, invoice, **kwargs):
    if invoice.status == Invoice.Status.PAID:  # a part payment is not the invoice paid
        events.event_record(T.INVOICE_PAID, account_id=invoice.account_id, payload=events.invoice_data(invoice))


@receiver(invoice_closed)
@outbox
def invoice_was_closed(sender, *, invoice, **kwargs):
    if invoice.status == Invoice.Status.VOID:  # uncollectible: still owed on paper, no event yet
        events.event_record(T.INVOICE_VOIDED, account_id=invoice.account_id, payload=events.invoice_data(invoice))


@receiver(credit_note_issued, sender=CreditNote)
@outbox
def credit_note_was_issued(sender, *, credit_note, **kwargs):
    payload = events.credit_note_data(credit_note)
    events.event_record(T.CREDIT_NOTE_ISSUED, account_id=credit_note.account_id, payload=payload)


@receiver(account_locked)
@outbox
def account_was_locked(sender, *, account, on, **kwargs):
    events.event_record(T.ACCOUNT_LOCKED, account_id=account.pk, payload=events.account_data(account, on=on))


@receiver(account_unlocked)
@outbox
def account_was_unlocked(sender, *, account, on, **kwargs):
    events.event_record(T.ACCOUNT_UNLOCKED, account_id=account.pk, payload=events.account_data(account, on=on))


@receiver(post_init, sender=Licence)
def licence_loaded(sender, instance, **kwargs):
    instance._event_holder = instance.__dict__.get("membership_id")


def _licence_event(kind: str, licence: Licence, membership_id: int, membership=None) -> None:
    if membership is None or membership.pk != membership_id:
        membership = Membership.objects.get(pk=membership_id)
    events.event_record(kind, account_id=licence.account_id, payload=events.licence_data(licence, membership))


@receiver(post_save, sender=Licence)
@outbox
def licence_saved(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    old, new = (None if created else getattr(instance, "_event_holder", None)), instance.membership_id
    instance._event_holder = new
    if old == new:
        return
    if old is not None:
        _licence_event(T.LICENCE_RELEASED, instance, old)
    if new is not None:
        _licence_event(T.LICENCE_ASSIGNED, instance, new, instance.membership)


@receiver(post_delete, sender=Licence)
@outbox
def licence_deleted(sender, instance, **kwargs):
    holder = getattr(instance, "_event_holder", None)
    if holder is not None and Membership.objects.filter(pk=holder).exists():
        _licence_event(T.LICENCE_RELEASED, instance, holder)


@receiver(pending_swept)
def deliveries_due_requeue(sender, *, accounts, **kwargs):
    return {"webhooks": delivery.deliveries_requeue_due(accounts=accounts)}
