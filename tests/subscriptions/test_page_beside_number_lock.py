"""Settings › Subscription answers while a billing run holds the invoice number series' row lock (its
next-invoice preview reads a provisional number without the lock) or the account's row (the preview's
dry run takes no row lock). PostgreSQL only: SQLite has no row locks (a writer there takes the whole
database)."""

import threading
from datetime import date

import pytest
import time_machine
from django.db import OperationalError, connection, connections, transaction

from invoicing.services.numbering import INVOICE_SERIES, number_allocate
from tests.builders import world

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the lock holder is another connection: the data must be committed
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL only"),
]

NOV_1 = date(2026, 11, 1)
LOCK_TIMEOUT = "5s"  # a page that waited for the lock fails with LockNotAvailable instead of hanging


def hold_number_lock(taken: threading.Event, release: threading.Event) -> None:
    """What an issuing transaction does: take the next invoice number, then keep its row locked till release."""
    try:
        with transaction.atomic():
            number_allocate(prefix=INVOICE_SERIES, on=NOV_1)
            taken.set()
            release.wait(60)
    finally:
        connections.close_all()


def locked_elsewhere() -> bool:
    """True when another transaction holds the series row (NOWAIT answers at once instead of waiting)."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM invoicing_numberseries WHERE prefix = %s FOR UPDATE NOWAIT", [INVOICE_SERIES])
    except OperationalError:
        return True
    return False


def page_while_held(client, hold, *args, held=lambda: True) -> str:
    """GET Settings › Subscription while `hold(*args, taken, release)` keeps its lock in another thread
    (`held()` says it does); a page that waited for the lock fails under LOCK_TIMEOUT. The page's text."""
    taken, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold, args=(*args, taken, release))
    holder.start()
    try:
        assert taken.wait(30)
        assert held()
        with connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
        with time_machine.travel("2026-11-15 12:00Z", tick=False):
            response = client.get("/settings/subscription/")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
        release.set()
        holder.join(30)
    assert response.status_code == 200
    return response.content.decode()


def test_settings_subscription_answers_while_the_number_series_is_locked(client):
    w = world(on=NOV_1, people=2)  # subscribed: INV-2026-000001 issued, the series row exists
    client.force_login(w.owner)
    page = page_while_held(client, hold_number_lock, held=locked_elsewhere)
    assert "Team, billed monthly" in page and "Next invoice" in page


def hold_account_lock(account_id: int, taken: threading.Event, release: threading.Event) -> None:
    """What the daily run's chunk does while it issues: keep the account's row locked till release."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM accounts_account WHERE id = %s FOR UPDATE", [account_id])
            taken.set()
            release.wait(60)
    finally:
        connections.close_all()


def test_settings_subscription_answers_while_the_account_row_is_locked(client):
    w = world(on=NOV_1, people=2)
    client.force_login(w.owner)
    page = page_while_held(client, hold_account_lock, w.account.pk)
    assert "Team, billed monthly" in page and "Next invoice" in page
