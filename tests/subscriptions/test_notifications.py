"""Which reminder an open invoice needs on a day (SPEC §2.5). Pure: no database."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subscriptions.notifications import DUE, LOCK, invoice_reminder_kinds

ISSUED = date(2026, 11, 1)
LOCK_ON = date(2026, 11, 15)  # issued + 14 grace days


@pytest.mark.parametrize(
    ("due_on", "on", "sent", "kinds"),
    [
        (ISSUED, date(2026, 11, 1), set(), []),  # the invoice email itself said "due today"
        (ISSUED, date(2026, 11, 11), set(), []),
        (ISSUED, date(2026, 11, 12), set(), [DUE, LOCK]),  # lock − 3 days; due was the issue email
        (date(2026, 11, 8), date(2026, 11, 7), set(), []),
        (date(2026, 11, 8), date(2026, 11, 8), set(), [DUE]),
        (date(2026, 11, 8), date(2026, 11, 9), {DUE}, []),
        (date(2026, 11, 8), date(2026, 11, 12), {DUE}, [LOCK]),
        (date(2026, 11, 8), date(2026, 11, 13), {DUE, LOCK}, []),
        (date(2026, 11, 8), LOCK_ON, set(), []),  # the lock day: locked, not reminded
    ],
)
def test_reminder_days(due_on, on, sent, kinds):
    assert invoice_reminder_kinds(issued_on=ISSUED, due_on=due_on, lock_on=LOCK_ON, on=on, sent=sent) == kinds


@given(
    terms=st.integers(0, 30),
    grace=st.integers(0, 30),
    first=st.integers(0, 40),
)
def test_each_reminder_at_most_once_and_never_from_the_lock_day(terms, grace, first):
    """Replaying every day from any starting day sends each kind at most once, and none on or after the lock."""
    due_on, lock_on = ISSUED + timedelta(days=terms), ISSUED + timedelta(days=grace)
    sent: list[str] = []
    for offset in range(first, 45):
        on = ISSUED + timedelta(days=offset)
        kinds = invoice_reminder_kinds(issued_on=ISSUED, due_on=due_on, lock_on=lock_on, on=on, sent=set(sent))
        if kinds:
            assert ISSUED < on < lock_on
        sent += kinds
    assert len(sent) == len(set(sent))
