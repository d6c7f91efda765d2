"""Cancel, trials and the money-back guarantee (SPEC §2.4 cancel, §2.5 trials and refunds), and what support
does to them: extend a trial, end a subscription today."""

from datetime import date, timedelta

from django.utils.translation import gettext

from common.dryrun import atomic
from common.errors import Refused
from invoicing.formatting import day as fmt_day
from invoicing.models import Invoice
from invoicing.services import invoice_refund, invoice_void
from subscriptions.models import Subscription
from subscriptions.selectors import refund_window_end, waiting_lines
from subscriptions.services._common import Status, _expire, _issue, _ledger, _lock
from subscriptions.services.dunning import subscription_sync_status

REFUND_VOID_REASON = "Canceled under the money-back guarantee"


@atomic
def subscription_cancel(
    *, subscription: Subscription, on: date, by=None, reason: str = "", comment: str = ""
) -> Subscription:
    """Cancel at period end; the customer can undo until then (SPEC §2.4).

    `reason` (a CancelReason) and `comment` are kept for support and shown in the admin.
    """
    if reason and reason not in Subscription.CancelReason.values:
        raise Refused(gettext("“%(reason)s” is not one of the reasons offered.") % {"reason": reason}, field="reason")
    sub = _lock(subscription)
    if sub.status == Status.EXPIRED:
        raise Refused(gettext("This subscription has already expired."))
    if sub.cancel_at_period_end:
        raise Refused(gettext("Already canceled; it ends on %(day)s.") % {"day": fmt_day(sub.period_end)})
    sub.cancel_at_period_end = True
    sub.cancel_reason, sub.cancel_comment = reason, comment.strip()[:500]
    sub.save(update_fields=["cancel_at_period_end", "cancel_reason", "cancel_comment"])
    _ledger(sub, on=on, reason=f"canceled; ends {sub.period_end}", by=by)
    subscription_sync_status(subscription=sub, on=on)
    return sub


@atomic
def subscription_undo_cancel(*, subscription: Subscription, on: date, by=None) -> Subscription:
    """Undo a cancellation before the period ends: the subscription renews as before (SPEC §2.4)."""
    sub = _lock(subscription)
    if sub.status == Status.EXPIRED:
        raise Refused(gettext("This subscription has already expired; subscribe again instead."))
    if not sub.cancel_at_period_end:
        raise Refused(gettext("This subscription is not canceled."))
    sub.cancel_at_period_end = False
    sub.cancel_reason, sub.cancel_comment = "", ""  # the history keeps what they said
    sub.save(update_fields=["cancel_at_period_end", "cancel_reason", "cancel_comment"])
    _ledger(sub, on=on, reason="cancellation undone", by=by)
    subscription_sync_status(subscription=sub, on=on)
    return sub


@atomic
def subscription_cancel_now(*, subscription: Subscription, on: date, by=None) -> Invoice | None:
    """Support ends a subscription today: waiting lines are invoiced, no credit for unused days, it expires.

    Unused time is not credited automatically; support grants credit separately if it is owed.
    """
    sub = _lock(subscription)
    if sub.status == Status.EXPIRED:
        raise Refused(gettext("This subscription has already expired."))
    final = _issue(
        sub,
        reason=Invoice.Reason.FINAL,
        on=on,
        lines=[],
        waiting=waiting_lines(sub),
        billing_key=f"final:{sub.pk}:{on}",
    )
    _expire(sub, on=on, reason="canceled now by support", by=by)
    return final


@atomic
def subscription_accept_trial_offer(*, subscription: Subscription, on: date, by=None) -> Subscription:
    """Take the plan's trial offer: an amount off the first monthly invoice (SPEC §2.5)."""
    sub = _lock(subscription)
    if sub.plan.trial_offer is None:
        raise Refused(gettext("The %(plan)s plan has no trial offer.") % {"plan": sub.plan.name})
    if sub.status != Status.TRIALING:
        raise Refused(gettext("The trial offer can only be taken during the trial."))
    sub.trial_offer_accepted = True
    sub.save(update_fields=["trial_offer_accepted"])
    _ledger(sub, on=on, reason="trial offer accepted", by=by)
    return sub


@atomic
def subscription_extend_trial(*, subscription: Subscription, days: int, on: date, by=None) -> Subscription:
    """Support lengthens a trial by `days`: the first paid period starts that much later (SPEC §2.5)."""
    sub = _lock(subscription)
    if sub.status != Status.TRIALING:
        raise Refused(gettext("Only a subscription in its trial can have the trial extended."))
    if days <= 0:
        raise Refused(gettext("Extend the trial by at least one day."), field="days")
    sub.trial_end = sub.period_end = sub.period_end + timedelta(days=days)
    sub.anchor = sub.period_start
    sub.save(update_fields=["trial_end", "period_end", "anchor"])
    _ledger(sub, on=on, reason=f"trial extended by {days} days to {sub.trial_end}", by=by)
    return sub


@atomic
def subscription_request_refund(*, subscription: Subscription, on: date, by=None) -> list:
    """Money-back guarantee: full refund of every paid invoice; expires at once (SPEC §2.5).

    Its open invoices are voided in the same transaction, after what was paid on them is refunded:
    an expired subscription owes nothing more, so dunning must not lock the account for them later.
    """
    sub = _lock(subscription)
    if sub.status == Status.EXPIRED:
        raise Refused(gettext("This subscription has already expired."))
    if not sub.plan.refund_window_days:
        raise Refused(
            gettext("The %(plan)s plan has no money-back guarantee.") % {"plan": sub.plan.name},
            code="no_guarantee",
        )
    end = refund_window_end(sub)
    if end is None:
        raise Refused(
            gettext("Nothing has been paid yet, so there is nothing to refund."),
            code="nothing_paid",
        )
    if on > end:
        raise Refused(
            gettext("The money-back guarantee ended on %(day)s.") % {"day": fmt_day(end)},
            code="refund_window_over",
        )
    refunds = [
        r
        for inv in sub.invoices.filter(status=Invoice.Status.PAID).order_by("issued_on", "id")
        if (r := invoice_refund(invoice=inv, on=on, reason="Money-back guarantee", by=by)) is not None
    ]
    for inv in sub.invoices.filter(status=Invoice.Status.OPEN).order_by("issued_on", "id"):
        if (r := invoice_refund(invoice=inv, on=on, reason="Money-back guarantee", by=by)) is not None:
            refunds.append(r)  # partly paid: the part paid comes back first
        invoice_void(invoice=inv, on=on, reason=REFUND_VOID_REASON, by=by)
    _expire(sub, on=on, reason="refunded under the money-back guarantee", by=by)
    return refunds
