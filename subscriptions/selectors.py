"""Reads about subscriptions, seats, coupons and their lock days: nothing here writes."""

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from moneyed import Money

from accounts.models import Account, Membership
from billing import plan as core
from billing.calendar import Period
from common.clock import today
from invoicing.models import Invoice, InvoiceLine
from invoicing.selectors import money_sum
from subscriptions.models import CouponRedemption, Plan, Subscription


def _seat_takers():
    return Membership.objects.exclude(status=Membership.Status.ARCHIVED).exclude(role=Membership.Role.NONE)


def seats_in_use(account: Account) -> int:
    """Active and invited members whose role is not `none`; the owner counts (SPEC §2.3)."""
    return _seat_takers().filter(account=account).count()


def seats_in_use_by_account(account_ids) -> dict[int, int]:
    """`seats_in_use` of many accounts in one query, keyed by account id (0 when none)."""
    ids = list(account_ids)
    counts = dict(_seat_takers().filter(account_id__in=ids).order_by().values_list("account_id").annotate(n=Count("*")))
    return {pk: counts.get(pk, 0) for pk in ids}


def seat_counts(account: Account) -> dict:
    """Seats in use and pending invitations, in one query."""
    taking = ~Q(memberships__status=Membership.Status.ARCHIVED) & ~Q(memberships__role=Membership.Role.NONE)
    return (
        type(account)
        .objects.filter(pk=account.pk)
        .aggregate(
            in_use=Count("memberships", filter=taking),
            invited=Count("memberships", filter=taking & Q(memberships__status=Membership.Status.INVITED)),
        )
    )


def seat_summary(account: Account, sub: Subscription | None) -> dict:
    """Seats in use (with pending invitations), paid and free, and the last day the free ones are paid for.

    One source for the Subscription page's seat boxes and the Members page's summary line (SPEC §3);
    a constant number of queries, however many members there are.
    """
    counts = seat_counts(account)
    if sub is None or sub.is_expired:
        return {**counts, "paid": None, "free": 0, "free_until": None}
    free = max(sub.paid_seats - counts["in_use"], 0)
    until = subscription_period(sub).last_day if free and not sub.is_trialing else None
    return {**counts, "paid": sub.paid_seats, "free": free, "free_until": until}


def live_subscription(account: Account) -> Subscription | None:
    """The account's subscription that has not expired, if any; its `account` is `account` (read with no query)."""
    return account.subscriptions.select_related("plan").exclude(status="expired").first()


def seats_taken(account_ref: OuterRef) -> Coalesce:
    """`seats_in_use` of the account `account_ref` points at, as a subquery."""
    taken = _seat_takers().filter(account=account_ref).order_by().values("account").annotate(n=Count("*"))
    return Coalesce(Subquery(taken.values("n")), 0)


def seat_state(account: Account, *, also: dict | None = None) -> tuple[Subscription | None, int, date | None]:
    """`live_subscription` (its plan and account loaded), `seats_in_use` and the account's `locked_on`, in one query.

    What a preview reads before and after the change it runs (issue 15). `also`: more annotations the
    subscription is read with, in the same query (none without a live subscription).
    """
    sub = (
        Subscription.objects.select_related("plan", "account")
        .filter(account=account)
        .exclude(status="expired")
        .annotate(taken=seats_taken(OuterRef("account_id")), **(also or {}))
        .first()
    )
    if sub is not None:
        return sub, sub.taken, sub.account.locked_on
    row = (
        Account.objects.filter(pk=account.pk)
        .annotate(taken=seats_taken(OuterRef("pk")))
        .values_list("taken", "locked_on")
        .first()
    )
    return (None, *row) if row is not None else (None, 0, None)


def latest_subscription(account: Account) -> Subscription | None:
    """The account's newest subscription, if any; its `account` is `account`."""
    return account.subscriptions.select_related("plan").order_by("-created_at", "-id").first()


def account_status(account: Account) -> str:
    """`active`, `locked` or `expired` (SPEC §4)."""
    if account.locked_on:
        return "locked"
    latest = latest_subscription(account)
    if latest is not None and latest.status == Subscription.Status.EXPIRED:
        return "expired"
    return "active"


# What the product is told about an account (GET /api/v1/account, licences, events).
PRODUCT_STATUSES = ("active", "trialing", "past_due", "locked", "expired")
# Locked and expired accounts have the product blocked for everyone (SPEC §2.5), so they unlock nothing.
ENTITLED_STATUSES = frozenset({"active", "trialing", "past_due"})


def product_status(account: Account, sub: Subscription | None, *, on: date) -> str:
    """One of PRODUCT_STATUSES: `locked` wins (an invoice unpaid past its lock day), then `expired` (no
    subscription that has not expired), `past_due` (an open invoice past its due date, not locked yet),
    `trialing`, else `active` (a canceled subscription runs, and is active, until its period ends).
    """
    if account.locked_on:
        return "locked"
    if sub is None or sub.is_expired:
        return "expired"
    if sub.status == Subscription.Status.PAST_DUE or (
        Invoice.objects.filter(account=account, status=Invoice.Status.OPEN, due_on__lt=on).exists()
    ):
        return "past_due"
    if sub.is_trialing:
        return "trialing"
    return "active"


def plan_entitlements(plan: Plan | None) -> list[dict]:
    """The plan's entitlements as [{"key": "max_projects", "limit": 50}, …], by key."""
    if plan is None:
        return []
    rows = plan.entitlements.order_by("key").values_list("key", "limit")
    return [{"key": key, "limit": limit} for key, limit in rows]


def entitlements_for(status: str, plan: Plan | None) -> list[dict]:
    """What an account in `status` on `plan` may use: the plan's entitlements, or none when blocked."""
    return plan_entitlements(plan) if status in ENTITLED_STATUSES else []


def account_entitlements(account: Account, *, on: date | None = None) -> list[dict]:
    """The account's entitlements now, from its live subscription's plan (trialing counts as the plan's)."""
    sub = live_subscription(account)
    status = product_status(account, sub, on=on or today(account))
    return entitlements_for(status, sub.plan if sub is not None else None)


def subscription_period(sub: Subscription) -> Period:
    """The subscription's current period, [period_start, period_end) (SPEC §2.1)."""
    return Period(sub.period_start, sub.period_end)


def waiting_lines(sub: Subscription, *, until: date | None = None) -> list[InvoiceLine]:
    """Proration lines not invoiced yet (SPEC §2.3), by billing day; only those due by `until` if given."""
    qs = InvoiceLine.objects.filter(subscription=sub, invoice__isnull=True)
    if until is not None:
        qs = qs.filter(bill_on__lte=until)
    return list(qs.order_by("bill_on", "id"))


def active_redemption(sub: Subscription) -> CouponRedemption | None:
    """The coupon redemption that has not ended, if any: one coupon at a time (SPEC §2.5)."""
    return sub.redemptions.select_related("coupon").filter(ended_on__isnull=True).first()


def coupon_periods_left(redemption: CouponRedemption | None) -> int | None:
    """How many more periods a coupon discounts after those used so far; None when it has no end."""
    if redemption is None or redemption.coupon.duration_periods is None:
        return None
    return max(redemption.coupon.duration_periods - redemption.periods_used, 0)


def redemption_discount(redemption: CouponRedemption | None, sub: Subscription) -> core.Discount | None:
    """The discount `redemption` gives invoices issued in `sub`'s current period, if it is active in it."""
    r = redemption
    if r is None or r.ended_on is not None or r.active_period_start != sub.period_start:
        return None
    c = r.coupon
    return core.Discount(label=f"Coupon {c.code}", percent=c.percent_off, amount=c.amount_off)


def coupon_discount(sub: Subscription) -> core.Discount | None:
    """The coupon discount for invoices issued in the current period, if it is active now (SPEC §2.5)."""
    return redemption_discount(active_redemption(sub), sub)


PRICING_REASONS = (
    Invoice.Reason.PURCHASE,
    Invoice.Reason.RENEWAL,
    Invoice.Reason.CYCLE_SWITCH,
    Invoice.Reason.PLAN_CHANGE,
)


def charged_fraction(sub: Subscription) -> Decimal:
    """What share of the list price was actually charged for the current terms (SPEC §2.5).

    A percent coupon active now says it; otherwise an amount off (a coupon, the trial offer) on the
    invoice that last priced the current terms is spread over that invoice's charges. That invoice
    opened the period (a purchase, renewal or trial end on its first day, a cycle switch the day
    before) or moved it to the current plan (a plan change).
    """
    d = coupon_discount(sub)
    if d is not None and d.percent is not None:
        return core.charged_fraction(percent=d.percent)
    pricing = (
        Invoice.objects.filter(
            subscription=sub,
            reason__in=PRICING_REASONS,
            issued_on__gte=sub.period_start - timedelta(days=1),
            issued_on__lt=sub.period_end,
        )
        .only("pk", "discount", "discount_currency")
        .order_by("-issued_on", "-id")
        .first()
    )
    if pricing is None or not pricing.discount.amount:
        return Decimal(1)
    amounts = InvoiceLine.objects.filter(invoice=pricing, kind__in=core.CHARGE_KINDS, amount__gt=0)
    charged = money_sum(amounts.values_list("amount", flat=True))
    if not charged:
        return Decimal(1)
    return core.charged_fraction(discount=pricing.discount, charges=Money(charged, pricing.discount.currency))


def refund_window_end(sub: Subscription) -> date | None:
    """The last day of the money-back guarantee, or None if there is none (yet) (SPEC §2.5)."""
    if not sub.plan.refund_window_days:
        return None
    first = sub.invoices.filter(status=Invoice.Status.PAID).order_by("issued_on", "id").first()
    if first is None:
        return None
    return first.issued_on + timedelta(days=sub.plan.refund_window_days)


def lock_day(invoice: Invoice) -> date:
    """The day an invoice still unpaid locks its account: `issued_on + grace_days` (SPEC §2.5)."""
    grace = invoice.subscription.plan.grace_days if invoice.subscription_id else 14
    return invoice.issued_on + timedelta(days=grace)


def plan_change_waits_until(subscription: Subscription, plan: Plan) -> date | None:
    """The day a change to `plan` would take effect if it waits for the period's end, else None (made today).

    SPEC §2.4 `downgrade`: under `at_period_end` on the plan being left, a plan with a lower price per
    seat for the current cycle starts at the renewal; the decision is the pure core's.
    """
    if subscription.is_trialing:
        return None  # a trial's plan changes cost nothing, so they are made at once
    current, new = subscription.plan.price(subscription.cycle), plan.price(subscription.cycle)
    if current is None or new is None or current.currency != new.currency:
        return None  # the change itself is refused, with the reason
    waits = core.plan_change_waits(downgrade=subscription.plan.downgrade, current_price=current, new_price=new)
    return subscription.period_end if waits else None
