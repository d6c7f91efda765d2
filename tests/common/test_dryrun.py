"""A dry run (a preview) runs the real services but spends nothing on what it rolls back: no history row,
no row lock, no savepoint of a service's own (issue 15). Run for real, the same calls record, lock and
keep their savepoints."""

from datetime import date

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Membership
from accounts.services import membership_invite_many
from accounts.tax import tax_rates_on
from common.dryrun import aside, atomic, dry_run, provisional_offset
from common.errors import Refused
from subscriptions.previews import preview
from tests.builders import world

pytestmark = pytest.mark.django_db

NOV_1 = date(2026, 11, 1)


class _Undo(Exception):
    pass


def invite(w, email: str, *, dry: bool) -> tuple[int, list[str]]:
    """Invite `email` (in a rolled-back dry run when `dry`); the history rows it added, and its SQL."""
    before = Membership.history.count()
    with CaptureQueriesContext(connection) as captured:
        if dry:
            try:
                with dry_run(), transaction.atomic():
                    membership_invite_many(account=w.account, emails=[email], by=w.owner, on=NOV_1)
                    added = Membership.history.count() - before
                    raise _Undo
            except _Undo:
                pass
        else:
            membership_invite_many(account=w.account, emails=[email], by=w.owner, on=NOV_1)
            added = Membership.history.count() - before
    return added, [q["sql"] for q in captured.captured_queries]


def test_an_invitation_in_a_dry_run_records_no_history_takes_no_lock_and_no_savepoint():
    w = world(on=NOV_1, people=2)
    added, sql = invite(w, "dry@x.example", dry=True)
    assert added == 0
    assert not [s for s in sql if "FOR UPDATE" in s], sql
    assert len([s for s in sql if s.startswith("SAVEPOINT")]) == 1, sql  # the dry run's own, none of the service's
    assert not Membership.objects.filter(email="dry@x.example").exists()


def test_the_same_invitation_for_real_records_its_history():
    w = world(on=NOV_1, people=2)
    added, sql = invite(w, "real@x.example", dry=False)
    assert added == 1
    assert [s for s in sql if s.startswith("SAVEPOINT")], sql  # its own, inside the test's transaction
    if connection.vendor == "postgresql":
        assert [s for s in sql if "FOR UPDATE" in s], sql  # the account's row lock
    assert Membership.objects.get(email="real@x.example").history.count() == 1


def test_a_preview_shows_what_the_invitation_costs_without_the_history_of_it():
    w = world(on=NOV_1, people=2)
    history = Membership.history.count()
    shown = preview(membership_invite_many, account=w.account, emails=["new@x.example"], by=w.owner, on=NOV_1)
    assert shown.seats_after.in_use == shown.seats_before.in_use + 1
    assert Membership.history.count() == history


def test_a_part_set_aside_leaves_the_dry_run_as_it_was_even_when_it_is_refused():
    """`aside`: what runs in it is rolled back at its end, a refusal in a service's block included, and
    the dry run goes on querying; the provisional numbers it handed out are handed out again after it."""
    w = world(on=NOV_1, people=1)
    members = Membership.objects.filter(account=w.account).count()

    @atomic
    def invite_then_refuse():
        membership_invite_many(account=w.account, emails=["aside@x.example"], by=w.owner, on=NOV_1)
        raise Refused("no")

    try:
        with dry_run(), transaction.atomic():
            with aside():
                assert provisional_offset("INV-2026", 1) == 0
                with pytest.raises(Refused):
                    invite_then_refuse()
            assert Membership.objects.filter(account=w.account).count() == members  # queries go on
            assert provisional_offset("INV-2026", 1) == 0  # the number handed out aside is handed out again
            raise _Undo
    except _Undo:
        pass


def test_a_dry_run_reads_a_days_tax_rates_once_and_a_real_run_each_time():
    with dry_run(), CaptureQueriesContext(connection) as captured:
        assert tax_rates_on(NOV_1) == tax_rates_on(NOV_1)
    assert len(captured) == 1
    with CaptureQueriesContext(connection) as captured:
        assert tax_rates_on(NOV_1) == tax_rates_on(NOV_1)
    assert len(captured) == 2
