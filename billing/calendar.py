"""Billing periods (SPEC §2.1): half-open [start, end), anchors, month-end clamping."""

import calendar as _cal
from dataclasses import dataclass
from datetime import date, timedelta

MONTHLY = "monthly"
ANNUAL = "annual"
CYCLES = (MONTHLY, ANNUAL)


@dataclass(frozen=True)
class Period:
    """A half-open billing period [start, end)."""

    start: date
    end: date

    def __post_init__(self):
        if self.end <= self.start:
            raise ValueError(f"empty period {self.start} – {self.end}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        """The last day inside the period, as a person reads it: the day before `end`."""
        return self.end - timedelta(days=1)

    def __contains__(self, day: date) -> bool:
        return self.start <= day < self.end


def clamp(year: int, month: int, day: int) -> date:
    """The date `day` of the month, or the month's last day if it is shorter."""
    return date(year, month, min(day, _cal.monthrange(year, month)[1]))


def add_months(anchor: date, months: int) -> date:
    """`anchor` moved by whole months, keeping its day clamped (Jan 31 + 1 → Feb 28)."""
    index = anchor.year * 12 + anchor.month - 1 + months
    return clamp(index // 12, index % 12 + 1, anchor.day)


def cycle_months(cycle: str) -> int:
    if cycle == MONTHLY:
        return 1
    if cycle == ANNUAL:
        return 12
    raise ValueError(f"unknown cycle {cycle!r}")


def period_for(anchor: date, cycle: str, day: date) -> Period:
    """The period of a subscription anchored on `anchor` that contains `day`.

    Boundaries are always computed from the anchor, so Jan 31 → Feb 28 → Mar 31.
    """
    if day < anchor:
        raise ValueError(f"{day} is before the anchor {anchor}")
    step = cycle_months(cycle)
    months = (day.year - anchor.year) * 12 + day.month - anchor.month
    n = max(0, months // step - 1)
    while add_months(anchor, (n + 1) * step) <= day:
        n += 1
    return Period(add_months(anchor, n * step), add_months(anchor, (n + 1) * step))


def first_period(start: date, cycle: str) -> Period:
    """A new subscription bought on day d runs [d, d + 1 cycle)."""
    return Period(start, add_months(start, cycle_months(cycle)))


def next_period(period: Period, anchor: date, cycle: str) -> Period:
    """The period that follows `period` for a subscription anchored on `anchor`."""
    return period_for(anchor, cycle, period.end)


def remaining_days(period: Period, on: date) -> int:
    """Days of `period` left after a change on day `on` (it takes effect from on+1)."""
    return max(0, min(period.days, (period.end - (on + timedelta(days=1))).days))


def next_monthly_anniversary(anchor: date, after: date) -> date:
    """The first day strictly after `after` whose day of month is the anchor's (clamped)."""
    candidate = clamp(after.year, after.month, anchor.day)
    if candidate <= after:
        candidate = add_months(date(after.year, after.month, 1), 1)
        candidate = clamp(candidate.year, candidate.month, anchor.day)
    return candidate
