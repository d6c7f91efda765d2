"""Invoice and credit-note numbers: gapless per series and year, format per series (SPEC §2.6)."""

import threading
from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from moneyed import Money

from billing import plan as core
from billing.calendar import Period
from invoicing.models import Invoice
from invoicing.services import invoice_issue, number_allocate, series_format
from tests.builders import make_billed_account

JAN_5 = date(2026, 1, 5)


class Boom(Exception):
    pass


@pytest.mark.django_db
def test_default_format_is_prefix_year_and_six_digits():
    assert [number_allocate(prefix="INV", on=JAN_5) for _ in range(2)] == ["INV-2026-000001", "INV-2026-000002"]
    assert number_allocate(prefix="CN", on=JAN_5) == "CN-2026-000001"  # each series counts on its own


@pytest.mark.django_db
def test_yearly_reset_starts_each_year_at_one():
    assert number_allocate(prefix="INV", on=date(2026, 12, 31)) == "INV-2026-000001"
    assert number_allocate(prefix="INV", on=date(2026, 12, 31)) == "INV-2026-000002"
    assert number_allocate(prefix="INV", on=date(2027, 1, 1)) == "INV-2027-000001"


@pytest.mark.django_db
def test_format_is_configurable_per_series(settings):
    settings.NUMBER_SERIES = {
        "INV": {"prefix": "RE", "padding": 4},
        "CN": {"yearly_reset": False, "padding": 3},
    }
    assert series_format("INV").prefix == "RE"
    assert number_allocate(prefix="INV", on=JAN_5) == "RE-2026-0001"
    assert number_allocate(prefix="CN", on=date(2026, 12, 31)) == "CN-001"
    assert number_allocate(prefix="CN", on=date(2027, 1, 1)) == "CN-002"  # no reset: one counter for all years


@pytest.mark.django_db
def test_a_rolled_back_number_is_given_again_so_there_is_no_gap():
    assert number_allocate(prefix="INV", on=JAN_5) == "INV-2026-000001"
    with pytest.raises(Boom), transaction.atomic():
        assert number_allocate(prefix="INV", on=JAN_5) == "INV-2026-000002"
        raise Boom
    assert number_allocate(prefix="INV", on=JAN_5) == "INV-2026-000002"


def _line(on: date) -> core.Line:
    price = Money("7.00", "USD")
    return core.Line(
        core.SUBSCRIPTION, "Pro (monthly) · 1 seat", Period(on, on + timedelta(days=30)), 1, price, price, 30, 30
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL; SQLite serialises writers")
def test_concurrent_finalisation_numbers_one_to_n_without_gap_or_repeat(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)  # each invoice is rendered and emailed in-process after its commit
    n = 8
    accounts = []
    for _ in range(n):
        acc = make_billed_account()
        acc.currency = "USD"
        acc.save(update_fields=["currency"])
        accounts.append(acc)
    start, errors = threading.Barrier(n), []

    def finalise(acc):
        try:
            start.wait()
            invoice_issue(account=acc, subscription=None, reason="purchase", on=JAN_5, lines=[_line(JAN_5)])
        except Exception as exc:  # reported below, with the thread's own connection closed
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=finalise, args=(acc,)) for acc in accounts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"INV-2026-{i:06d}" for i in range(1, n + 1)]
