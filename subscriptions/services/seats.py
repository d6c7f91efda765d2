"""Seats (SPEC §2.3): paid seats follow members or the bought count; added seats are charged, removed ones
credited or kept until renewal; support's minimum commitment."""

from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext

from accounts.models import Account
from billing import plan as core
from billing.calendar import next_monthly_anniversary
from common.dryrun import atomic
from common.errors import Refused
from invoicing.models import CreditNote, Invoice, InvoiceLine
from invoicing.services import credit_note_issue, line_from_core
from subscriptions.models import SeatAddBilling, SeatMode, SeatRemoval, Subscription
from subscriptions.selectors import charged_fraction, seats_in_use, subscription_period
from subscriptions.services._common import (
    ADDED_LINE,
    REMOVED_LINE,
    Status,
    _below_minimum,
    _check_max_seats,
    _check_paid_up,
    _check_pending_max_seats,
    _describe,
    _held,
    _issue,
    _ledger,
    _lock,
    _lock_live,
    _price,
    _seats_removed,
)


@dataclass
class SeatOutcome:
    invoice: Invoice | None = None
    credit_note: CreditNote | None = None
    waiting: list[InvoiceLine] = field(default_factory=list)


def _bill_added(sub: Subscription, added: int, *, on: date) -> SeatOutcome:
    """Charge `added` seats from on+1 to the period's end, as `seat_add_billing` says (SPEC §2.3).

    Under `invoice_now`, an invoice that would total less than the plan's `minimum_invoice` is not
    issued: its line waits as under `next_invoice` (SPEC §2.4). Lines held back earlier join the
    invoice that is issued, and count towards the minimum.
    """
    plan = sub.plan
    line = core.proration_line(
        description=_describe(sub.account, ADDED_LINE, plan, sub.cycle, added),
        unit_price=_price(plan, sub.cycle),
        quantity=added,
        period=subscription_period(sub),
        on=on,
    )
    if line is None:
        return SeatOutcome()
    policy = plan.seat_add_billing(sub.cycle)
    if policy == SeatAddBilling.INVOICE_NOW:
        held = _held(sub)
        if not _below_minimum(sub, [line], held, on=on):
            return SeatOutcome(invoice=_issue(sub, reason=Invoice.Reason.SEATS, on=on, lines=[line], waiting=held))
    bill_on = sub.period_end
    if policy == SeatAddBilling.MONTHLY_TRUE_UP:
        bill_on = min(next_monthly_anniversary(sub.anchor, on), sub.period_end)
    waiting = line_from_core(line, subscription=sub, bill_on=bill_on)
    waiting.save()
    return SeatOutcome(waiting=[waiting])


def _credit_removed(sub: Subscription, removed: int, *, on: date, by=None) -> SeatOutcome:
    """Credit the unused days of `removed` seats by a credit note issued today (SPEC §2.3)."""
    line = core.credit_line(
        description=_describe(sub.account, REMOVED_LINE, sub.plan, sub.cycle, removed),
        unit_price=_price(sub.plan, sub.cycle),
        quantity=removed,
        period=subscription_period(sub),
        on=on,
        charged_fraction=charged_fraction(sub),
    )
    note = credit_note_issue(
        account=sub.account,
        subscription=sub,
        reason=CreditNote.Reason.SEATS_REMOVED,
        on=on,
        lines=[line],
        memo=_seats_removed(sub.account, removed),
        by=by,
    )
    return SeatOutcome(credit_note=note)


@atomic
def subscription_sync_seats(*, account: Account, on: date, by=None, reason: str = "members changed") -> SeatOutcome:
    """Follow a membership change: grow paid seats and bill them, or refuse (SPEC §2.3).

    Called inside the membership service's transaction; a Refused rolls the change back.
    """
    sub = _lock_live(account)
    if sub is None:
        return SeatOutcome()
    plan = sub.plan
    in_use = seats_in_use(account)
    outcome = SeatOutcome()
    before = sub.seat_changes.order_by("-id").values_list("seats_in_use", flat=True).first()
    if before is None or in_use > before:
        _check_max_seats(plan, in_use)  # going over is refused whatever is paid (SPEC §2.3); leaving is not
    _check_pending_max_seats(sub, in_use)
    if plan.seat_mode == SeatMode.FIXED:
        if in_use > sub.bought_seats:
            raise Refused(
                gettext("All %(n)s seats are taken. Buy more seats before inviting anyone else.")
                % {"n": sub.bought_seats},
                code="no_free_seat",
                field="email",
            )
    elif sub.status == Status.TRIALING:
        sub.paid_seats = in_use
    elif in_use > sub.paid_seats:
        added = in_use - sub.paid_seats
        sub.paid_seats = in_use
        outcome = _bill_added(sub, added, on=on)
    elif in_use < sub.paid_seats and plan.seat_removal == SeatRemoval.CREDIT_PRORATED:
        keep = max(in_use, sub.minimum_seats)
        if keep < sub.paid_seats:
            outcome = _credit_removed(sub, sub.paid_seats - keep, on=on, by=by)
            sub.paid_seats = keep
    sub.save(update_fields=["paid_seats"])
    _ledger(sub, on=on, reason=reason, by=by, in_use=in_use)
    return outcome


@atomic
def subscription_set_seats(*, subscription: Subscription, seats: int, on: date, by=None) -> SeatOutcome:
    """Change the bought seat count of a `fixed` plan (SPEC §2.3)."""
    sub = _lock(subscription)
    plan = sub.plan
    if plan.seat_mode != SeatMode.FIXED:
        raise Refused(
            gettext("Seats on the %(plan)s plan follow your members; invite or archive people instead.")
            % {"plan": plan.name},
            field="seats",
        )
    if sub.status == Status.EXPIRED:
        raise Refused(gettext("This subscription has expired."))
    in_use = seats_in_use(sub.account)
    if seats < in_use:
        raise Refused(
            gettext("%(n)s people take seats; archive members before going below %(n)s seats.") % {"n": in_use},
            code="below_members",
            field="seats",
        )
    _check_max_seats(plan, seats)
    _check_pending_max_seats(sub, seats)
    if seats > sub.paid_seats:
        _check_paid_up(sub)
    outcome = SeatOutcome()
    if sub.status == Status.TRIALING:
        sub.bought_seats = sub.paid_seats = seats
    elif seats > sub.paid_seats:
        added = seats - sub.paid_seats
        sub.bought_seats = sub.paid_seats = seats
        outcome = _bill_added(sub, added, on=on)
    else:
        sub.bought_seats = seats
        keep = max(seats, sub.minimum_seats)
        if plan.seat_removal == SeatRemoval.CREDIT_PRORATED and keep < sub.paid_seats:
            outcome = _credit_removed(sub, sub.paid_seats - keep, on=on, by=by)
            sub.paid_seats = keep
    sub.save(update_fields=["bought_seats", "paid_seats"])
    _ledger(sub, on=on, reason=f"seats set to {seats}", by=by, in_use=in_use)
    return outcome


# The seat-ledger reason of a new minimum, followed by the count: the what-if replays it on its day.
MINIMUM_SET = "minimum seats set to "


@atomic
def subscription_set_minimum_seats(*, subscription: Subscription, seats: int, on: date, by=None) -> Subscription:
    """Support sets the commitment `minimum_seats`; charged from the next renewal, switch or purchase on
    (SPEC §2.3)."""
    if seats < 0:
        raise Refused(gettext("The minimum cannot be negative."), field="seats")
    sub = _lock(subscription)
    sub.minimum_seats = seats
    sub.save(update_fields=["minimum_seats"])
    _ledger(sub, on=on, reason=f"{MINIMUM_SET}{seats}", by=by)
    return sub
