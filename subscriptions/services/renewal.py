"""Renewal (SPEC §2.4): on a period's first day paid seats are reset and invoiced in advance, with the
proration lines still waiting, less the coupon active in the new period.

One path, whether the daily run renews thousands of subscriptions or one: `renewals_write` renews a
batch in a few statements, and a trial's end, support's switch at period end or a day the run missed
is a batch of one.
"""

from dataclasses import dataclass, field
from functools import lru_cache

from billing import plan as core
from billing.calendar import Period, period_for
from common.lookups import AnyOf
from invoicing.models import Invoice
from invoicing.services import (
    InvoiceDraft,
    Issued,
    invoice_issue_many,
    rows_of,
    rows_update,
    rows_write,
    waiting_by_subscription,
)
from subscriptions.models import CouponRedemption, SeatChange, Subscription
from subscriptions.selectors import redemption_discount, seats_in_use_by_account
from subscriptions.services._common import PLAN_LINE, _charged_seats, _describe, _price
from subscriptions.services.coupons import _count_period, _redemptions_save


class Claimed:
    """A subscription due for a plain renewal as the daily run's claim read it: its fields by attribute
    name (`account_id`, `plan_id`, …) with its `plan` and `account`, and no model instance (issue 15).

    `renewals_write` moves it into its next period as it would a Subscription; `save()` saves it as one
    — the model instance made from the row as read, given the new values — so that what hears of a
    saved subscription (history, webhook events, licences) hears of it as of any other.
    """

    def __init__(self, db: str, names: list[str], row: tuple, *, plan, account):
        self.__dict__.update(zip(names, row, strict=True))
        self._db, self._names, self._row = db, names, row
        self.plan, self.account = plan, account

    @property
    def pk(self) -> int:
        return self.id

    def save(self) -> None:
        sub = Subscription.from_db(self._db, self._names, self._row)
        sub.plan, sub.account = self.plan, self.account
        for name in self._names:
            setattr(sub, name, getattr(self, name))
        sub.save()


@dataclass
class Renewal:
    """One subscription entering the period that starts on its `period_end`.

    `reason` is `purchase` when a trial ends, with the trial offer in `discounts`. `terms_changed`
    says its status, anchor or cycle changed with it (set, unsaved, by the caller).
    """

    subscription: Subscription | Claimed
    reason: str = Invoice.Reason.RENEWAL
    discounts: list[core.Discount] = field(default_factory=list)
    terms_changed: bool = False


# Most subscriptions renewing on a day share an anchor day, cycle and period: `period_for` once for each.
period_of = lru_cache(maxsize=4096)(period_for)


def _begin_period(sub: Subscription, *, in_use: int) -> tuple[Period, core.Line]:
    """Move `sub` (unsaved) into the period that starts on its `period_end`, reset its paid seats, price them."""
    period = period_of(sub.anchor, sub.cycle, sub.period_end)
    sub.period_start, sub.period_end = period.start, period.end
    # fixed: the bought seats, at least the minimum; the bought count itself stays (SPEC §2.3)
    sub.paid_seats = _charged_seats(sub, in_use)
    line = core.charge_line(
        description=_describe(sub.account, PLAN_LINE, sub.plan, sub.cycle, sub.paid_seats),
        unit_price=_price(sub.plan, sub.cycle),
        quantity=sub.paid_seats,
        period=period,
    )
    return period, line


def renewals_write(*, renewals: list[Renewal], in_use: dict[int, int] | None = None) -> list[Issued | None]:
    """Renew every subscription of `renewals` (SPEC §2.4); the invoice of each, or None if it charged nothing.

    The caller holds the subscriptions' row locks, in its transaction (the daily run's chunk or `_run_one`).

    Seats in use (unless the caller read them with its lock: `in_use`, by account id), coupons, waiting
    lines and credit balances are read once for the batch.
    Subscriptions whose period alone moved get it in one statement (`rows_update`), recorded by their
    seat ledger row ("renewed") rather than a history row; those whose seats or terms changed
    are saved one by one, so that everything that follows them (licences, history) hears of it.
    The invoices are issued together by `invoice_issue_many` (COPY on PostgreSQL).
    """
    subs = [r.subscription for r in renewals]
    pks = [s.pk for s in subs]
    if in_use is None:
        in_use = seats_in_use_by_account(s.account_id for s in subs)
    active = CouponRedemption.objects.select_related("coupon").filter(
        AnyOf("subscription_id", pks), ended_on__isnull=True
    )
    redemptions = {r.subscription_id: r for r in active}
    waiting = waiting_by_subscription(pks)
    drafts, ledger, moved, counted = [], [], [], []
    for renewal in renewals:
        sub = renewal.subscription
        boundary, seats_before = sub.period_end, (sub.paid_seats, sub.bought_seats)
        period, line = _begin_period(sub, in_use=in_use[sub.account_id])
        if renewal.terms_changed or (sub.paid_seats, sub.bought_seats) != seats_before:
            sub.save()
        else:
            moved.append((sub.pk, period.start, period.end))
        redemption = redemptions.get(sub.pk)
        if redemption is not None:
            _count_period(redemption, sub, on=boundary)
            counted.append(redemption)
        ledger.append(
            {
                "subscription_id": sub.pk,
                "on": boundary,
                "reason": "renewed" if renewal.reason == Invoice.Reason.RENEWAL else "trial ended",
                "seats_in_use": in_use[sub.account_id],
                "paid_seats": sub.paid_seats,
                "bought_seats": sub.bought_seats,
            }
        )
        coupon = redemption_discount(redemption, sub)
        drafts.append(
            InvoiceDraft(
                account=sub.account,
                subscription=sub,
                reason=renewal.reason,
                on=boundary,
                lines=[line],
                waiting=waiting.get(sub.pk, []),
                discounts=[d for d in [coupon, *renewal.discounts] if d is not None],
                billing_key=f"period:{sub.pk}:{period.start}",
            )
        )
    rows_update(Subscription, ("period_start", "period_end"), moved)
    _redemptions_save(counted)
    rows_write(SeatChange, rows_of(SeatChange, ledger))
    return invoice_issue_many(drafts=drafts)
