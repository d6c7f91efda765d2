"""Dunning (SPEC §2.5): past due after the due date, the account locked on its lock day, unlocked by payment."""

from datetime import date

from accounts.models import Account
from accounts.services import history_record
from common.dryrun import atomic
from invoicing.models import Invoice
from subscriptions.models import Subscription
from subscriptions.notifications import reminders_send
from subscriptions.selectors import live_subscription, lock_day
from subscriptions.services._common import Status, _lock
from subscriptions.signals import account_locked, account_unlocked


def subscription_sync_status(*, subscription: Subscription, on: date) -> Subscription:
    """trialing / past_due / canceled / active, from the subscription and its open invoices (SPEC §2.5)."""
    sub = subscription
    if sub.status in (Status.EXPIRED, Status.TRIALING):
        return sub
    overdue = Invoice.objects.filter(account_id=sub.account_id, status=Invoice.Status.OPEN, due_on__lt=on).exists()
    status = Status.PAST_DUE if overdue else Status.CANCELED if sub.cancel_at_period_end else Status.ACTIVE
    if status != sub.status:
        sub.status = status
        sub.save(update_fields=["status"])
    return sub


def account_after_payment(*, account: Account, on: date) -> None:
    """Payment unlocks at once when nothing open has reached its lock day (SPEC §2.5)."""
    sub = live_subscription(account)
    if sub is not None:
        subscription_sync_status(subscription=sub, on=on)
    if account.locked_on:
        still = [
            inv
            for inv in Invoice.objects.select_related("subscription__plan").filter(account=account, status="open")
            if lock_day(inv) <= on
        ]
        if not still:
            Account.objects.filter(pk=account.pk).update(locked_on=None)
            account.locked_on = None
            history_record(instance=account, reason="Unlocked: nothing unpaid past its lock day")
            account_unlocked.send(sender=Account, account=account, on=on)


@atomic
def account_unlock(*, account: Account, on: date, by=None, reason: str = "") -> Account:
    """Support unlocks an account by hand (SPEC §2.5); the history says who and why."""
    was_locked = Account.objects.filter(pk=account.pk, locked_on__isnull=False).update(locked_on=None)
    account.locked_on = None
    history_record(instance=account, reason=reason.strip() or "Unlocked by support", by=by)
    if was_locked:
        account_unlocked.send(sender=Account, account=account, on=on)
    return account


def dunning_run(*, on: date, accounts=None) -> dict:
    """Past due after the due date; locked on issued_on + grace_days; reminders before (SPEC §2.5)."""
    locked = 0
    qs = Invoice.objects.select_related("subscription__plan", "account").filter(status="open", due_on__lt=on)
    if accounts is not None:
        qs = qs.filter(account__in=accounts)
    for inv in qs:
        with atomic():
            if inv.subscription_id:
                subscription_sync_status(subscription=_lock(inv.subscription), on=on)
            if lock_day(inv) <= on and not inv.account.locked_on:
                # Several invoices may share an account: only the first one locks it (and counts).
                if Account.objects.filter(pk=inv.account_id, locked_on__isnull=True).update(locked_on=on):
                    history_record(instance=inv.account, reason=f"Locked: {inv.number} unpaid past its grace days")
                    locked += 1
                    inv.account.locked_on = on
                    account_locked.send(sender=Account, account=inv.account, on=on)
                inv.account.locked_on = on
    reminders_send(on=on, accounts=accounts)
    return {"locked": locked}
