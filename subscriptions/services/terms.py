"""Terms (SPEC §2.4): the billing cycle (monthly ↔ annual), the plan (now, or a downgrade at the period's
end), and the plan's price for those on it."""

from datetime import date, timedelta

from django.utils.translation import gettext

from accounts.tax import account_tax
from billing import plan as core
from billing.calendar import first_period
from common.dryrun import atomic
from common.errors import Refused
from common.locales import in_invoice_language
from invoicing.formatting import billed
from invoicing.formatting import day as fmt_day
from invoicing.models import CreditNote, Invoice
from invoicing.services import credit_note_issue, line_to_core
from subscriptions.models import Cycle, Plan, SeatMode, Subscription, SwitchDocuments, ToMonthly
from subscriptions.selectors import (
    charged_fraction,
    coupon_discount,
    plan_change_waits_until,
    seats_in_use,
    subscription_period,
    waiting_lines,
)
from subscriptions.services._common import (
    PLAN_LINE,
    UNUSED_LINE,
    Status,
    _charged_seats,
    _check_currency,
    _check_max_seats,
    _check_paid_up,
    _describe,
    _held,
    _issue,
    _ledger,
    _lock,
    _price,
)
from subscriptions.services.coupons import _start_period


def _restart(sub: Subscription, *, plan: Plan, cycle: str, on: date, reason: str, by=None) -> Invoice | None:
    """Credit the unused days of the current terms and start a new period from on+1 (SPEC §2.4).

    Monthly → annual on a plan whose `switch_documents` is `credit_note_and_invoice` credits the unused
    days by a credit note issued first; the annual invoice follows and the credit balance pays it in part.
    """
    old_plan, old_cycle = sub.plan, sub.cycle
    credit = core.credit_line(
        description=_describe(sub.account, UNUSED_LINE, old_plan, old_cycle, sub.paid_seats),
        unit_price=_price(old_plan, old_cycle),
        quantity=sub.paid_seats,
        period=subscription_period(sub),
        on=on,
        charged_fraction=charged_fraction(sub),
    )
    in_use = seats_in_use(sub.account)
    sub.plan, sub.cycle = plan, cycle
    period = first_period(on + timedelta(days=1), cycle)
    sub.anchor, sub.period_start, sub.period_end = period.start, period.start, period.end
    sub.paid_seats = _charged_seats(sub, in_use)
    sub.pending_cycle = ""
    sub.save()
    _start_period(sub, on=on)
    charge = core.charge_line(
        description=_describe(sub.account, PLAN_LINE, plan, cycle, sub.paid_seats),
        unit_price=_price(plan, cycle),
        quantity=sub.paid_seats,
        period=period,
    )
    _ledger(sub, on=on, reason=reason, by=by, in_use=in_use)
    waiting = waiting_lines(sub)
    lines = [credit, charge]
    if (
        credit is not None
        and cycle == Cycle.ANNUAL
        and plan.switch_documents == SwitchDocuments.CREDIT_NOTE_AND_INVOICE
    ):
        _switch_credit_note(sub, credit=credit, invoice_lines=[charge, *map(line_to_core, waiting)], on=on, by=by)
        lines = [charge]
    return _issue(sub, reason=Invoice.Reason.CYCLE_SWITCH, on=on, lines=lines, waiting=waiting)


def _switch_credit_note(sub: Subscription, *, credit: core.Line, invoice_lines: list, on: date, by=None) -> None:
    """Timebook's first document: the unused days (and the tax they take off) to the credit balance (SPEC §2.4)."""
    credit_note_issue(
        account=sub.account,
        subscription=sub,
        reason=CreditNote.Reason.CYCLE_SWITCH,
        on=on,
        lines=core.switch_credit_note_lines(
            credit=credit,
            invoice_lines=[line for line in invoice_lines if line is not None],
            currency=sub.account.currency,
            discounts=[d for d in [coupon_discount(sub)] if d is not None],
            tax_rate=account_tax(sub.account, on).rate,
            tax_included=sub.plan.prices_include_tax,
        ),
        memo=_unused_memo(sub, credit.description),
        by=by,
    )


def _unused_memo(sub: Subscription, description: str) -> str:
    """The switch credit note's memo, in the account's invoice language like its line."""
    with in_invoice_language(sub.account):
        return gettext("Unused time: %(line)s") % {"line": description}


@atomic
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
        raise Refused(gettext("“%(cycle)s” is not a billing cycle.") % {"cycle": cycle}, field="cycle")
    if sub.status == Status.EXPIRED:
        raise Refused(gettext("This subscription has expired."))
    if cycle == sub.cycle:
        raise Refused(gettext("You are already billed %(cycle)s.") % {"cycle": billed(cycle)}, field="cycle")
    if not by_support:
        _check_paid_up(sub)
    _price(sub.plan, cycle)
    if sub.pending_plan is not None:
        _price(sub.pending_plan, cycle)
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
                gettext(
                    "Switching from annual to monthly billing is done by support. Contact support and we will "
                    "switch you at the end of your annual period."
                ),
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
    if sub.pending_plan is not None:
        raise Refused(
            gettext(
                "A change to the %(plan)s plan is scheduled for %(day)s; undo it before switching the billing cycle."
            )
            % {"plan": sub.pending_plan.name, "day": fmt_day(sub.period_end)},
            code="plan_change_scheduled",
            field="cycle",
        )
    return _restart(sub, plan=sub.plan, cycle=cycle, on=on, reason=f"switched to {cycle}", by=by)


@atomic
def subscription_change_plan(*, subscription: Subscription, plan: Plan, on: date, by=None) -> Invoice | None:
    """Plan change (SPEC §2.4): prorated today, or scheduled for the period's end.

    Prorated: credit unused days on the old plan, charge the new one to the same end. A downgrade
    under the left plan's `downgrade` at_period_end is scheduled instead (nothing invoiced now);
    an upgrade replaces a scheduled downgrade, and choosing the current plan again undoes it.
    """
    sub = _lock(subscription)
    if sub.status == Status.EXPIRED:
        raise Refused(gettext("This subscription has expired."))
    if plan.pk == sub.plan_id:
        if sub.pending_plan_id is not None:
            _unschedule_plan(sub, on=on, by=by)
            return None
        raise Refused(gettext("You are already on the %(plan)s plan.") % {"plan": plan.name}, field="plan")
    _check_paid_up(sub)
    if plan.pk == sub.pending_plan_id:
        raise Refused(
            gettext("The change to the %(plan)s plan is already scheduled for %(day)s.")
            % {"plan": plan.name, "day": fmt_day(sub.period_end)},
            field="plan",
        )
    _check_currency(sub.account, plan)
    new_price = _price(plan, sub.cycle)
    in_use = seats_in_use(sub.account)
    if plan_change_waits_until(sub, plan) is not None:
        _check_max_seats(plan, in_use)
        _schedule_plan(sub, plan, on=on, by=by)
        return None
    old_plan = sub.plan
    held = _held(sub)
    sub.pending_plan = None
    if plan.seat_mode == SeatMode.FIXED and old_plan.seat_mode != SeatMode.FIXED:
        sub.bought_seats = sub.paid_seats
    # As at purchase and set_seats: a fixed plan counts the bought seats, an automatic one the people (SPEC §2.3).
    _check_max_seats(plan, sub.bought_seats if plan.seat_mode == SeatMode.FIXED else in_use)
    if sub.status == Status.TRIALING:
        sub.plan = plan
        sub.save(update_fields=["plan", "bought_seats"])
        _ledger(sub, on=on, reason=f"trial moved to {plan.name}", by=by)
        return None
    period = subscription_period(sub)
    credit = core.credit_line(
        description=_describe(sub.account, UNUSED_LINE, old_plan, sub.cycle, sub.paid_seats),
        unit_price=_price(old_plan, sub.cycle),
        quantity=sub.paid_seats,
        period=period,
        on=on,
        charged_fraction=charged_fraction(sub),
    )
    sub.plan = plan
    sub.paid_seats = _charged_seats(sub, in_use)
    sub.save(update_fields=["plan", "paid_seats", "bought_seats", "pending_plan"])
    charge = core.proration_line(
        description=_describe(sub.account, PLAN_LINE, plan, sub.cycle, sub.paid_seats),
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
    return _issue(sub, reason=Invoice.Reason.PLAN_CHANGE, on=on, lines=[credit, charge], waiting=held)


def _schedule_plan(sub: Subscription, plan: Plan, *, on: date, by=None) -> None:
    """A downgrade waits for the period's end: the renewal on that day is on `plan`, with no credit."""
    if sub.pending_cycle:
        _price(plan, sub.pending_cycle)  # the renewal it waits for is on the other cycle
    sub.pending_plan = plan
    sub.save(update_fields=["pending_plan"])
    _ledger(sub, on=on, reason=f"plan change to {plan.name} scheduled for {sub.period_end}", by=by)


def _unschedule_plan(sub: Subscription, *, on: date, by=None) -> Subscription:
    name = sub.pending_plan.name
    sub.pending_plan = None
    sub.save(update_fields=["pending_plan"])
    _ledger(sub, on=on, reason=f"scheduled change to {name} undone", by=by)
    return sub


@atomic
def subscription_undo_plan_change(*, subscription: Subscription, on: date, by=None) -> Subscription:
    """Undo a scheduled downgrade, any day before the period's end (SPEC §2.4 `downgrade`)."""
    sub = _lock(subscription)
    if sub.status == Status.EXPIRED:
        raise Refused(gettext("This subscription has already expired."))
    if sub.pending_plan_id is None:
        raise Refused(gettext("No plan change is scheduled."))
    return _unschedule_plan(sub, on=on, by=by)


def plan_change_apply_scheduled(sub: Subscription, *, boundary: date) -> None:
    """On the period's first day a scheduled downgrade takes effect (unsaved: the renewal saves it, SPEC §2.4)."""
    old, new = sub.plan, sub.pending_plan
    if new.seat_mode == SeatMode.FIXED and old.seat_mode != SeatMode.FIXED:
        sub.bought_seats = seats_in_use(sub.account)
    sub.plan, sub.pending_plan = new, None
    _ledger(sub, on=boundary, reason=f"plan changed from {old.name} to {new.name}, as scheduled")


@atomic
def plan_keep_price_for_subscribers(*, plan: Plan, on: date, by=None) -> Plan | None:
    """Before a plan's price changes: keep its live subscriptions on today's price (SPEC §2.4, plan prices).

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
    # The copy unlocks what the plan unlocks today (its entitlements), as it keeps today's price.
    for entitlement in plan.entitlements.all():
        entitlement.pk, entitlement.plan = None, copy
        entitlement.save()
    for sub in live:
        sub.plan = copy
        sub.save(update_fields=["plan"])
        _ledger(sub, on=on, reason=f"kept on the price of {plan.name} as {copy.code}", by=by)
    return copy
