"""Revenue figures of the pure core (issue 21), with the numbers worked out by hand in comments. No database."""

from datetime import date
from decimal import Decimal

import pytest
from moneyed import Money

from billing.revenue import (
    CHURN,
    DOWNGRADE,
    NEW,
    REACTIVATION,
    SEAT_CONTRACTION,
    SEAT_EXPANSION,
    UPGRADE,
    Snapshot,
    SubscriptionState,
    age_bucket,
    arr,
    classify,
    deferred_schedule,
    month_movements,
    mrr,
    recognised,
    retention,
)


def usd(x):
    return Money(Decimal(x), "USD")


A_MONTHLY = usd("10.00")  # plan A: $10 per seat per month
B_MONTHLY = usd("20.00")  # plan B: $20 per seat per month
B_ANNUAL = usd("200.00")  # plan B annual: $200 per seat per year
END = date(2027, 4, 1)  # period end of the monthly subscriptions below


def state(price, seats, *, status="active", cycle="monthly", period_end=END, **kw):
    return SubscriptionState(status=status, cycle=cycle, price=price, paid_seats=seats, period_end=period_end, **kw)


# ---------------------------------------------------------------- MRR of one subscription


def test_monthly_mrr_is_price_times_seats():
    # $10 × 5 seats = $50.00
    assert mrr(state(A_MONTHLY, 5), date(2027, 3, 15), "USD") == usd("50.00")


def test_annual_mrr_is_a_twelfth_rounded_once():
    # $200 × 10 seats = $2,000 a year; ÷ 12 = 166.666… → $166.67; ARR = 12 × MRR = $2,000.04
    monthly = mrr(state(B_ANNUAL, 10, cycle="annual"), date(2027, 3, 15), "USD")
    assert monthly == usd("166.67")
    assert arr(monthly) == usd("2000.04")


def test_percent_coupon_lowers_mrr_before_tax():
    # $10 × 5 = $50, 25% off → $37.50
    assert mrr(state(A_MONTHLY, 5, percent_off=Decimal(25)), date(2027, 3, 15), "USD") == usd("37.50")


def test_amount_coupon_is_per_period_and_capped():
    # annual: $200 × 1 seat = $200 − $60 off = $140 / 12 = 11.666… → $11.67
    assert mrr(state(B_ANNUAL, 1, cycle="annual", amount_off=usd(60)), date(2027, 3, 1), "USD") == usd("11.67")
    # $10 × 1 − $50 off: never below zero
    assert mrr(state(A_MONTHLY, 1, amount_off=usd(50)), date(2027, 3, 1), "USD") == usd("0.00")


@pytest.mark.parametrize("status", ["trialing", "expired"])
def test_trials_and_expired_count_zero(status):
    assert mrr(state(A_MONTHLY, 5, status=status), date(2027, 3, 15), "USD") == usd("0.00")


def test_past_due_still_counts():
    assert mrr(state(A_MONTHLY, 2, status="past_due"), date(2027, 3, 15), "USD") == usd("20.00")


@pytest.mark.parametrize("kw", [{"status": "canceled"}, {"cancel_at_period_end": True}])
def test_canceled_counts_until_its_period_ends(kw):
    # period [Mar 1, Apr 1): counts on Mar 31, the last day; not on Apr 1
    assert mrr(state(A_MONTHLY, 3, **kw), date(2027, 3, 31), "USD") == usd("30.00")
    assert mrr(state(A_MONTHLY, 3, **kw), date(2027, 4, 1), "USD") == usd("0.00")


def test_no_price_for_the_cycle_is_zero():
    assert mrr(state(None, 3), date(2027, 3, 1), "USD") == usd("0.00")


# ---------------------------------------------------------------- movements


def test_seats_and_plan_change_together_split_into_seat_and_price_parts():
    # 5 seats of A ($50) → 8 seats of B ($160): seat part = 50 × 3/5 = +30; price part = 160 − 50 − 30 = +80
    moved = classify(Snapshot(usd(50), 5), Snapshot(usd(160), 8), paid_before=True, currency="USD")
    assert moved == {SEAT_EXPANSION: usd(30), UPGRADE: usd(80)}


def test_fewer_seats_on_a_cheaper_plan_are_contraction_and_downgrade():
    # 4 seats of B ($80) → 3 seats of A ($30): seat part = 80 × (−1)/4 = −20; price part = −50 − (−20) = −30
    moved = classify(Snapshot(usd(80), 4), Snapshot(usd(30), 3), paid_before=True, currency="USD")
    assert moved == {SEAT_CONTRACTION: usd(-20), DOWNGRADE: usd(-30)}


def test_unchanged_is_no_movement():
    assert classify(Snapshot(usd(50), 5), Snapshot(usd(50), 5), paid_before=True, currency="USD") == {}


def test_the_scenario_month():
    """March 2027, one account of each kind, every movement and opening + movements = closing."""
    opening_day, closing_day = date(2027, 2, 28), date(2027, 3, 31)
    apr1 = date(2027, 4, 1)
    opening = {
        # expansion: 5 seats of A = $50
        "expands": Snapshot(mrr(state(A_MONTHLY, 5), opening_day, "USD"), 5),
        # upgrade: 4 seats of A = $40
        "upgrades": Snapshot(mrr(state(A_MONTHLY, 4), opening_day, "USD"), 4),
        # downgrade: 3 seats of B = $60
        "downgrades": Snapshot(mrr(state(B_MONTHLY, 3), opening_day, "USD"), 3),
        # cancels: 2 seats of A = $20, canceled in February, its period ends Mar 15
        "cancels": Snapshot(
            mrr(state(A_MONTHLY, 2, cancel_at_period_end=True, period_end=date(2027, 3, 15)), opening_day, "USD"), 2
        ),
    }
    closing = {
        # 8 seats of A = $80 → seat expansion +30
        "expands": Snapshot(mrr(state(A_MONTHLY, 8, period_end=apr1), closing_day, "USD"), 8),
        # 4 seats of B = $80 → upgrade +40
        "upgrades": Snapshot(mrr(state(B_MONTHLY, 4, period_end=apr1), closing_day, "USD"), 4),
        # 3 seats of A = $30 → downgrade −30
        "downgrades": Snapshot(mrr(state(A_MONTHLY, 3, period_end=apr1), closing_day, "USD"), 3),
        # its period ended Mar 15 → $0: churn −20
        "cancels": Snapshot(
            mrr(state(A_MONTHLY, 2, status="canceled", period_end=date(2027, 3, 15)), closing_day, "USD"), 2
        ),
        # paid in 2026, left, back with 6 seats of A = $60 → reactivation +60
        "returns": Snapshot(mrr(state(A_MONTHLY, 6, period_end=apr1), closing_day, "USD"), 6),
        # new: 10 seats of B annual = $2,000 / 12 = $166.67 → new +166.67
        "new": Snapshot(mrr(state(B_ANNUAL, 10, cycle="annual", period_end=date(2028, 3, 10)), closing_day, "USD"), 10),
    }
    month = month_movements(opening, closing, paid_before={"returns", "expands", "upgrades"}, currency="USD")
    # opening = 50 + 40 + 60 + 20 = 170.00
    assert month.opening == usd("170.00")
    assert month.movements == {
        NEW: usd("166.67"),
        SEAT_EXPANSION: usd("30.00"),
        UPGRADE: usd("40.00"),
        DOWNGRADE: usd("-30.00"),
        CHURN: usd("-20.00"),
        REACTIVATION: usd("60.00"),
    }
    # closing = 80 + 80 + 30 + 0 + 60 + 166.67 = 416.67 = 170 + 246.67
    assert month.closing == usd("416.67")
    assert month.balances


def test_month_movements_refuse_to_be_built_unbalanced():
    # A snapshot in another currency cannot be summed: Money refuses rather than adding currencies
    with pytest.raises(TypeError):
        month_movements({"a": Snapshot(usd(1), 1)}, {"a": Snapshot(Money(2, "EUR"), 1)}, paid_before=(), currency="USD")


# ---------------------------------------------------------------- retention


def test_nrr_grr_and_customer_churn_of_a_small_cohort():
    start = {"a": usd(100), "b": usd(100), "c": usd(100)}
    # a expands to 150, b contracts to 50, c churns; d is new (not in the cohort)
    end = {"a": usd(150), "b": usd(50), "c": usd(0), "d": usd(200)}
    r = retention(start, end)
    # NRR = (150 + 50 + 0) / 300 = 2/3; GRR = (min(150,100) + 50 + 0) / 300 = 150/300 = 1/2
    assert r.nrr == Decimal(200) / Decimal(300)
    assert r.grr == Decimal("0.5")
    # 1 of 3 customers churned
    assert (r.customers_start, r.customers_churned) == (3, 1)
    assert r.customer_churn == Decimal(1) / Decimal(3)


def test_empty_cohort_has_no_rates():
    assert retention({}, {"d": usd(10)}).nrr is None


# ---------------------------------------------------------------- deferred revenue


JAN1, NEXT_JAN1 = date(2027, 1, 1), date(2028, 1, 1)  # a 365-day year


def test_annual_invoice_recognised_day_by_day_after_three_months():
    # 1,200.00 for [2027-01-01, 2028-01-01), 365 days; by Mar 31: 31 + 28 + 31 = 90 days
    # 1200 × 90 / 365 = 295.8904… → 295.89 recognised, 904.11 deferred
    assert recognised(usd("1200.00"), JAN1, NEXT_JAN1, date(2027, 3, 31)) == usd("295.89")
    rows = deferred_schedule([(JAN1, usd("1200.00"), JAN1, NEXT_JAN1)], JAN1, date(2027, 3, 31), "USD")
    # Jan: 1200 × 31/365 = 101.9178 → 101.92
    # Feb: by Feb 28, 59 days: 1200 × 59/365 = 193.9726 → 193.97; in Feb 193.97 − 101.92 = 92.05
    # Mar: 295.89 − 193.97 = 101.92
    assert [(r.invoiced, r.recognised, r.deferred) for r in rows] == [
        (usd("1200.00"), usd("101.92"), usd("1098.08")),  # 1200 − 101.92
        (usd("0.00"), usd("92.05"), usd("1006.03")),  # 1200 − 193.97
        (usd("0.00"), usd("101.92"), usd("904.11")),
    ]


def test_credit_note_reverses_its_share():
    # After the 3 months above, on Apr 1 a credit note gives back the unused [Apr 1, 2028-01-01): 275 days,
    # −904.11. April: the invoice earns 1200 × 120/365 − 295.89 = 394.52 − 295.89 = 98.63; the credit
    # reverses −904.11 × 30/275 = −98.6302 → −98.63; recognised in April 0.00; nothing left deferred.
    apr1 = date(2027, 4, 1)
    entries = [(JAN1, usd("1200.00"), JAN1, NEXT_JAN1), (apr1, usd("-904.11"), apr1, NEXT_JAN1)]
    rows = deferred_schedule(entries, JAN1, date(2027, 5, 31), "USD")
    april, may = rows[3], rows[4]
    assert (april.invoiced, april.recognised, april.deferred) == (usd("-904.11"), usd("0.00"), usd("0.00"))
    assert (may.invoiced, may.recognised, may.deferred) == (usd("0.00"), usd("0.00"), usd("0.00"))


def test_revenue_invoiced_before_the_range_is_carried_in():
    # A monthly $30 for [Dec 15, Jan 15) issued Dec 15; range January only: Jan 1–14 is 14 of 31 days
    # 30 × 14/31 = 13.548 → 13.55 earned in January; by Dec 31, 17 days: 16.45; deferred at Jan end 0
    rows = deferred_schedule([(date(2026, 12, 15), usd(30), date(2026, 12, 15), date(2027, 1, 15))], JAN1, JAN1, "USD")
    assert (rows[0].invoiced, rows[0].recognised, rows[0].deferred) == (usd("0.00"), usd("13.55"), usd("0.00"))


# ---------------------------------------------------------------- receivables


@pytest.mark.parametrize(
    ("due_on", "bucket"),
    [
        (date(2027, 5, 2), "current"),
        (date(2027, 5, 1), "current"),  # due today: not late yet
        (date(2027, 4, 30), "1-14"),
        (date(2027, 4, 17), "1-14"),  # 14 days late
        (date(2027, 4, 16), "15-30"),
        (date(2027, 4, 1), "15-30"),  # 30
        (date(2027, 3, 31), "31-60"),  # 31
        (date(2027, 3, 2), "31-60"),  # 60
        (date(2027, 3, 1), "over-60"),  # 61
    ],
)
def test_age_buckets(due_on, bucket):
    assert age_bucket(due_on, date(2027, 5, 1)) == bucket
