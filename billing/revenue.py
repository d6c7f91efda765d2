"""Revenue figures (issue 21): MRR, its movements, retention, deferred revenue and receivables ageing.

Pure: given states, amounts and days, answers with Money and Decimal. Every figure is per currency;
nothing here adds two currencies (Money raises if asked to).

**MRR** (monthly recurring revenue) of one subscription on day `on` is its recurring amount per
month: price per seat for its cycle × paid seats, less the coupon discount active on that day
(percent off, or an amount off per period capped at the charge), divided by the cycle's months
(annual ÷ 12), before tax, rounded once to the currency's minor unit. It is 0 for a trial, an
expired subscription and a plan without a price for the cycle. A canceled subscription (status
canceled, or `cancel_at_period_end`) counts until its period ends (`on < period_end`), then 0.
A past-due subscription still counts: it has not ended. ARR is MRR × 12.

**Movements** between two snapshots of one subscription (MRR and paid seats before and after):
- *new*: 0 → positive for a customer never paid before; *reactivation*: 0 → positive for one that
  had paid before; *churn*: positive → 0.
- otherwise the change splits into a seat part, (seats after − seats before) × MRR per seat before,
  and a price part, the rest (seats after × the change of MRR per seat). A positive seat part is
  *seat expansion*, a negative one *seat contraction*; a positive price part is a *plan/cycle
  upgrade*, a negative one a *downgrade* (a coupon starting or ending moves the price part too).
The parts add up exactly to the change, so opening + Σ movements = closing.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

from moneyed import Money

from billing.calendar import add_months, cycle_months
from billing.proration import round_money, zero

TRIALING = "trialing"
ACTIVE = "active"
PAST_DUE = "past_due"
CANCELED = "canceled"
EXPIRED = "expired"

NEW = "new"
SEAT_EXPANSION = "seat_expansion"
UPGRADE = "upgrade"
SEAT_CONTRACTION = "seat_contraction"
DOWNGRADE = "downgrade"
CHURN = "churn"
REACTIVATION = "reactivation"
MOVEMENTS = (NEW, SEAT_EXPANSION, UPGRADE, SEAT_CONTRACTION, DOWNGRADE, CHURN, REACTIVATION)
MOVEMENT_LABELS = {
    NEW: "New",
    SEAT_EXPANSION: "Seat expansion",
    UPGRADE: "Plan/cycle upgrade",
    SEAT_CONTRACTION: "Seat contraction",
    DOWNGRADE: "Downgrade",
    CHURN: "Churn",
    REACTIVATION: "Reactivation",
}


@dataclass(frozen=True)
class SubscriptionState:
    """What MRR needs to know of a subscription on a day.

    `price` is the price per seat for `cycle` (None when the plan has none); `percent_off` (25 means
    25%) or `amount_off` (per period) is the coupon active on that day, if any.
    """

    status: str
    cycle: str
    price: Money | None
    paid_seats: int
    period_end: date
    cancel_at_period_end: bool = False
    percent_off: Decimal | None = None
    amount_off: Money | None = None


def mrr(state: SubscriptionState, on: date, currency: str) -> Money:
    """The subscription's MRR on day `on` (rules in the module docstring)."""
    if state.status in (TRIALING, EXPIRED) or state.price is None or state.paid_seats <= 0:
        return zero(currency)
    if (state.status == CANCELED or state.cancel_at_period_end) and on >= state.period_end:
        return zero(currency)
    charge = state.price.amount * state.paid_seats
    if state.percent_off is not None:
        charge -= charge * Decimal(state.percent_off) / 100
    elif state.amount_off is not None:
        charge -= min(state.amount_off.amount, charge)
    return round_money(charge / cycle_months(state.cycle), currency)


@cache
def _nothing(currency: str) -> Money:
    """0 in `currency`, made once per currency: a month's movements ask for it per customer (Money is never
    changed in place; arithmetic makes a new one)."""
    return zero(currency)


def arr(monthly: Money) -> Money:
    return monthly * 12


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One subscription's MRR and paid seats at a moment; `paid_before` if its customer ever paid before."""

    mrr: Money
    seats: int


def classify(before: Snapshot | None, after: Snapshot | None, *, paid_before: bool, currency: str) -> dict[str, Money]:
    """The movements (module docstring) that take `before` to `after`; a missing snapshot is MRR 0.

    `paid_before`: the customer had MRR above 0 at some moment before `before` (a reactivation
    rather than a new customer). Only non-zero movements are returned; they sum to after − before.
    """
    nothing = _nothing(currency)
    m0 = before.mrr if before is not None else nothing
    m1 = after.mrr if after is not None else nothing
    if m0 == m1:
        return {}
    if m0.amount == 0:
        return {REACTIVATION if paid_before else NEW: m1}
    if m1.amount == 0:
        return {CHURN: -m0}
    s0, s1 = before.seats, after.seats
    seat_part = round_money(m0.amount * (s1 - s0) / s0, currency) if s0 else nothing
    price_part = (m1 - m0) - seat_part
    out = {}
    if seat_part.amount:
        out[SEAT_EXPANSION if seat_part.amount > 0 else SEAT_CONTRACTION] = seat_part
    if price_part.amount:
        out[UPGRADE if price_part.amount > 0 else DOWNGRADE] = price_part
    return out


@dataclass
class MonthMovements:
    """Opening MRR, each movement and closing MRR of one currency over one month."""

    currency: str
    opening: Money
    closing: Money
    movements: dict[str, Money] = field(default_factory=dict)

    def total(self, name: str) -> Money:
        return self.movements.get(name, _nothing(self.currency))

    @property
    def balances(self) -> bool:
        """opening + Σ movements = closing."""
        return self.opening + sum(self.movements.values(), zero(self.currency)) == self.closing


def month_movements(opening: dict, closing: dict, *, paid_before: Iterable, currency: str) -> MonthMovements:
    """Movements of a month from per-subscription snapshots at its start (`opening`) and end (`closing`).

    Both map a key (the subscription or customer) to a Snapshot; `paid_before` holds the keys that
    had MRR above 0 at any earlier moment. Raises if opening + movements ≠ closing.
    """
    paid_before = set(paid_before)
    nothing = _nothing(currency)
    result = MonthMovements(currency, _total(opening.values(), currency), _total(closing.values(), currency))
    totals: dict[str, Decimal] = {}  # added as Decimals, one Money per movement at the end
    for key in opening.keys() | closing.keys():
        before, after = opening.get(key), closing.get(key)
        if before is not None and after is not None and before.mrr == after.mrr:
            continue  # no movement (classify would say so)
        moved = classify(before, after, paid_before=key in paid_before, currency=currency)
        for name, amount in moved.items():
            totals[name] = totals.get(name, nothing.amount) + amount.amount
    result.movements = {name: Money(total, currency) for name, total in totals.items()}
    if not result.balances:
        raise AssertionError(f"MRR movements do not balance: {result}")
    return result


def _total(snapshots: Iterable[Snapshot], currency: str) -> Money:
    """Σ MRR of `snapshots`, all in `currency` (checked), added as Decimals: one Money, not one per customer."""
    total = Decimal(0)
    for s in snapshots:
        if s.mrr.currency.code != currency:
            raise TypeError(f"a snapshot in {s.mrr.currency.code} among {currency} ones: Money of two currencies")
        total += s.mrr.amount
    return Money(total, currency) + _nothing(currency)


@dataclass(frozen=True)
class Retention:
    nrr: Decimal | None
    grr: Decimal | None
    customers_start: int
    customers_churned: int

    @property
    def customer_churn(self) -> Decimal | None:
        if not self.customers_start:
            return None
        return Decimal(self.customers_churned) / self.customers_start


def retention(start: dict, end: dict) -> Retention:
    """Revenue retention of the customers paying at the start (a cohort), by customer MRR (Money).

    NRR = Σ their MRR at the end / Σ their MRR at the start (expansion counts, new customers don't);
    GRR = Σ min(end, start) / Σ start (expansion does not count). Customer churn = cohort customers with
    no MRR at the end / cohort size. None when the cohort is empty.
    """
    cohort = {k: v for k, v in start.items() if v.amount > 0}
    if not cohort:
        return Retention(None, None, 0, 0)
    base = sum(v.amount for v in cohort.values())
    kept = [end[k].amount if k in end else Decimal(0) for k in cohort]
    net = sum(kept, Decimal(0))
    gross = sum((min(e, s.amount) for e, s in zip(kept, cohort.values(), strict=True)), Decimal(0))
    churned = sum(1 for e in kept if e <= 0)
    return Retention(net / base, gross / base, len(cohort), churned)


# ---------------------------------------------------------------- deferred revenue


def recognised(amount: Money, start: date, end: date, through: date) -> Money:
    """The share of `amount` for the half-open period [start, end) earned by the end of day `through`.

    Revenue is earned evenly day by day: amount × days of [start, end) up to and including `through`
    / days of the period, rounded once. A credit (negative amount) reverses its share the same way.
    """
    total_days = (end - start).days
    if total_days <= 0:
        return amount
    days = max(0, min(total_days, (through - start).days + 1))
    return round_money(amount.amount * days / total_days, amount.currency.code)


def month_start(day: date) -> date:
    return day.replace(day=1)


def months(first: date, last: date) -> list[date]:
    """First days of the months from `first`'s to `last`'s, inclusive."""
    out, m = [], month_start(first)
    while m <= last:
        out.append(m)
        m = add_months(m, 1)
    return out


@dataclass
class DeferredMonth:
    month: date
    invoiced: Money
    recognised: Money
    deferred: Money


def deferred_schedule(
    entries: Iterable[tuple[date, Money, date, date]], first: date, last: date, currency: str
) -> list[DeferredMonth]:
    """Per month from `first`'s to `last`'s: invoiced, recognised in the month, and the deferred balance at its end.

    `entries` are (issued_on, amount, period start, period end) — invoice lines positive, credit-note lines
    negative. Each is invoiced in its issue month and recognised day by day over its period from its start;
    the balance at a month's end is everything invoiced by then less everything recognised by then.
    """
    ms = months(first, last)
    # Cut-off days: the day before the first month, then each month's last day.
    cuts = [ms[0] - timedelta(days=1)] + [add_months(m, 1) - timedelta(days=1) for m in ms]
    nothing = zero(currency)
    invoiced_by = [nothing] * len(cuts)
    recognised_by = [nothing] * len(cuts)
    for issued_on, amount, start, end in entries:
        for i, cut in enumerate(cuts):
            if issued_on <= cut:
                invoiced_by[i] += amount
                # What was not invoiced yet is not recognised yet: revenue starts at the later of both.
                recognised_by[i] += recognised(amount, start, end, cut)
    return [
        DeferredMonth(
            m,
            invoiced_by[i + 1] - invoiced_by[i],
            recognised_by[i + 1] - recognised_by[i],
            invoiced_by[i + 1] - recognised_by[i + 1],
        )
        for i, m in enumerate(ms)
    ]


# ---------------------------------------------------------------- receivables


AGE_BUCKETS = ("current", "1-14", "15-30", "31-60", "over-60")
AGE_LABELS = {
    "current": "Current (not yet due)",
    "1-14": "1–14 days overdue",
    "15-30": "15–30 days overdue",
    "31-60": "31–60 days overdue",
    "over-60": "Over 60 days overdue",
}


def age_bucket(due_on: date, today: date) -> str:
    """An open invoice's age: current until its due day has passed, then by days overdue."""
    late = (today - due_on).days
    if late <= 0:
        return "current"
    if late <= 14:
        return "1-14"
    if late <= 30:
        return "15-30"
    if late <= 60:
        return "31-60"
    return "over-60"
