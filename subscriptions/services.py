"""Every change to a subscription (SPEC §2.3–2.5), one transaction each.

Services load rows, ask the pure core (`billing`) which lines a
change produces, and write the answer through `invoicing.services`.
"""

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Sum
from moneyed import Money

from accounts.models import Account
from accounts.services import history_record
from billing import plan as core
from billing.calendar import (
    Period,
    first_period,
    next_monthly_anniversary,
    period_for,
)
from common.errors import Refused
from invoicing.formatting import day as fmt_day
from invoicing.models import CreditNote, Invoice, InvoiceLine
from invoicing.services import (
    InvoiceDraft,
    credit_note_issue,
    invoice_deliver_pending,
    invoice_issue,
    invoice_issue_many,
    invoice_refund,
    invoice_void,
    line_from_core,
    rows_insert,
)
from subscriptions.models import (
    Coupon,
    CouponRedemption,
    Cycle,
    Plan,
    SeatAddBilling,
    SeatChange,
    SeatMode,
    SeatRemoval,
    Subscription,
    ToMonthly,
)
from subscriptions.notifications import reminders_send
from subscriptions.selectors import live_subscription, seats_in_use, seats_in_use_by_account

log = logging.getLogger(__name__)
Status = Subscription.Status


# ---------------------------------------------------------------- helpers


def _period(sub: Subscription) -> Period:
    return Period(sub.period_start, sub.period_end)


def _price(plan: Plan, cycle: str):
    price = plan.price(cycle)
    if price is None:
        raise Refused(f"The {plan.name} plan has no {cycle} price.", field="cycle")
    return price


def _label(plan: Plan, cycle: str) -> str:
    return f"{plan.name} ({cycle})"


def _seats(n: int) -> str:
    return f"{n} seat{'s' if n != 1 else ''}"


def _lock(sub: Subscription) -> Subscription:
    return Subscription.objects.select_for_update().select_related("plan", "account").get(pk=sub.pk)


def _ledger(sub: Subscription, *, on: date, reason: str, by=None, in_use: int | None = None) -> None:
    SeatChange.objects.create(
        subscription=sub,
        on=on,
        reason=reason[:200],
        seats_in_use=seats_in_use(sub.account) if in_use is None else in_use,
        paid_seats=sub.paid_seats,
        bought_seats=sub.bought_seats,
        by=by,
    )


def _check_max_seats(plan: Plan, seats: int) -> None:
    if plan.max_seats is not None and seats > plan.max_seats:
        raise Refused(
            f"The {plan.name} plan allows at most {plan.max_seats} user{'s' if plan.max_seats != 1 else ''}.",
            code="max_seats",
            field="seats",
        )


def _charged_seats(sub: Subscription, in_use: int) -> int:
    return core.seats_to_charge(
        seat_mode=sub.plan.seat_mode,
        seats_in_use=in_use,
        bought_seats=sub.bought_seats,
        minimum_seats=sub.minimum_seats,
    )


def _active_redemption(sub: Subscription) -> CouponRedemption | None:
    return sub.redemptions.select_related("coupon").filter(ended_on__isnull=True).first()


def _coupon_discount(sub: Subscription) -> core.Discount | None:
    """The coupon discount for invoices issued in the current period, if it is active now."""
    return _redemption_discount(_active_redemption(sub), sub)


def _redemption_discount(r: CouponRedemption | None, sub: Subscription) -> core.Discount | None:
    if r is None or r.ended_on is not None or r.active_period_start != sub.period_start:
        return None
    c = r.coupon
    return core.Discount(label=f"Coupon {c.code}", percent=c.percent_off, amount=c.amount_off)


def _charged_fraction(sub: Subscription) -> Decimal:
    """What share of the list price was actually charged this period (SPEC §2.5).

    A percent coupon active now says it; otherwise an amount off (a coupon, the trial offer) on the
    invoice that opened the period is spread over that invoice's charges.
    """
    d = _coupon_discount(sub)
    if d is not None and d.percent is not None:
        return core.charged_fraction(percent=d.percent)
    opening = (
        Invoice.objects.filter(billing_key=f"period:{sub.pk}:{sub.period_start}", discount__gt=0)
        .only("pk", "discount", "discount_currency")
        .first()
    )
    if opening is None:
        return Decimal(1)
    charged = InvoiceLine.objects.filter(invoice=opening, kind__in=core.CHARGE_KINDS, amount__gt=0).aggregate(
        total=Sum("amount")
    )["total"]
    if not charged:
        return Decimal(1)
    return core.charged_fraction(discount=opening.discount, charges=Money(charged, opening.discount.currency))


def _end_redemption(r: CouponRedemption, *, on: date, reason: str) -> None:
    r.ended_on, r.ended_reason = on, reason
    r.save(update_fields=["ended_on", "ended_reason"])


REDEMPTION_COUNT_FIELDS = ["periods_used", "active_period_start", "ended_on", "ended_reason"]


def _start_period(sub: Subscription, *, on: date) -> None:
    """A new paid period begins: count it against the active coupon, or end the coupon."""
    r = _active_redemption(sub)
    if r is not None:
        _count_period(r, sub, on=on)
        r.save(update_fields=REDEMPTION_COUNT_FIELDS)


def _count_period(r: CouponRedemption, sub: Subscription, *, on: date) -> None:
    """`_start_period` on a loaded redemption, without saving it."""
    c = r.coupon
    if not c.valid_for(sub.cycle):
        r.ended_on, r.ended_reason = on, f"{c.code} is not valid with {sub.cycle} billing"
    elif c.duration_periods is None or r.periods_used < c.duration_periods:
        r.periods_used += 1
        r.active_period_start = sub.period_start
    else:
        r.ended_on, r.ended_reason = on, "used up"


def _waiting(sub: Subscription, *, until: date | None = None) -> list[InvoiceLine]:
    qs = InvoiceLine.objects.filter(subscription=sub, invoice__isnull=True)
    if until is not None:
        qs = qs.filter(bill_on__lte=until)
    return list(qs.order_by("bill_on", "id"))


def _issue(
    sub: Subscription,
    *,
    reason: str,
    on: date,
    lines,
    waiting=(),
    extra_discounts=(),
    billing_key=None,
):
    discounts = [d for d in [_coupon_discount(sub), *extra_discounts] if d is not None]
    return invoice_issue(
        account=sub.account,
        subscription=sub,
        reason=reason,
        on=on,
        lines=list(lines),
        waiting=list(waiting),
        discounts=discounts,
        billing_key=billing_key,
    )


def _check_currency(account: Account, plan: Plan) -> None:
    if account.currency and account.currency != plan.currency:
        raise Refused(
            f"{account.name} is billed in {account.currency}; the {plan.name} plan is in {plan.currency}.",
            code="currency_mismatch",
            field="plan",
        )


# ---------------------------------------------------------------- coupons


def _coupon_for(*, code: str, account: Account, cycle: str, on: date, plan: Plan, purchase: bool) -> Coupon:
    """The coupon named `code`, locked, or Refused with the reason it does not apply (SPEC §2.5)."""
    coupon = Coupon.objects.select_for_update().filter(code__iexact=code.strip()).first()
    if coupon is None or not coupon.is_active:
        raise Refused(f"{code} is not a valid coupon.", code="coupon_unknown", field="coupon")
    if coupon.redeem_by is not None and on > coupon.redeem_by:
        raise Refused(
            f"{coupon.code} expired on {fmt_day(coupon.redeem_by)}.",
            code="coupon_expired",
            field="coupon",
        )
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        raise Refused(
            f"{coupon.code} has been fully redeemed.",
            code="coupon_used_up",
            field="coupon",
        )
    # A new customer has never been invoiced nor subscribed before (an expired trial counts).
    if coupon.new_customers_only and (
        Invoice.objects.filter(account=account).exists()
        or Subscription.objects.filter(account=account, status=Status.EXPIRED).exists()
    ):
        raise Refused(
            f"{coupon.code} is for new customers only.",
            code="coupon_new_only",
            field="coupon",
        )
    if not coupon.valid_for(cycle):
        raise Refused(
            f"{coupon.code} is not valid with {cycle} billing.",
            code="coupon_cycle",
            field="coupon",
        )
    if coupon.amount_off is not None and coupon.amount_off.currency.code != plan.currency:
        raise Refused(
            f"{coupon.code} is in {coupon.amount_off.currency.code}.",
            code="coupon_currency",
            field="coupon",
        )
    return coupon


def _redeem(coupon: Coupon, sub: Subscription, *, on: date, by=None) -> CouponRedemption:
    Coupon.objects.filter(pk=coupon.pk).update(times_redeemed=F("times_redeemed") + 1)
    history_record(instance=coupon, reason=f"Redeemed by {sub.account} (subscription {sub.pk})", by=by)
    return CouponRedemption.objects.create(coupon=coupon, subscription=sub, redeemed_on=on)


@transaction.atomic
def subscription_apply_coupon(*, subscription: Subscription, code: str, on: date, by=None) -> CouponRedemption:
    """Redeem a coupon on a live subscription; after purchase it starts at the next renewal."""
    sub = _lock(subscription)
    if sub.status == Status.EXPIRED:
        raise Refused("This subscription has expired.")
    current = _active_redemption(sub)
    if current is not None:
        raise Refused(
            f"{current.coupon.code} is already active; one coupon at a time.",
            code="coupon_one",
            field="coupon",
        )
    coupon = _coupon_for(
        code=code,
        account=sub.account,
        cycle=sub.cycle,
        on=on,
        plan=sub.plan,
        purchase=False,
    )
    return _redeem(coupon, sub, on=on, by=by)


# ---------------------------------------------------------------- purchase


@transaction.atomic
def subscription_create(
    *,
    account: Account,
    plan: Plan,
    cycle: str,
    on: date,
    seats: int | None = None,
    coupon: str | None = None,
    trial: bool = False,
    minimum_seats: int = 0,
    by=None,
) -> Subscription:
    """Buy a plan (or start its trial) on day `on`: the first period is [on, on + 1 cycle) (SPEC §2.1)."""
    Account.objects.select_for_update().filter(pk=account.pk).first()
    account.refresh_from_db()
    if live_subscription(account) is not None:
        raise Refused(f"{account.name} already has a subscription.", code="already_subscribed")
    if cycle not in Cycle.values:
        raise Refused(f"“{cycle}” is not a billing cycle.", field="cycle")
    _check_currency(account, plan)
    price = _price(plan, cycle)
    in_use = seats_in_use(account)
    fixed = plan.seat_mode == SeatMode.FIXED
    if fixed:
        if seats is None:
            raise Refused(f"Choose how many seats to buy on the {plan.name} plan.", field="seats")
        if seats < in_use:
            raise Refused(
                f"{in_use} people already take seats; buy at least {in_use}.",
                field="seats",
            )
    _check_max_seats(plan, seats if fixed else in_use)
    coupon_obj = None
    if coupon:
        coupon_obj = _coupon_for(code=coupon, account=account, cycle=cycle, on=on, plan=plan, purchase=True)
    if not account.currency:
        account.currency = plan.currency
        account.save(update_fields=["currency"])
    trialing = bool(trial and plan.trial_days)
    period = Period(on, on + timedelta(days=plan.trial_days)) if trialing else first_period(on, cycle)
    sub = Subscription(
        account=account,
        plan=plan,
        cycle=cycle,
        anchor=period.start,
        period_start=period.start,
        period_end=period.end,
        started_on=on,
        minimum_seats=minimum_seats,
        bought_seats=seats if fixed else 0,
        status=Status.TRIALING if trialing else Status.ACTIVE,
        trial_end=period.end if trialing else None,
    )
    sub.paid_seats = in_use if trialing else _charged_seats(sub, in_use)
    sub.save()
    if coupon_obj is not None:
        _redeem(coupon_obj, sub, on=on, by=by)
    _ledger(
        sub,
        on=on,
        reason="trial started" if trialing else "subscribed",
        by=by,
        in_use=in_use,
    )
    if not trialing:
        _start_period(sub, on=on)
        line = core.charge_line(
            description=f"{_label(plan, cycle)} · {_seats(sub.paid_seats)}",
            unit_price=price,
            quantity=sub.paid_seats,
            period=period,
        )
        _issue(
            sub,
            reason=Invoice.Reason.PURCHASE,
            on=on,
            lines=[line],
            billing_key=f"period:{sub.pk}:{period.start}",
        )
    return sub


# ---------------------------------------------------------------- seats


@dataclass
class SeatOutcome:
    invoice: Invoice | None = None
    credit_note: CreditNote | None = None
    waiting: list[InvoiceLine] = field(default_factory=list)


def _bill_added(sub: Subscription, added: int, *, on: date) -> SeatOutcome:
    """Charge `added` seats from on+1 to the period's end, as `seat_add_billing` says (SPEC §2.3)."""
    plan = sub.plan
    line = core.proration_line(
        description=f"{_label(plan, sub.cycle)} · {_seats(added)} added",
        unit_price=_price(plan, sub.cycle),
        quantity=added,
        period=_period(sub),
        on=on,
    )
    if line is None:
        return SeatOutcome()
    policy = plan.seat_add_billing(sub.cycle)
    if policy == SeatAddBilling.INVOICE_NOW:
        return SeatOutcome(invoice=_issue(sub, reason=Invoice.Reason.SEATS, on=on, lines=[line]))
    bill_on = sub.period_end
    if policy == SeatAddBilling.MONTHLY_TRUE_UP:
        bill_on = min(next_monthly_anniversary(sub.anchor, on), sub.period_end)
    waiting = line_from_core(line, subscription=sub, bill_on=bill_on)
    waiting.save()
    return SeatOutcome(waiting=[waiting])


def _credit_removed(sub: Subscription, removed: int, *, on: date, by=None) -> SeatOutcome:
    """Credit the unused days of `removed` seats by a credit note issued today (SPEC §2.3)."""
    line = core.credit_line(
        description=f"{_label(sub.plan, sub.cycle)} · {_seats(removed)} removed",
        unit_price=_price(sub.plan, sub.cycle),
        quantity=removed,
        period=_period(sub),
        on=on,
        charged_fraction=_charged_fraction(sub),
    )
    note = credit_note_issue(
        account=sub.account,
        subscription=sub,
        reason=CreditNote.Reason.SEATS_REMOVED,
        on=on,
        lines=[line],
        memo=f"{_seats(removed)} removed",
        by=by,
    )
    return SeatOutcome(credit_note=note)


@transaction.atomic
def subscription_sync_seats(*, account: Account, on: date, by=None, reason: str = "members changed") -> SeatOutcome:
    """Follow a membership change: grow paid seats and bill them, or refuse (SPEC §2.3).

    Called inside the membership service's transaction; a Refused rolls the change back.
    """
    sub = live_subscription(account)
    if sub is None:
        return SeatOutcome()
    sub = _lock(sub)
    plan = sub.plan
    in_use = seats_in_use(account)
    outcome = SeatOutcome()
    if in_use > sub.paid_seats or plan.seat_mode == SeatMode.FIXED:
        _check_max_seats(plan, in_use)
    if plan.seat_mode == SeatMode.FIXED:
        if in_use > sub.bought_seats:
            raise Refused(
                f"All {sub.bought_seats} seats are taken. Buy more seats before inviting anyone else.",
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


@transaction.atomic
def subscription_set_seats(*, subscription: Subscription, seats: int, on: date, by=None) -> SeatOutcome:
    """Change the bought seat count of a `fixed` plan (SPEC §2.3)."""
    sub = _lock(subscription)
    plan = sub.plan
    if plan.seat_mode != SeatMode.FIXED:
        raise Refused(
            f"Seats on the {plan.name} plan follow your members; invite or archive people instead.",
            field="seats",
        )
    if sub.status == Status.EXPIRED:
        raise Refused("This subscription has expired.")
    in_use = seats_in_use(sub.account)
    if seats < in_use:
        raise Refused(
            f"{in_use} people take seats; archive members before going below {in_use} seats.",
            code="below_members",
            field="seats",
        )
    _check_max_seats(plan, seats)
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


@transaction.atomic
def subscription_set_minimum_seats(*, subscription: Subscription, seats: int, on: date, by=None) -> Subscription:
    """Support sets the commitment; charged from the next renewal, switch or purchase on."""
    if seats < 0:
        raise Refused("The minimum cannot be negative.", field="seats")
    sub = _lock(subscription)
    sub.minimum_seats = seats
    sub.save(update_fields=["minimum_seats"])
    _ledger(sub, on=on, reason=f"minimum seats set to {seats}", by=by)
    return sub


# ---------------------------------------------------------------- cycles and plans


def _restart(sub: Subscription, *, plan: Plan, cycle: str, on: date, reason: str, by=None) -> Invoice | None:
    """Credit the unused days of the current terms and start a new period from on+1 (SPEC §2.4)."""
    old_plan, old_cycle = sub.plan, sub.cycle
    credit = core.credit_line(
        description=f"Unused time on {_label(old_plan, old_cycle)} · {_seats(sub.paid_seats)}",
        unit_price=_price(old_plan, old_cycle),
        quantity=sub.paid_seats,
        period=_period(sub),
        on=on,
        charged_fraction=_charged_fraction(sub),
    )
    in_use = seats_in_use(sub.account)
    sub.plan, sub.cycle = plan, cycle
    period = first_period(on + timedelta(days=1), cycle)
    sub.anchor, sub.period_start, sub.period_end = (
        period.start,
        period.start,
        period.end,
    )
    sub.paid_seats = _charged_seats(sub, in_use)
    sub.pending_cycle = ""
    sub.save()
    _start_period(sub, on=on)
    charge = core.charge_line(
        description=f"{_label(plan, cycle)} · {_seats(sub.paid_seats)}",
        unit_price=_price(plan, cycle),
        quantity=sub.paid_seats,
        period=period,
    )
    _ledger(sub, on=on, reason=reason, by=by, in_use=in_use)
    return _issue(
        sub,
        reason=Invoice.Reason.CYCLE_SWITCH,
        on=on,
        lines=[credit, charge],
        waiting=_waiting(sub),
    )


@transaction.atomic
def subscription_switch_cycle(
    *,
    subscription: Subscription,
    cycle: str,
    on: date,
    by=None,
    by_support: bool = False,
) -> Invoice | None:
    """Monthly ↔ annual (SPEC §2.4). Annual → monthly follows the plan's `to_monthly`."""
    sub = _lock(subscription)
    if cycle not in Cycle.values:
        raise Refused(f"“{cycle}” is not a billing cycle.", field="cycle")
    if sub.status == Status.EXPIRED:
        raise Refused("This subscription has expired.")
    if cycle == sub.cycle:
        raise Refused(f"You are already billed {cycle}.", field="cycle")
    _price(sub.plan, cycle)
    if sub.status == Status.TRIALING:
        sub.cycle = cycle
        if cycle == Cycle.ANNUAL:
            sub.trial_offer_accepted = False
        sub.save(update_fields=["cycle", "trial_offer_accepted"])
        _ledger(sub, on=on, reason=f"trial switched to {cycle}", by=by)
        return None
    if cycle == Cycle.MONTHLY and sub.plan.to_monthly == ToMonthly.SUPPORT_ONLY:
        if not by_support:
            raise Refused(
                "Switching from annual to monthly billing is done by support. Contact support and we will "
                "switch you at the end of your annual period.",
                code="support_only",
                field="cycle",
            )
        sub.pending_cycle = Cycle.MONTHLY
        sub.save(update_fields=["pending_cycle"])
        _ledger(
            sub,
            on=on,
            reason=f"switch to monthly on {sub.period_end} (by support)",
            by=by,
        )
        return None
    return _restart(sub, plan=sub.plan, cycle=cycle, on=on, reason=f"switched to {cycle}", by=by)


@transaction.atomic
def subscription_change_plan(*, subscription: Subscription, plan: Plan, on: date, by=None) -> Invoice | None:
    """Prorated plan change: credit unused days on the old plan, charge the new one to the same end."""
    sub = _lock(subscription)
    if sub.status == Status.EXPIRED:
        raise Refused("This subscription has expired.")
    if plan.pk == sub.plan_id:
        raise Refused(f"You are already on the {plan.name} plan.", field="plan")
    _check_currency(sub.account, plan)
    new_price = _price(plan, sub.cycle)
    in_use = seats_in_use(sub.account)
    _check_max_seats(plan, in_use)
    old_plan = sub.plan
    if plan.seat_mode == SeatMode.FIXED and old_plan.seat_mode != SeatMode.FIXED:
        sub.bought_seats = sub.paid_seats
    if sub.status == Status.TRIALING:
        sub.plan = plan
        sub.save(update_fields=["plan", "bought_seats"])
        _ledger(sub, on=on, reason=f"trial moved to {plan.name}", by=by)
        return None
    period = _period(sub)
    credit = core.credit_line(
        description=f"Unused time on {_label(old_plan, sub.cycle)} · {_seats(sub.paid_seats)}",
        unit_price=_price(old_plan, sub.cycle),
        quantity=sub.paid_seats,
        period=period,
        on=on,
        charged_fraction=_charged_fraction(sub),
    )
    sub.plan = plan
    sub.paid_seats = _charged_seats(sub, in_use)
    sub.save(update_fields=["plan", "paid_seats", "bought_seats"])
    charge = core.proration_line(
        description=f"{_label(plan, sub.cycle)} · {_seats(sub.paid_seats)}",
        unit_price=new_price,
        quantity=sub.paid_seats,
        period=period,
        on=on,
    )
    _ledger(
        sub,
        on=on,
        reason=f"plan changed from {old_plan.name} to {plan.name}",
        by=by,
        in_use=in_use,
    )
    return _issue(sub, reason=Invoice.Reason.PLAN_CHANGE, on=on, lines=[credit, charge])


# ---------------------------------------------------------------- cancel, trial offer, refund


@transaction.atomic
def subscription_cancel(*, subscription: Subscription, on: date, by=None) -> Subscription:
    """Cancel at period end; the customer can undo until then (SPEC §2.4)."""
    sub = _lock(subscription)
    if sub.status == Status.EXPIRED:
        raise Refused("This subscription has already expired.")
    if sub.cancel_at_period_end:
        raise Refused(f"Already canceled; it ends on {fmt_day(sub.period_end)}.")
    sub.cancel_at_period_end = True
    sub.save(update_fields=["cancel_at_period_end"])
    _ledger(sub, on=on, reason=f"canceled; ends {sub.period_end}", by=by)
    subscription_sync_status(subscription=sub, on=on)
    return sub


@transaction.atomic
def subscription_undo_cancel(*, subscription: Subscription, on: date, by=None) -> Subscription:
    sub = _lock(subscription)
    if sub.status == Status.EXPIRED:
        raise Refused("This subscription has already expired; subscribe again instead.")
    if not sub.cancel_at_period_end:
        raise Refused("This subscription is not canceled.")
    sub.cancel_at_period_end = False
    sub.save(update_fields=["cancel_at_period_end"])
    _ledger(sub, on=on, reason="cancellation undone", by=by)
    subscription_sync_status(subscription=sub, on=on)
    return sub


@transaction.atomic
def subscription_accept_trial_offer(*, subscription: Subscription, on: date, by=None) -> Subscription:
    """Take the plan's trial offer: an amount off the first monthly invoice (SPEC §2.5)."""
    sub = _lock(subscription)
    if sub.plan.trial_offer is None:
        raise Refused(f"The {sub.plan.name} plan has no trial offer.")
    if sub.status != Status.TRIALING:
        raise Refused("The trial offer can only be taken during the trial.")
    sub.trial_offer_accepted = True
    sub.save(update_fields=["trial_offer_accepted"])
    _ledger(sub, on=on, reason="trial offer accepted", by=by)
    return sub


def refund_window_end(sub: Subscription) -> date | None:
    """The last day of the money-back guarantee, or None if there is none (yet)."""
    if not sub.plan.refund_window_days:
        return None
    first = sub.invoices.filter(status=Invoice.Status.PAID).order_by("issued_on", "id").first()
    if first is None:
        return None
    return first.issued_on + timedelta(days=sub.plan.refund_window_days)


REFUND_VOID_REASON = "Canceled under the money-back guarantee"


@transaction.atomic
def subscription_request_refund(*, subscription: Subscription, on: date, by=None) -> list:
    """Money-back guarantee: full refund of every paid invoice; expires at once (SPEC §2.5).

    Its open invoices are voided in the same transaction, after what was paid on them is refunded:
    an expired subscription owes nothing more, so dunning must not lock the account for them later.
    """
    sub = _lock(subscription)
    if sub.status == Status.EXPIRED:
        raise Refused("This subscription has already expired.")
    if not sub.plan.refund_window_days:
        raise Refused(
            f"The {sub.plan.name} plan has no money-back guarantee.",
            code="no_guarantee",
        )
    end = refund_window_end(sub)
    if end is None:
        raise Refused(
            "Nothing has been paid yet, so there is nothing to refund.",
            code="nothing_paid",
        )
    if on > end:
        raise Refused(
            f"The money-back guarantee ended on {fmt_day(end)}.",
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


def _expire(sub: Subscription, *, on: date, reason: str, by=None) -> None:
    sub.status = Status.EXPIRED
    sub.expired_on = on
    sub.save(update_fields=["status", "expired_on"])
    _ledger(sub, on=on, reason=reason, by=by)


# ---------------------------------------------------------------- status, dunning, payment


def _lock_day(invoice: Invoice) -> date:
    grace = invoice.subscription.plan.grace_days if invoice.subscription_id else 14
    return invoice.issued_on + timedelta(days=grace)


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
            if _lock_day(inv) <= on
        ]
        if not still:
            Account.objects.filter(pk=account.pk).update(locked_on=None)
            account.locked_on = None
            history_record(instance=account, reason="Unlocked: nothing unpaid past its lock day")


@transaction.atomic
def account_unlock(*, account: Account, on: date, by=None, reason: str = "") -> Account:
    """Support unlocks an account by hand (SPEC §2.5); the history says who and why."""
    Account.objects.filter(pk=account.pk).update(locked_on=None)
    account.locked_on = None
    history_record(instance=account, reason=reason.strip() or "Unlocked by support", by=by)
    return account


def dunning_run(*, on: date, accounts=None) -> dict:
    """Past due after the due date; locked on issued_on + grace_days (SPEC §2.5)."""
    locked = 0
    qs = Invoice.objects.select_related("subscription__plan", "account").filter(status="open", due_on__lt=on)
    if accounts is not None:
        qs = qs.filter(account__in=accounts)
    for inv in qs:
        with transaction.atomic():
            if inv.subscription_id:
                subscription_sync_status(subscription=_lock(inv.subscription), on=on)
            if _lock_day(inv) <= on and not inv.account.locked_on:
                # Several invoices may share an account: only the first one locks it (and counts).
                if Account.objects.filter(pk=inv.account_id, locked_on__isnull=True).update(locked_on=on):
                    history_record(instance=inv.account, reason=f"Locked: {inv.number} unpaid past its grace days")
                    locked += 1
                inv.account.locked_on = on
    reminders_send(on=on, accounts=accounts)
    return {"locked": locked}


# ---------------------------------------------------------------- the daily run


def _has_payment_method(account: Account) -> bool:
    if account.payment_gateway == Account.Gateway.BANK_TRANSFER:
        return True
    from invoicing.gateways import has_payment_method

    return has_payment_method(account)


def _advance(sub: Subscription, *, on: date) -> list[Invoice]:
    """Move one subscription through every period boundary up to `on` (renewals, trial ends, expiry)."""
    issued = []
    while sub.status != Status.EXPIRED and sub.period_end <= on:
        boundary = sub.period_end
        if sub.status == Status.TRIALING:
            if sub.cancel_at_period_end:
                _expire(sub, on=boundary, reason="trial canceled; it ended unpaid")
                break
            if not _has_payment_method(sub.account):
                _expire(sub, on=boundary, reason="trial ended without a way to pay")
                break
            sub.status = Status.ACTIVE
            sub.anchor = boundary
            offer = sub.plan.trial_offer if sub.trial_offer_accepted and sub.cycle == Cycle.MONTHLY else None
            extra = [core.Discount(label="Trial offer", amount=offer)] if offer is not None else []
            issued.append(
                _renew(
                    sub,
                    boundary=boundary,
                    reason=Invoice.Reason.PURCHASE,
                    extra_discounts=extra,
                )
            )
            continue
        if sub.cancel_at_period_end:
            final = _issue(
                sub,
                reason=Invoice.Reason.FINAL,
                on=boundary,
                lines=[],
                waiting=_waiting(sub),
                billing_key=f"final:{sub.pk}:{boundary}",
            )
            issued.append(final)
            _expire(sub, on=boundary, reason="canceled; period ended")
            break
        if sub.pending_cycle:
            sub.cycle, sub.pending_cycle, sub.anchor = sub.pending_cycle, "", boundary
        issued.append(_renew(sub, boundary=boundary, reason=Invoice.Reason.RENEWAL))
    return [i for i in issued if i is not None]


def _begin_period(sub: Subscription, *, boundary: date, in_use: int) -> tuple[Period, core.Line | None]:
    """Move `sub` (unsaved) into the period that starts on `boundary`, reset its paid seats and price them."""
    period = period_for(sub.anchor, sub.cycle, boundary)
    sub.period_start, sub.period_end = period.start, period.end
    sub.paid_seats = _charged_seats(sub, in_use)
    if sub.plan.seat_mode == SeatMode.FIXED:
        sub.bought_seats = max(sub.bought_seats, sub.minimum_seats)
    line = core.charge_line(
        description=f"{_label(sub.plan, sub.cycle)} · {_seats(sub.paid_seats)}",
        unit_price=_price(sub.plan, sub.cycle),
        quantity=sub.paid_seats,
        period=period,
    )
    return period, line


def _renew(sub: Subscription, *, boundary: date, reason: str, extra_discounts=()) -> Invoice | None:
    """A period's first day: reset paid seats and invoice them in advance, with waiting lines (SPEC §2.4)."""
    in_use = seats_in_use(sub.account)
    period, line = _begin_period(sub, boundary=boundary, in_use=in_use)
    sub.save()
    _start_period(sub, on=boundary)
    _ledger(
        sub,
        on=boundary,
        reason="renewed" if reason == Invoice.Reason.RENEWAL else "trial ended",
        in_use=in_use,
    )
    return _issue(
        sub,
        reason=reason,
        on=boundary,
        lines=[line],
        waiting=_waiting(sub),
        extra_discounts=extra_discounts,
        billing_key=f"period:{sub.pk}:{period.start}",
    )


def _true_up(sub: Subscription, *, on: date) -> list[Invoice]:
    """Waiting lines whose day has come, one invoice per day (SPEC §2.3 `monthly_true_up`)."""
    issued = []
    lines = _waiting(sub, until=on)
    for bill_on in sorted({line.bill_on for line in lines}):
        group = [line for line in lines if line.bill_on == bill_on]
        inv = _issue(
            sub,
            reason=Invoice.Reason.TRUE_UP,
            on=bill_on,
            lines=[],
            waiting=group,
            billing_key=f"trueup:{sub.pk}:{bill_on}",
        )
        issued.append(inv)
    return [i for i in issued if i is not None]


def _plain_renewal(sub: Subscription, *, on: date) -> bool:
    """A renewal the daily run may write in bulk: one period boundary by `on`, and nothing but a renewal on it."""
    return (
        sub.status not in (Status.TRIALING, Status.EXPIRED)
        and not sub.cancel_at_period_end
        and not sub.pending_cycle
        and sub.period_end <= on
        and sub.plan.price(sub.cycle) is not None
        and period_for(sub.anchor, sub.cycle, sub.period_end).end > on
    )


def _redemptions_save(redemptions: list[CouponRedemption]) -> None:
    """`bulk_update(redemptions, REDEMPTION_COUNT_FIELDS)` as one UPDATE per row sent together.

    `bulk_update` builds a CASE per row and field, and compiles it for longer than the run takes to
    write everything else of a renewal.
    """
    if not redemptions:
        return
    table, quote = connection.ops.quote_name(CouponRedemption._meta.db_table), connection.ops.quote_name
    assignments = ", ".join(f"{quote(name)} = %s" for name in REDEMPTION_COUNT_FIELDS)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET {assignments} WHERE id = %s",  # noqa: S608
            [[getattr(r, name) for name in REDEMPTION_COUNT_FIELDS] + [r.pk] for r in redemptions],
        )


def _renew_many(subs: list[Subscription]) -> list[Invoice]:
    """`_renew` for many plain renewals at once (the daily run): the same rows, a few statements per batch.

    Seats in use, coupons, waiting lines and credit balances are read once for the batch.
    Subscriptions whose seats did not change get their new period in one UPDATE per period,
    recorded by their seat ledger row ("renewed") rather than a history row; those whose
    seats changed are saved one by one, so that everything that follows seats (licences,
    history) hears of it.
    """
    in_use = seats_in_use_by_account(s.account_id for s in subs)
    redemptions = {
        r.subscription_id: r
        for r in CouponRedemption.objects.select_related("coupon").filter(subscription__in=subs, ended_on__isnull=True)
    }
    waiting: dict[int, list[InvoiceLine]] = {}
    for line in InvoiceLine.objects.filter(subscription__in=subs, invoice__isnull=True).order_by("bill_on", "id"):
        waiting.setdefault(line.subscription_id, []).append(line)
    drafts, ledger, moved, counted = [], [], {}, []
    for sub in subs:
        boundary, seats_before = sub.period_end, (sub.paid_seats, sub.bought_seats)
        period, line = _begin_period(sub, boundary=boundary, in_use=in_use[sub.account_id])
        if (sub.paid_seats, sub.bought_seats) == seats_before:
            moved.setdefault((period.start, period.end), []).append(sub)
        else:
            sub.save()
        r = redemptions.get(sub.pk)
        if r is not None:
            _count_period(r, sub, on=boundary)
            counted.append(r)
        ledger.append(
            SeatChange(
                subscription=sub,
                on=boundary,
                reason="renewed",
                seats_in_use=in_use[sub.account_id],
                paid_seats=sub.paid_seats,
                bought_seats=sub.bought_seats,
            )
        )
        drafts.append(
            InvoiceDraft(
                account=sub.account,
                subscription=sub,
                reason=Invoice.Reason.RENEWAL,
                on=boundary,
                lines=[line],
                waiting=waiting.get(sub.pk, []),
                discounts=[d for d in [_redemption_discount(r, sub)] if d is not None],
                billing_key=f"period:{sub.pk}:{period.start}",
            )
        )
    for (start, end), group in moved.items():
        Subscription.objects.filter(pk__in=[s.pk for s in group]).update(period_start=start, period_end=end)
    _redemptions_save(counted)
    rows_insert(ledger)
    return [inv for inv in invoice_issue_many(drafts=drafts) if inv is not None]


RUN_CHUNK = 500


@dataclass
class RunSummary:
    on: date
    subscriptions: int = 0
    renewed: int = 0
    expired: int = 0
    issued: int = 0
    amounts: dict = field(default_factory=dict)
    locked: int = 0

    def count(self, invoices: list[Invoice]) -> None:
        for inv in invoices:
            self.issued += 1
            self.renewed += inv.reason == Invoice.Reason.RENEWAL
            self.amounts[inv.currency] = self.amounts.get(inv.currency, 0) + inv.total.amount

    def totals(self) -> dict[str, str]:
        return {k: str(v) for k, v in sorted(self.amounts.items())}

    def add(self, other: "RunSummary") -> None:
        """Count in what another process's share of the same run did (`run_billing --workers`)."""
        for name in ("subscriptions", "renewed", "expired", "issued", "locked"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for currency, amount in other.amounts.items():
            self.amounts[currency] = self.amounts.get(currency, 0) + amount


def _run_one(pk: int, *, on: date, summary: RunSummary) -> None:
    """Everything but a plain renewal, one subscription per transaction: trial ends, expiries, switches, true-ups."""
    with transaction.atomic():
        sub = (
            Subscription.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("plan", "account")
            .filter(pk=pk)
            .exclude(status=Status.EXPIRED)
            .first()
        )
        if sub is None:
            return
        summary.subscriptions += 1
        issued = _advance(sub, on=on)
        summary.expired += sub.status == Status.EXPIRED
        if sub.status != Status.EXPIRED:
            issued += _true_up(sub, on=on)
        summary.count(issued)


def renewals_run(*, on: date, accounts=None, progress=None, part: int = 0, parts: int = 1) -> RunSummary:
    """The daily run's billing: renewals, trial ends, expiries and waiting lines due by `on` (SPEC §2.4).

    Subscriptions are claimed in chunks with `select_for_update(skip_locked=True)`
    and re-read under the lock, so two runs at once (or the same day twice) bill
    everything exactly once; unique billing keys back that up. Plain renewals of a
    chunk are written together in one transaction (`_renew_many`); everything else
    goes one subscription per transaction. `progress(done, total)` is told after each chunk.
    With `parts` > 1, only the subscriptions whose id leaves `part` divided by `parts`:
    processes given parts 0 … parts − 1 share the run without ever waiting on one another's chunks.
    """
    summary = RunSummary(on=on)
    waiting_due = InvoiceLine.objects.filter(subscription=OuterRef("pk"), invoice__isnull=True, bill_on__lte=on)
    due = Subscription.objects.exclude(status=Status.EXPIRED).filter(Q(period_end__lte=on) | Exists(waiting_due))
    if accounts is not None:
        due = due.filter(account__in=accounts)
    if parts > 1:
        due = due.alias(part=F("pk") % parts).filter(part=part)
    total = due.count() if progress is not None else 0
    done, last = 0, 0
    while ids := list(due.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:RUN_CHUNK]):
        last = ids[-1]
        with transaction.atomic():
            claimed = list(
                Subscription.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("account")
                .filter(pk__in=ids)
                .exclude(status=Status.EXPIRED)
                .order_by("pk")
            )
            plans = Plan.objects.in_bulk({sub.plan_id for sub in claimed})
            for sub in claimed:
                sub.plan = plans[sub.plan_id]
            plain = [sub for sub in claimed if _plain_renewal(sub, on=on)]
            if plain:
                summary.subscriptions += len(plain)
                summary.count(_renew_many(plain))
        bulk = {sub.pk for sub in plain}
        for pk in ids:
            if pk not in bulk:
                _run_one(pk, on=on, summary=summary)
        done += len(ids)
        if progress is not None:
            progress(done, max(total, done))
    return summary


def billing_run(*, on: date, accounts=None, progress=None) -> RunSummary:
    """The daily run: renewals, trial ends, expiries, waiting lines (`renewals_run`), then dunning."""
    summary = renewals_run(on=on, accounts=accounts, progress=progress)
    from invoicing.stripe_services import card_charges_retry

    card_charges_retry(on=on, accounts=accounts)  # failed cards again on days 1, 3, 5, before the lock (issue 8)
    summary.locked = dunning_run(on=on, accounts=accounts)["locked"]
    invoice_deliver_pending(on=on, accounts=accounts)  # PDFs and emails that failed before (SPEC §2.6)
    return summary


# ---------------------------------------------------------------- support


@transaction.atomic
def subscription_extend_trial(*, subscription: Subscription, days: int, on: date, by=None) -> Subscription:
    """Support lengthens a trial by `days`: the first paid period starts that much later (SPEC §2.5)."""
    sub = _lock(subscription)
    if sub.status != Status.TRIALING:
        raise Refused("Only a subscription in its trial can have the trial extended.")
    if days <= 0:
        raise Refused("Extend the trial by at least one day.", field="days")
    sub.trial_end = sub.period_end = sub.period_end + timedelta(days=days)
    sub.anchor = sub.period_start
    sub.save(update_fields=["trial_end", "period_end", "anchor"])
    _ledger(sub, on=on, reason=f"trial extended by {days} days to {sub.trial_end}", by=by)
    return sub


@transaction.atomic
def subscription_cancel_now(*, subscription: Subscription, on: date, by=None) -> Invoice | None:
    """Support ends a subscription today: waiting lines are invoiced, no credit for unused days, it expires.

    Unused time is not credited automatically; support grants credit separately if it is owed.
    """
    sub = _lock(subscription)
    if sub.status == Status.EXPIRED:
        raise Refused("This subscription has already expired.")
    final = _issue(
        sub,
        reason=Invoice.Reason.FINAL,
        on=on,
        lines=[],
        waiting=_waiting(sub),
        billing_key=f"final:{sub.pk}:{on}",
    )
    _expire(sub, on=on, reason="canceled now by support", by=by)
    return final


@transaction.atomic
def plan_keep_price_for_subscribers(*, plan: Plan, on: date, by=None) -> Plan | None:
    """Before a plan's price changes: keep its live subscriptions on today's price (SPEC §2.4).

    Renewals read the price from the plan, so the subscriptions move to a hidden copy of the
    plan as it is now; new customers get the changed plan. Issued invoices never change.
    """
    live = list(Subscription.objects.select_for_update().filter(plan=plan).exclude(status=Status.EXPIRED))
    if not live:
        return None
    copy = Plan.objects.get(pk=plan.pk)
    copy.pk = None
    copy.code = f"{plan.code}-{on:%Y%m%d}"[:40]
    n = 1
    while Plan.objects.filter(code=copy.code).exists():
        n += 1
        copy.code = f"{plan.code}-{on:%Y%m%d}-{n}"[:40]
    copy.name = f"{plan.name} (price until {on:%Y-%m-%d})"[:100]
    copy.is_public = False
    copy.save()
    for sub in live:
        sub.plan = copy
        sub.save(update_fields=["plan"])
        _ledger(sub, on=on, reason=f"kept on the price of {plan.name} as {copy.code}", by=by)
    return copy
