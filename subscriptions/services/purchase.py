"""Purchase (SPEC §2.1): a plan bought, or its trial started, on day d."""

from datetime import date, timedelta

from django.utils.translation import gettext

from accounts.models import Account
from accounts.services import billing_details_update
from billing import plan as core
from billing.calendar import Period, first_period
from common.dryrun import atomic, rows_lock
from common.errors import Refused
from invoicing.models import Invoice
from subscriptions.models import Cycle, Plan, SeatMode, Subscription
from subscriptions.selectors import live_subscription, seats_in_use
from subscriptions.services._common import (
    PLAN_LINE,
    Status,
    _charged_seats,
    _check_currency,
    _check_max_seats,
    _describe,
    _issue,
    _ledger,
    _price,
)
from subscriptions.services.coupons import _coupon_for, _redeem, _start_period


@atomic
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
    rows_lock(Account.objects.filter(pk=account.pk))
    account.refresh_from_db()
    if live_subscription(account) is not None:
        raise Refused(
            gettext("%(account)s already has a subscription.") % {"account": account.name}, code="already_subscribed"
        )
    if cycle not in Cycle.values:
        raise Refused(gettext("“%(cycle)s” is not a billing cycle.") % {"cycle": cycle}, field="cycle")
    _check_currency(account, plan)
    price = _price(plan, cycle)
    in_use = seats_in_use(account)
    fixed = plan.seat_mode == SeatMode.FIXED
    if fixed:
        if seats is None:
            raise Refused(
                gettext("Choose how many seats to buy on the %(plan)s plan.") % {"plan": plan.name}, field="seats"
            )
        if seats < in_use:
            raise Refused(
                gettext("%(n)s people already take seats; buy at least %(n)s.") % {"n": in_use},
                field="seats",
            )
    _check_max_seats(plan, seats if fixed else in_use)
    coupon_obj = None
    if coupon:
        coupon_obj = _coupon_for(code=coupon, account=account, cycle=cycle, on=on, plan=plan)
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
            description=_describe(account, PLAN_LINE, plan, cycle, sub.paid_seats),
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


@atomic
def subscription_start(*, account: Account, billing_details: dict | None = None, by=None, **purchase) -> Subscription:
    """Subscribe from Settings › Subscription: first the billing details the tax rules need (the buyer's
    country, a business's VAT ID), then `subscription_create`. One transaction, so its preview shows the
    tax the first invoice will carry, and a refusal of either saves neither."""
    if billing_details:
        billing_details_update(account=account, changes=billing_details, by=by)
    return subscription_create(account=account, by=by, **purchase)
