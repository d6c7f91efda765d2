"""Billing periods (SPEC §2.1): half-open, anchored, clamped to month ends. No database."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.calendar import (
    ANNUAL,
    MONTHLY,
    Period,
    add_months,
    clamp,
    cycle_months,
    first_period,
    next_monthly_anniversary,
    next_period,
    period_for,
    remaining_days,
)

days_2024_2032 = st.dates(min_value=date(2024, 1, 1), max_value=date(2032, 12, 31))


def test_period_days_is_end_minus_start():
    # Nov 1 – Dec 1: 30 days; the end day belongs to the next period
    p = Period(date(2026, 11, 1), date(2026, 12, 1))
    assert p.days == 30
    assert date(2026, 11, 30) in p
    assert date(2026, 12, 1) not in p


def test_last_day_is_the_day_before_the_end():
    # [Nov 1, Dec 1): a person reads "Nov 1 – Nov 30"; [Feb 29, Mar 1) is the one day Feb 29
    assert Period(date(2026, 11, 1), date(2026, 12, 1)).last_day == date(2026, 11, 30)
    assert Period(date(2024, 2, 29), date(2024, 3, 1)).last_day == date(2024, 2, 29)


def test_empty_period_is_an_error():
    with pytest.raises(ValueError):
        Period(date(2026, 11, 1), date(2026, 11, 1))


def test_month_end_anchor_clamps_and_comes_back():
    # Jan 31 → Feb 28 → Mar 31: the anchor day is kept, clamped per month
    anchor = date(2026, 1, 31)
    assert add_months(anchor, 1) == date(2026, 2, 28)
    assert add_months(anchor, 2) == date(2026, 3, 31)
    assert add_months(anchor, 3) == date(2026, 4, 30)
    assert period_for(anchor, MONTHLY, date(2026, 3, 1)) == Period(date(2026, 2, 28), date(2026, 3, 31))


def test_leap_year_february():
    # 2028 is a leap year: Jan 30 → Feb 29; 2027 is not: Jan 30 → Feb 28
    assert add_months(date(2028, 1, 30), 1) == date(2028, 2, 29)
    assert add_months(date(2027, 1, 30), 1) == date(2027, 2, 28)
    assert clamp(2028, 2, 31) == date(2028, 2, 29)


def test_annual_feb_29_anchor_renews_on_feb_28():
    # Feb 29 2024 + 1 year → Feb 28 2025 (366 days); in 2028 it is Feb 29 again
    anchor = date(2024, 2, 29)
    first = first_period(anchor, ANNUAL)
    assert first == Period(date(2024, 2, 29), date(2025, 2, 28))
    assert first.days == 365
    periods = [first]
    while periods[-1].end < date(2029, 1, 1):
        periods.append(next_period(periods[-1], anchor, ANNUAL))
    assert [p.start for p in periods] == [
        date(2024, 2, 29),
        date(2025, 2, 28),
        date(2026, 2, 28),
        date(2027, 2, 28),
        date(2028, 2, 29),
    ]


def test_first_period_starts_on_the_day_bought():
    # bought Nov 15: [Nov 15, Dec 15), 30 days
    assert first_period(date(2026, 11, 15), MONTHLY) == Period(date(2026, 11, 15), date(2026, 12, 15))
    assert first_period(date(2026, 4, 11), ANNUAL) == Period(date(2026, 4, 11), date(2027, 4, 11))


def test_unknown_cycle_is_refused():
    with pytest.raises(ValueError):
        cycle_months("weekly")


def test_remaining_days_seed_examples():
    # added Nov 15 of Nov 1–30: billed from Nov 16, 30 − 15 = 15 days
    assert remaining_days(Period(date(2026, 11, 1), date(2026, 12, 1)), date(2026, 11, 15)) == 15
    # switch on Apr 10 of Apr 1–30: credits Apr 11–30, 20 days
    assert remaining_days(Period(date(2026, 4, 1), date(2026, 5, 1)), date(2026, 4, 10)) == 20
    # a change on the period's last day leaves nothing
    assert remaining_days(Period(date(2026, 4, 1), date(2026, 5, 1)), date(2026, 4, 30)) == 0


def test_next_monthly_anniversary():
    # annual plan from the 10th, seats added Mar 25 → invoiced Apr 10
    assert next_monthly_anniversary(date(2026, 1, 10), date(2026, 3, 25)) == date(2026, 4, 10)
    # on the anniversary itself → the next one (strictly after)
    assert next_monthly_anniversary(date(2026, 1, 10), date(2026, 4, 10)) == date(2026, 5, 10)
    # anchored on the 31st: Feb clamps to the 28th, Apr to the 30th
    assert next_monthly_anniversary(date(2026, 1, 31), date(2026, 2, 1)) == date(2026, 2, 28)
    assert next_monthly_anniversary(date(2026, 1, 31), date(2026, 3, 31)) == date(2026, 4, 30)


@pytest.mark.parametrize("day", range(1, 32))
def test_every_monthly_anchor_gives_contiguous_periods_through_leap_years(day):
    anchor = clamp(2024, 1, day)
    period = first_period(anchor, MONTHLY)
    while period.end < date(2033, 1, 1):
        following = next_period(period, anchor, MONTHLY)
        # one period's end is the next one's start: no gap, no overlap
        assert following.start == period.end
        assert 28 <= following.days <= 31
        # each start is the anchor day, clamped to the month's last day
        assert following.start == clamp(following.start.year, following.start.month, day)
        period = following


@given(day=st.integers(1, 31), offset=st.integers(0, 3300), cycle=st.sampled_from([MONTHLY, ANNUAL]))
def test_period_for_contains_the_day_and_matches_the_chain(day, offset, cycle):
    anchor = clamp(2024, 1, day)
    on = anchor + timedelta(days=offset)
    p = period_for(anchor, cycle, on)
    assert on in p
    assert period_for(anchor, cycle, p.end).start == p.end
    if p.start > anchor:
        assert period_for(anchor, cycle, p.start - timedelta(days=1)).end == p.start


@given(anchor=st.dates(min_value=date(2024, 1, 1), max_value=date(2024, 12, 31)))
def test_annual_periods_are_contiguous(anchor):
    period = first_period(anchor, ANNUAL)
    for _ in range(9):
        following = next_period(period, anchor, ANNUAL)
        assert following.start == period.end
        assert following.days in (365, 366)
        period = following


@given(start=days_2024_2032, length=st.integers(1, 400), on=days_2024_2032)
def test_remaining_days_never_negative_nor_more_than_the_period(start, length, on):
    period = Period(start, start + timedelta(days=length))
    left = remaining_days(period, on)
    assert 0 <= left <= period.days
    if on in period:
        # a change on day d takes effect from d+1
        assert left == (period.end - on).days - 1
