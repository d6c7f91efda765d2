"""Reminder emails of SPEC §2.5: a trial ending, an invoice due, an account about to be locked.

The invoice itself is emailed when it is finalised (`invoicing.services.document_queue`); these
are the reminders after it. Each is sent once, even when the daily run repeats: the reminder is
recorded under a row lock (`Invoice.reminders_sent`, `Subscription.trial_reminder_sent_on`) and
the mail leaves when that record commits (STYLE habit 6), so a rolled-back run sends nothing.
"""

import logging
from datetime import date, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from accounts.models import Account
from common.background import enqueue
from common.dryrun import is_dry_run
from invoicing.formatting import day, money
from invoicing.models import Invoice
from invoicing.selectors import invoice_outstanding
from subscriptions import tasks
from subscriptions.models import Subscription
from subscriptions.selectors import lock_day

log = logging.getLogger(__name__)

TRIAL_REMINDER_DAYS = 3
LOCK_REMINDER_DAYS = 3
DUE = "due"
LOCK = "lock"


def invoice_reminder_kinds(*, issued_on: date, due_on: date, lock_on: date, on: date, sent: set[str]) -> list[str]:
    """Which reminders an open invoice needs on day `on` (pure; SPEC §2.5).

    - `due`: on its due date, when that is later than the issue date (the invoice email already
      said "due today" otherwise);
    - `lock`: from `LOCK_REMINDER_DAYS` before the lock day, never on the issue day itself.
    Nothing once the lock day has come: the account is locked instead. When both are owed (a run
    that missed days), only the lock warning goes out, and it stands for the due reminder too.
    """
    if on >= lock_on:
        return []
    if LOCK not in sent and on > issued_on and on >= lock_on - timedelta(days=LOCK_REMINDER_DAYS):
        return [LOCK] if DUE in sent else [DUE, LOCK]
    if DUE not in sent and due_on > issued_on and on >= due_on:
        return [DUE]
    return []


def reminders_send(*, on: date, accounts=None) -> dict[str, int]:
    """Send the reminders due on `on`. Called by the daily dunning run; one query per kind of candidate.

    A dry run (a preview of the daily run) reminds no one, so it records no reminder either: nothing a
    preview shows depends on them.
    """
    if is_dry_run():
        return {"invoice_reminders": 0, "trial_reminders": 0}
    return {
        "invoice_reminders": _invoice_reminders(on=on, accounts=accounts),
        "trial_reminders": _trial_reminders(on=on, accounts=accounts),
    }


def _invoice_reminders(*, on: date, accounts) -> int:
    # Open invoices of unlocked accounts, issued before today: older ones have locked their account.
    # Only the columns the decision needs: this runs every day for every account.
    candidates = (
        Invoice.objects.select_related("subscription__plan")
        .only("issued_on", "due_on", "reminders_sent", "subscription__plan__grace_days")
        .filter(status=Invoice.Status.OPEN, issued_on__lt=on, account__locked_on__isnull=True)
    )
    if accounts is not None:
        candidates = candidates.filter(account__in=accounts)
    sent = 0
    for invoice in candidates:
        lock_on = lock_day(invoice)
        kinds = invoice_reminder_kinds(
            issued_on=invoice.issued_on,
            due_on=invoice.due_on,
            lock_on=lock_on,
            on=on,
            sent=_sent(invoice),
        )
        if kinds and _claim_invoice(invoice, kinds=kinds, on=on):
            enqueue(tasks.invoice_reminder_send, invoice.pk, kinds[-1], lock_on.isoformat())
            sent += 1
    return sent


def _sent(invoice: Invoice) -> set[str]:
    return {r.get("kind") for r in invoice.reminders_sent or [] if isinstance(r, dict)}


def _claim_invoice(invoice: Invoice, *, kinds: list[str], on: date) -> bool:
    with transaction.atomic():
        row = Invoice.objects.select_for_update().filter(pk=invoice.pk, status=Invoice.Status.OPEN).first()
        if row is None or set(kinds) & _sent(row):
            return False
        row.reminders_sent = [*(row.reminders_sent or []), *({"kind": k, "on": on.isoformat()} for k in kinds)]
        row.save(update_fields=["reminders_sent"])
        return True


def invoice_reminder_send(pk: int, kind: str, lock_on: date) -> None:
    """Email one payment reminder (the `invoice_reminder_send` task)."""
    from invoicing.emails import recipients

    invoice = Invoice.objects.select_related("account").get(pk=pk)
    account = invoice.account
    locale = account.locale
    context = {
        "account": account.name,
        "number": invoice.number,
        "issued_on": day(invoice.issued_on, locale),
        "due_on": day(invoice.due_on, locale),
        "lock_on": day(lock_on, locale),
        "outstanding": money(invoice_outstanding(invoice), locale),
        "seller_name": settings.SELLER["name"],
        "bank": settings.SELLER.get("bank", ""),
    }
    subject = (
        f"Invoice {invoice.number} is due"
        if kind == DUE
        else f"{account.name} will be locked on {context['lock_on']}: invoice {invoice.number} is unpaid"
    )
    _mail(subject, f"emails/reminder_{kind}.txt", context, recipients(account), what=f"{kind} reminder {pk}")


def _trial_reminders(*, on: date, accounts) -> int:
    candidates = Subscription.objects.only("trial_end", "trial_reminder_sent_on").filter(
        status=Subscription.Status.TRIALING,
        trial_end__gt=on,
        trial_end__lte=on + timedelta(days=TRIAL_REMINDER_DAYS),
    )
    if accounts is not None:
        candidates = candidates.filter(account__in=accounts)
    sent = 0
    for sub in candidates:
        if _trial_reminded(sub) or not _claim_trial(sub, on=on):
            continue
        enqueue(tasks.trial_reminder_send, sub.pk)
        sent += 1
    return sent


def _trial_reminded(sub: Subscription) -> bool:
    """Reminded for this trial end (a trial extended after its reminder gets a new one)."""
    sent_on = sub.trial_reminder_sent_on
    return sent_on is not None and sent_on >= sub.trial_end - timedelta(days=TRIAL_REMINDER_DAYS)


def _claim_trial(sub: Subscription, *, on: date) -> bool:
    with transaction.atomic():
        row = Subscription.objects.select_for_update().filter(pk=sub.pk, status=Subscription.Status.TRIALING).first()
        if row is None or _trial_reminded(row):
            return False
        row.trial_reminder_sent_on = on
        row.save(update_fields=["trial_reminder_sent_on"])
        return True


def trial_reminder_send(pk: int) -> None:
    """Email one trial-ending reminder (the `trial_reminder_send` task)."""
    from invoicing.emails import recipients
    from invoicing.gateways import has_payment_method

    sub = Subscription.objects.select_related("account", "plan").get(pk=pk)
    account: Account = sub.account
    context = {
        "account": account.name,
        "plan": sub.plan.name,
        "cycle": sub.cycle,
        "trial_end": day(sub.trial_end, account.locale),
        "can_pay": account.payment_gateway == Account.Gateway.BANK_TRANSFER or has_payment_method(account),
        "offer": money(sub.plan.trial_offer, account.locale) if sub.plan.trial_offer else "",
        "offer_accepted": sub.trial_offer_accepted,
        "seller_name": settings.SELLER["name"],
    }
    subject = f"Your {sub.plan.name} trial ends on {context['trial_end']}"
    _mail(subject, "emails/reminder_trial.txt", context, recipients(account), what=f"trial reminder {pk}")


def _mail(subject: str, template: str, context: dict, to: list[str], *, what: str) -> None:
    if not to:
        log.warning("No one to send the %s to.", what)
        return
    try:
        send_mail(subject, render_to_string(template, context), settings.DEFAULT_FROM_EMAIL, to)
    except Exception:
        log.exception("Could not send the %s.", what)
