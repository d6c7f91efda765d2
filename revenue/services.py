"""Writing the revenue snapshots: per subscription per month, then per currency per month (issue 21).

The figures come from the pure core (`billing.revenue`); this module only reads records and writes rows.
`revenue_snapshot(on)` brings the month of `on` up to date (the daily run calls it); `revenue_backfill`
rebuilds every month from the first subscription on. Both replace the rows of the months they write, so
running them again changes nothing.
"""

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Q, Subquery, Sum
from django.utils import timezone
from moneyed import Money

from billing import revenue as core
from billing.calendar import add_months
from invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine, LineKind
from revenue.models import RevenueMonth, SubscriptionMonth
from subscriptions.models import CouponRedemption, Cycle, Plan, SeatChange, Subscription

FIELDS = ["id", "account_id", "plan_id", "cycle", "status", "paid_seats", "period_end", "cancel_at_period_end"]
WRITE_CHUNK = 5000


def _month_end(month: date) -> date:
    return add_months(month, 1) - timedelta(days=1)


def _cutoff(day: date) -> datetime:
    """The first moment after `day` in the default time zone: history written before it describes `day`."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def _states_current(on: date) -> list[dict]:
    return list(
        Subscription.objects.exclude(status=Subscription.Status.EXPIRED)
        .filter(started_on__lte=on)
        .order_by()
        .values(*FIELDS)
    )


def _states_historical(on: date) -> list[dict]:
    """Each subscription as its history says it was at the end of `on`; without history, as it is now.

    Renewals move periods with a bulk UPDATE (no history row), so a period end from history may be an
    older one; it matters only for a canceled subscription, whose history row is written when it cancels.
    """
    history = Subscription.history.model
    latest = (
        history.objects.filter(history_date__lt=_cutoff(on))
        .order_by()
        .values("id")
        .annotate(last=Max("history_id"))
        .values("last")
    )
    rows = list(history.objects.filter(history_id__in=Subquery(latest)).exclude(history_type="-").values(*FIELDS))
    seen = {r["id"] for r in rows} | set(
        history.objects.filter(history_date__lt=_cutoff(on)).values_list("id", flat=True).distinct()
    )
    for row in Subscription.objects.filter(started_on__lte=on).order_by().values(*FIELDS, "expired_on"):
        if row["id"] in seen:
            continue
        expired_on = row.pop("expired_on")
        if row["status"] == Subscription.Status.EXPIRED and (expired_on is None or expired_on > on):
            row["status"] = Subscription.Status.ACTIVE  # it had not expired yet
        rows.append(row)
    return [r for r in rows if r["status"] != Subscription.Status.EXPIRED]


def _coupons(on: date) -> dict[int, tuple]:
    """Subscription id → (percent off, amount off) of the coupon active on `on`."""
    active = CouponRedemption.objects.filter(redeemed_on__lte=on).filter(Q(ended_on__isnull=True) | Q(ended_on__gt=on))
    return {
        sub_id: (pct, Money(amt, cur) if amt is not None else None)
        for sub_id, pct, amt, cur in active.values_list(
            "subscription_id", "coupon__percent_off", "coupon__amount_off", "coupon__amount_off_currency"
        )
    }


def _seats_in_use(on: date, ids: list[int]) -> dict[int, int]:
    """Subscription id → seats in use after the last seat-ledger row on or before `on`."""
    out = {}
    for start in range(0, len(ids), WRITE_CHUNK):
        chunk = ids[start : start + WRITE_CHUNK]
        last = (
            SeatChange.objects.filter(subscription_id__in=chunk, on__lte=on)
            .order_by()
            .values("subscription_id")
            .annotate(last=Max("id"))
            .values("last")
        )
        out.update(SeatChange.objects.filter(id__in=Subquery(last)).values_list("subscription_id", "seats_in_use"))
    return out


def subscription_months(on: date, *, historical: bool) -> list[SubscriptionMonth]:
    """Unsaved snapshot rows of every subscription not expired on `on`, with its MRR (billing.revenue.mrr)."""
    plans = Plan.objects.in_bulk()
    rows = _states_historical(on) if historical else _states_current(on)
    coupons = _coupons(on)
    in_use = _seats_in_use(on, [r["id"] for r in rows])
    month = core.month_start(on)
    out = []
    for r in rows:
        plan = plans[r["plan_id"]]
        percent, amount = coupons.get(r["id"], (None, None))
        state = core.SubscriptionState(
            status=r["status"],
            cycle=r["cycle"],
            price=plan.price(r["cycle"] or Cycle.MONTHLY),
            paid_seats=r["paid_seats"],
            period_end=r["period_end"],
            cancel_at_period_end=r["cancel_at_period_end"],
            percent_off=percent,
            amount_off=amount,
        )
        value = core.mrr(state, on, plan.currency)
        out.append(
            SubscriptionMonth(
                month=month,
                as_of=on,
                subscription_id=r["id"],
                account_id=r["account_id"],
                currency=plan.currency,
                mrr=value.amount,
                paid_seats=r["paid_seats"],
                seats_in_use=in_use.get(r["id"], r["paid_seats"]),
            )
        )
    return out


def _by_account(rows) -> dict[str, dict[int, core.Snapshot]]:
    """currency → account id → Snapshot (MRR and paid seats of the account's paying subscriptions)."""
    out: dict[str, dict[int, core.Snapshot]] = defaultdict(dict)
    for currency, account_id, mrr, seats in rows:
        if mrr <= 0:
            continue
        before = out[currency].get(account_id)
        value = Money(mrr, currency)
        out[currency][account_id] = (
            core.Snapshot(before.mrr + value, before.seats + seats) if before else core.Snapshot(value, seats)
        )
    return out


def _snapshot_rows(month: date):
    return SubscriptionMonth.objects.filter(month=month).values_list("currency", "account_id", "mrr", "paid_seats")


def revenue_months_write(month: date, as_of: date, *, closing_rows=None) -> list[RevenueMonth]:
    """The RevenueMonth rows of `month` (one per currency) from the subscription snapshots; MRR and seats only."""
    previous = add_months(month, -1)
    opening = _by_account(_snapshot_rows(previous))
    closing_list = closing_rows if closing_rows is not None else list(SubscriptionMonth.objects.filter(month=month))
    closing = _by_account((r.currency, r.account_id, r.mrr, r.paid_seats) for r in closing_list)
    year_ago = _by_account(_snapshot_rows(add_months(month, -12)))
    paid_before = set(
        SubscriptionMonth.objects.filter(month__lt=previous, mrr__gt=0).values_list("account_id", flat=True).distinct()
    )
    seats = defaultdict(lambda: [0, 0])
    for r in closing_list:
        if r.mrr > 0:
            seats[r.currency][0] += r.paid_seats
            seats[r.currency][1] += r.seats_in_use
    written = []
    for currency in sorted(opening.keys() | closing.keys()):
        moved = core.month_movements(
            opening.get(currency, {}), closing.get(currency, {}), paid_before=paid_before, currency=currency
        )
        kept = core.retention(
            {k: s.mrr for k, s in year_ago.get(currency, {}).items()},
            {k: s.mrr for k, s in closing.get(currency, {}).items()},
        )
        month_churn = core.retention(
            {k: s.mrr for k, s in opening.get(currency, {}).items()},
            {k: s.mrr for k, s in closing.get(currency, {}).items()},
        )
        values = {name: moved.total(name).amount for name in core.MOVEMENTS}
        values.update(
            as_of=as_of,
            opening=moved.opening.amount,
            closing=moved.closing.amount,
            customers_opening=len(opening.get(currency, {})),
            customers=len(closing.get(currency, {})),
            customers_churned=month_churn.customers_churned,
            paid_seats=seats[currency][0],
            seats_in_use=seats[currency][1],
            nrr=_rate(kept.nrr),
            grr=_rate(kept.grr),
        )
        row, _ = RevenueMonth.objects.update_or_create(currency=currency, month=month, defaults=values)
        written.append(row)
    return written


def _rate(value: Decimal | None) -> Decimal | None:
    return None if value is None else value.quantize(Decimal("0.000001"))


def deferred_entries():
    """(currency, issued_on, amount, start, end) of every issued line, grouped: invoices +, credit notes −.

    Lines before tax and before invoice-level discounts; voided and draft invoices and support's credit
    grants (not a correction of revenue) are left out.
    """
    lines = (
        InvoiceLine.objects.filter(invoice__status__in=[Invoice.Status.OPEN, Invoice.Status.PAID])
        .exclude(kind__in=[LineKind.TAX, LineKind.DISCOUNT])
        .order_by()
        .values_list("invoice__currency", "invoice__issued_on", "period_start", "period_end")
        .annotate(total=Sum("amount"))
    )
    for currency, issued_on, start, end, total in lines:
        yield currency, issued_on, Money(total, currency), start, end
    notes = (
        CreditNoteLine.objects.exclude(credit_note__reason=CreditNote.Reason.GRANT)
        .filter(credit_note__number__isnull=False)
        .order_by()
        .values_list("credit_note__currency", "credit_note__issued_on", "period_start", "period_end")
        .annotate(total=Sum("amount"))
    )
    for currency, issued_on, start, end, total in notes:
        yield currency, issued_on, -Money(total, currency), start or issued_on, end or issued_on


def deferred_write(first: date, last: date) -> None:
    """Invoiced, recognised and deferred of every currency's months from `first`'s to `last`'s."""
    by_currency = defaultdict(list)
    for currency, issued_on, amount, start, end in deferred_entries():
        by_currency[currency].append((issued_on, amount, start, end))
    for currency, entries in by_currency.items():
        for row in core.deferred_schedule(entries, first, last, currency):
            RevenueMonth.objects.update_or_create(
                currency=currency,
                month=row.month,
                defaults={
                    "invoiced": row.invoiced.amount,
                    "recognised": row.recognised.amount,
                    "deferred": row.deferred.amount,
                },
                create_defaults={
                    "as_of": min(_month_end(row.month), last),
                    "invoiced": row.invoiced.amount,
                    "recognised": row.recognised.amount,
                    "deferred": row.deferred.amount,
                },
            )


def _first_day() -> date | None:
    return (
        Subscription.objects.order_by("started_on").values_list("started_on", flat=True).first()
        or Invoice.objects.order_by("issued_on").values_list("issued_on", flat=True).first()
    )


@transaction.atomic
def _month_snapshot(month: date, as_of: date, *, historical: bool) -> None:
    rows = subscription_months(as_of, historical=historical)
    SubscriptionMonth.objects.filter(month=month).delete()
    SubscriptionMonth.objects.bulk_create(rows, batch_size=WRITE_CHUNK)
    revenue_months_write(month, as_of, closing_rows=rows)


def revenue_snapshot(on: date) -> None:
    """The daily run's part: today's snapshot of the month under way, then the deferred revenue up to it.

    A month that has no snapshot of its predecessor yet (the first run after installing) is treated as
    the first month: its opening MRR is 0. Run `backfill_revenue` once to build the history.
    """
    first = _first_day()
    if first is None:
        return
    _month_snapshot(core.month_start(on), on, historical=False)
    with transaction.atomic():
        deferred_write(min(first, on), on)


def revenue_backfill(*, until: date, progress=None) -> int:
    """Every month from the first subscription's (or invoice's) to `until`'s, from history; returns the months.

    Past months are read from the subscriptions' history as of each month's last day; the month of
    `until` from the subscriptions as they are. `progress(done, total)` is told after each month.
    """
    first = _first_day()
    if first is None:
        return 0
    ms = core.months(first, until)
    for i, month in enumerate(ms):
        as_of = min(_month_end(month), until)
        _month_snapshot(month, as_of, historical=as_of < until)
        if progress is not None:
            progress(i + 1, len(ms))
    with transaction.atomic():
        RevenueMonth.objects.filter(Q(month__lt=ms[0]) | Q(month__gt=ms[-1])).delete()
        deferred_write(first, until)
    return len(ms)


def zero_month(currency: str, month: date) -> RevenueMonth:
    """An unsaved empty month (a month of the range with no snapshot)."""
    return RevenueMonth(currency=currency, month=month, as_of=_month_end(month))
