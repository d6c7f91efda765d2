"""Coupons (SPEC §2.5): redeemed with the reason one does not apply, one at a time, counted per paid period."""

from datetime import date

from django.db.models import F
from django.utils.translation import gettext

from accounts.models import Account
from accounts.services import history_record
from common.dryrun import atomic
from common.errors import Refused
from invoicing.formatting import day as fmt_day
from invoicing.models import Invoice
from invoicing.services import rows_update
from subscriptions.models import Coupon, CouponRedemption, Plan, Subscription
from subscriptions.selectors import active_redemption
from subscriptions.services._common import Status, _lock

REDEMPTION_COUNT_FIELDS = ("periods_used", "active_period_start", "ended_on", "ended_reason")


def _coupon_for(*, code: str, account: Account, cycle: str, on: date, plan: Plan) -> Coupon:
    """The coupon named `code`, locked, or Refused with the reason it does not apply (SPEC §2.5)."""
    coupon = Coupon.objects.select_for_update().filter(code__iexact=code.strip()).first()
    if coupon is None or not coupon.is_active:
        raise Refused(
            gettext("%(code)s is not a valid coupon.") % {"code": code}, code="coupon_unknown", field="coupon"
        )
    if coupon.redeem_by is not None and on > coupon.redeem_by:
        raise Refused(
            gettext("%(code)s expired on %(day)s.") % {"code": coupon.code, "day": fmt_day(coupon.redeem_by)},
            code="coupon_expired",
            field="coupon",
        )
    if coupon.max_redemptions is not None and coupon.times_redeemed >= coupon.max_redemptions:
        raise Refused(
            gettext("%(code)s has been fully redeemed.") % {"code": coupon.code},
            code="coupon_used_up",
            field="coupon",
        )
    # A new customer has never been invoiced nor subscribed before (an expired trial counts).
    if coupon.new_customers_only and (
        Invoice.objects.filter(account=account).exists()
        or Subscription.objects.filter(account=account, status=Status.EXPIRED).exists()
    ):
        raise Refused(
            gettext("%(code)s is for new customers only.") % {"code": coupon.code},
            code="coupon_new_only",
            field="coupon",
        )
    if not coupon.valid_for(cycle):
        raise Refused(
            gettext("%(code)s is not valid with %(cycle)s billing.") % {"code": coupon.code, "cycle": cycle},
            code="coupon_cycle",
            field="coupon",
        )
    if coupon.amount_off is not None and coupon.amount_off.currency.code != plan.currency:
        raise Refused(
            gettext("%(code)s is in %(currency)s.")
            % {"code": coupon.code, "currency": coupon.amount_off.currency.code},
            code="coupon_currency",
            field="coupon",
        )
    return coupon


def _redeem(coupon: Coupon, sub: Subscription, *, on: date, by=None) -> CouponRedemption:
    Coupon.objects.filter(pk=coupon.pk).update(times_redeemed=F("times_redeemed") + 1)
    history_record(instance=coupon, reason=f"Redeemed by {sub.account} (subscription {sub.pk})", by=by)
    return CouponRedemption.objects.create(coupon=coupon, subscription=sub, redeemed_on=on)


@atomic
def subscription_apply_coupon(*, subscription: Subscription, code: str, on: date, by=None) -> CouponRedemption:
    """Redeem a coupon on a live subscription; after purchase it starts at the next renewal (SPEC §2.5)."""
    sub = _lock(subscription)
    if sub.status == Status.EXPIRED:
        raise Refused(gettext("This subscription has expired."))
    current = active_redemption(sub)
    if current is not None:
        raise Refused(
            gettext("%(code)s is already active; one coupon at a time.") % {"code": current.coupon.code},
            code="coupon_one",
            field="coupon",
        )
    coupon = _coupon_for(code=code, account=sub.account, cycle=sub.cycle, on=on, plan=sub.plan)
    return _redeem(coupon, sub, on=on, by=by)


def _count_period(r: CouponRedemption, sub: Subscription, *, on: date) -> None:
    """A new paid period of `sub` begins: count it on the redemption (unsaved), or end the coupon."""
    c = r.coupon
    if not c.valid_for(sub.cycle):
        r.ended_on, r.ended_reason = on, f"{c.code} is not valid with {sub.cycle} billing"
    elif c.duration_periods is None or r.periods_used < c.duration_periods:
        r.periods_used += 1
        r.active_period_start = sub.period_start
    else:
        r.ended_on, r.ended_reason = on, "used up"


def _redemptions_save(redemptions: list[CouponRedemption]) -> None:
    """Save the counts of `redemptions` (`_count_period`) in one statement (`rows_update`)."""
    rows_update(
        CouponRedemption,
        REDEMPTION_COUNT_FIELDS,
        [(r.pk, *(getattr(r, name) for name in REDEMPTION_COUNT_FIELDS)) for r in redemptions],
    )


def _start_period(sub: Subscription, *, on: date) -> None:
    """A new paid period begins at purchase or a switch: count it against the active coupon, or end it."""
    r = active_redemption(sub)
    if r is not None:
        _count_period(r, sub, on=on)
        _redemptions_save([r])
