"""Writing the revenue snapshots: per subscription per month, then per currency per month (issue 21).

The figures come from the pure core (`billing.revenue`); this module only reads records and writes rows.
`revenue_snapshot(on)` brings the month of `on` up to date (the daily run calls it); `revenue_backfill`
rebuilds every month from the first subscription on. Both replace the rows of the months they write, so
running them again changes nothing.
"""

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Max, Q, Subquery, Sum
from django.utils import timezone
from moneyed import Money

from billing import revenue as core
from billing.calendar import add_months
from invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine, LineKind
from invoicing.services import rows_write
from revenue.models import RevenueMonth, SubscriptionMonth
from subscriptions.models import CouponRedemption, Cycle, Plan, SeatChange, Subscription

FIELDS = ["id", "account_id", "plan_id", "cycle", "status", "paid_seats", "period_end", "cancel_at_period_end"]
DEFERRED = ["invoiced", "recognised", "deferred"]
LOOKUP_BY_ID = 500


def _month_end(month: date) -> date:
    return add_months(month, 1) - timedelta(days=1)


def _cutoff(day: date) -> datetime:
    """The first moment after `day` in the default time zone: history written before it describes `day`."""
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def _states_current(on: date) -> list[tuple]:
    return list(
        Subscription.objects.exclude(status=Subscription.Status.EXPIRED)
        .filter(started_on__lte=on)
        .order_by()
        .values_list(*FIELDS)
    )


def _states_historical(on: date) -> list[tuple]:
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
    return [tuple(r[name] for name in FIELDS) for r in rows if r["status"] != Subscription.Status.EXPIRED]


def _coupons(on: date) -> dict[int, tuple]:
    """Subscription id → (percent off, amount off, its currency) of the coupon active on `on`."""
    active = CouponRedemption.objects.filter(redeemed_on__lte=on).filter(Q(ended_on__isnull=True) | Q(ended_on__gt=on))
    return {
        sub_id: (pct, amt, cur)
        for sub_id, pct, amt, cur in active.values_list(
            "subscription_id", "coupon__percent_off", "coupon__amount_off", "coupon__amount_off_currency"
        )
    }


def _seats_in_use(on: date) -> dict[int, int]:
    """Subscription id → seats in use after the last seat-ledger row on or before `on`.

    One grouped read of the whole ledger up to `on` (no list of ids to send); the caller looks up the
    subscriptions it snapshots.
    """
    last = SeatChange.objects.filter(on__lte=on).order_by().values("subscription_id").annotate(last=Max("id"))
    return dict(
        SeatChange.objects.filter(id__in=Subquery(last.values("last"))).values_list("subscription_id", "seats_in_use")
    )


COLUMNS = ("month", "as_of", "subscription_id", "account_id", "currency", "mrr", "paid_seats", "seats_in_use")


def subscription_months(on: date, *, historical: bool) -> list[tuple]:
    """Snapshot rows (tuples of COLUMNS) of every subscription not expired on `on`, with its MRR (billing.revenue.mrr).

    Subscriptions alike in everything MRR reads share one computation: their plan, cycle, status, paid seats,
    coupon, and whether a canceled one's period has ended by `on` (the only use MRR makes of the period's end).
    """
    plans = Plan.objects.in_bulk()
    rows = _states_historical(on) if historical else _states_current(on)
    coupons = _coupons(on)
    in_use = _seats_in_use(on)
    month = core.month_start(on)
    figures: dict[tuple, tuple[str, Decimal]] = {}
    out = []
    for sub_id, account_id, plan_id, cycle, status, paid_seats, period_end, cancel in rows:
        coupon = coupons.get(sub_id)
        key = (plan_id, cycle, status, paid_seats, cancel, on >= period_end, coupon)
        figure = figures.get(key)
        if figure is None:
            figure = figures[key] = _mrr(plans[plan_id], cycle, status, paid_seats, period_end, cancel, coupon, on)
        currency, mrr = figure
        out.append((month, on, sub_id, account_id, currency, mrr, paid_seats, in_use.get(sub_id, paid_seats)))
    return out


def _mrr(plan: Plan, cycle, status, paid_seats, period_end, cancel, coupon, on) -> tuple[str, Decimal]:
    percent, amount, amount_currency = coupon or (None, None, None)
    state = core.SubscriptionState(
        status=status,
        cycle=cycle,
        price=plan.price(cycle or Cycle.MONTHLY),
        paid_seats=paid_seats,
        period_end=period_end,
        cancel_at_period_end=cancel,
        percent_off=percent,
        amount_off=Money(amount, amount_currency) if amount is not None else None,
    )
    return plan.currency, core.mrr(state, on, plan.currency).amount


def _by_account(rows) -> dict[str, dict[int, core.Snapshot]]:
    """currency → account id → Snapshot (MRR and paid seats of the account's paying subscriptions).

    `rows` are snapshot rows (tuples of COLUMNS); the sums are Decimal (exact), one Money per account.
    """
    mrrs: dict[str, dict[int, Decimal]] = defaultdict(dict)
    seats: dict[str, dict[int, int]] = defaultdict(dict)
    for _, _, _, account_id, currency, mrr, paid_seats, _ in rows:
        if mrr <= 0:
            continue
        if account_id in mrrs[currency]:
            mrrs[currency][account_id] += mrr
            seats[currency][account_id] += paid_seats
        else:
            mrrs[currency][account_id] = mrr
            seats[currency][account_id] = paid_seats
    alike: dict[tuple, core.Snapshot] = {}  # accounts with the same MRR and seats share one (frozen) Snapshot
    out = {}
    for currency, accounts in mrrs.items():
        out[currency] = {}
        for k, mrr in accounts.items():
            key = (currency, mrr, seats[currency][k])
            snapshot = alike.get(key)
            if snapshot is None:
                snapshot = alike[key] = core.Snapshot(Money(mrr, currency), key[2])
            out[currency][k] = snapshot
    return out


def _snapshot_rows(month: date):
    return SubscriptionMonth.objects.filter(month=month, mrr__gt=0).order_by().values_list(*COLUMNS)


def revenue_months_write(month: date, as_of: date, *, closing_rows=None) -> list[RevenueMonth]:
    """The RevenueMonth rows of `month` (one per currency) from the subscription snapshots; MRR and seats only.

    `closing_rows`: the month's snapshot rows (tuples of COLUMNS) when the caller has them.
    """
    previous = add_months(month, -1)
    opening = _by_account(_snapshot_rows(previous))
    if closing_rows is None:
        closing_rows = _snapshot_rows(month)
    closing = _by_account(closing_rows)
    year_ago = _by_account(_snapshot_rows(add_months(month, -12)))
    paid_before = _paid_before(previous, opening, closing)
    seats = defaultdict(lambda: [0, 0])
    for _, _, _, _, currency, mrr, paid_seats, seats_in_use in closing_rows:
        if mrr > 0:
            seats[currency][0] += paid_seats
            seats[currency][1] += seats_in_use
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


def _paid_before(previous: date, opening: dict, closing: dict) -> set[int]:
    """Accounts with MRR above 0 in a month before `previous`, of those the movements ask about.

    `month_movements` asks only about an account without MRR at the opening that has some at the close
    (new or reactivated); when they are few, only they are looked up, not every account's history.
    """
    asked = [k for currency, accounts in closing.items() for k in accounts if k not in opening.get(currency, {})]
    if not asked:
        return set()
    earlier = SubscriptionMonth.objects.filter(month__lt=previous, mrr__gt=0)
    if len(asked) > LOOKUP_BY_ID:  # then reading every account's history costs about as much as the list of ids
        return set(earlier.values_list("account_id", flat=True).distinct())
    return set(earlier.filter(account_id__in=asked).values_list("account_id", flat=True).distinct())


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
    """Invoiced, recognised and deferred of every currency's months from `first`'s to `last`'s.

    Only the months whose figures changed are updated (past months rarely do); a missing month is created.
    """
    by_currency = defaultdict(list)
    for currency, issued_on, amount, start, end in deferred_entries():
        by_currency[currency].append((issued_on, amount, start, end))
    stored = {
        (currency, month): (pk, figures)
        for pk, currency, month, *figures in RevenueMonth.objects.filter(
            month__gte=core.month_start(first), month__lte=last
        ).values_list("id", "currency", "month", *DEFERRED)
    }
    changed, missing = [], []
    for currency, entries in by_currency.items():
        for row in core.deferred_schedule(entries, first, last, currency):
            figures = [row.invoiced.amount, row.recognised.amount, row.deferred.amount]
            pk, before = stored.get((currency, row.month), (None, None))
            if pk is None:
                as_of = min(_month_end(row.month), last)
                missing.append(
                    RevenueMonth(
                        currency=currency, month=row.month, as_of=as_of, **dict(zip(DEFERRED, figures, strict=True))
                    )
                )
            elif figures != before:
                changed.append(RevenueMonth(pk=pk, **dict(zip(DEFERRED, figures, strict=True))))
    RevenueMonth.objects.bulk_update(changed, DEFERRED)
    RevenueMonth.objects.bulk_create(missing)


def _first_day() -> date | None:
    return (
        Subscription.objects.order_by("started_on").values_list("started_on", flat=True).first()
        or Invoice.objects.order_by("issued_on").values_list("issued_on", flat=True).first()
    )


SNAPSHOT_LOCK = 0x7072_6F72_6576  # "prorev": one snapshot writer at a time (PostgreSQL advisory lock)


def _one_writer_at_a_time() -> None:
    """Two daily runs (or a run and a backfill) that finish together write the same months: the second
    waits for the first's commit, then rewrites them from the same records. SQLite serialises writers."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SNAPSHOT_LOCK])


def _rows_write(rows: list[tuple]) -> None:
    """Insert snapshot rows (tuples of COLUMNS) with the daily run's row writer: COPY on PostgreSQL, one
    `executemany` elsewhere (`bulk_create` prepares each value of each instance, which costs more than
    the insert); the database gives the ids, in the rows' order."""
    rows_write(SubscriptionMonth, [(None, *row) for row in rows])


@transaction.atomic
def _month_snapshot(month: date, as_of: date, *, historical: bool) -> None:
    _one_writer_at_a_time()
    rows = subscription_months(as_of, historical=historical)
    SubscriptionMonth.objects.filter(month=month).delete()
    _rows_write(rows)
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
        _one_writer_at_a_time()
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
        _one_writer_at_a_time()
        RevenueMonth.objects.filter(Q(month__lt=ms[0]) | Q(month__gt=ms[-1])).delete()
        deferred_write(first, until)
    return len(ms)


def zero_month(currency: str, month: date) -> RevenueMonth:
    """An unsaved empty month (a month of the range with no snapshot)."""
    return RevenueMonth(currency=currency, month=month, as_of=_month_end(month))
