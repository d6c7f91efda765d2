"""Terms (SPEC §2.4): the billing cycle (monthly ↔ annual), the plan, and the plan's price for those on it."""

from datetime import date, timedelta

from django.db import transaction

from billing import plan as core
from billing.calendar import first_period
from common.errors import Refused
from invoicing.models import CreditNote, Invoice
from invoicing.services import credit_note_issue, line_to_core
from subscriptions.models import Cycle, Plan, SeatMode, Subscription, SwitchDocuments, ToMonthly
from subscriptions.selectors import (
    charged_fraction,
    coupon_discount,
    seats_in_use,
    subscription_period,
    waiting_lines,
)
from subscriptions.services._common import (
    Status,
    _charged_seats,
    _check_currency,
    _check_max_seats,
    _issue,
    _label,
    _ledger,
    _lock,
    _price,
    _seats,
)
from subscriptions.services.coupons import _start_period


def _restart(sub: Subscription, *, plan: Plan, cycle: str, on: date, reason: str, by=None) -> Invoice | None:
    """Credit the unused days of the current terms and start a new period from on+1 (SPEC §2.4).

    Monthly → annual on a plan whose `switch_documents` is `credit_note_and_invoice` credits the unused
    days by a credit note issued first; the annual invoice follows and the credit balance pays it in part.
    """
    old_plan, old_cycle = sub.plan, sub.cycle
    credit = core.credit_line(
        description=f"Unused time on {_label(old_plan, old_cycle)} · {_seats(sub.paid_seats)}",
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
        description=f"{_label(plan, cycle)} · {_seats(sub.paid_seats)}",
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
            tax_rate=sub.account.tax_rate,
        ),
        memo=f"Unused time: {credit.description}",
        by=by,
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
    """Prorated plan change: credit unused days on the old plan, charge the new one to the same end (SPEC §2.4)."""
    sub = _lock(subscription)
    if sub.status == Status.EXPIRED:
        raise Refused("This subscription has expired.")
    if plan.pk == sub.plan_id:
        raise Refused(f"You are already on the {plan.name} plan.", field="plan")
    _check_currency(sub.account, plan)
    new_price = _price(plan, sub.cycle)
    in_use = seats_in_use(sub.account)
    old_plan = sub.plan
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
        description=f"Unused time on {_label(old_plan, sub.cycle)} · {_seats(sub.paid_seats)}",
        unit_price=_price(old_plan, sub.cycle),
        quantity=sub.paid_seats,
        period=period,
        on=on,
        charged_fraction=charged_fraction(sub),
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


@transaction.atomic
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
    for sub in live:
        sub.plan = copy
        sub.save(update_fields=["plan"])
        _ledger(sub, on=on, reason=f"kept on the price of {plan.name} as {copy.code}", by=by)
    return copy
