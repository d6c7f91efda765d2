"""What invoicing tells the apps above it: `invoice_paid` and `invoice_closed`, sent inside the change's transaction."""

from datetime import date

import pytest
from django.db import connection

from billing import plan as core
from billing.calendar import Period
from invoicing.models import Invoice, Payment
from invoicing.services import invoice_issue, invoice_mark_uncollectible, invoice_pay, invoice_void
from invoicing.signals import invoice_closed, invoice_paid
from tests.builders import make_account, usd

pytestmark = pytest.mark.django_db

ON = date(2026, 11, 1)


def issued() -> Invoice:
    account = make_account()
    account.currency = "USD"
    account.save(update_fields=["currency"])
    line = core.Line(core.SUBSCRIPTION, "Pro", Period(ON, date(2026, 12, 1)), 1, usd("7.00"), usd("7.00"), 30, 30)
    return invoice_issue(account=account, subscription=None, reason="seats", on=ON, lines=[line])


@pytest.fixture
def heard():
    """What the signals said, and how deep in transactions they said it."""
    said = []

    def listen(signal):
        def receiver(sender, **kwargs):
            said.append((signal, kwargs["invoice"].status, kwargs["on"], len(connection.savepoint_ids)))

        return receiver

    receivers = {invoice_paid: listen("paid"), invoice_closed: listen("closed")}
    for signal, receiver in receivers.items():
        signal.connect(receiver)
    yield said
    for signal, receiver in receivers.items():
        signal.disconnect(receiver)


def test_a_payment_says_invoice_paid_inside_its_transaction(heard):
    invoice = issued()
    depth = len(connection.savepoint_ids)
    invoice_pay(invoice=invoice, on=date(2026, 11, 3), amount=usd("3.00"))  # in part: still open
    invoice_pay(invoice=invoice, on=date(2026, 11, 4))
    assert heard == [("paid", "open", date(2026, 11, 3), depth + 1), ("paid", "paid", date(2026, 11, 4), depth + 1)]


def test_void_and_write_off_say_invoice_closed(heard):
    invoice_void(invoice=issued(), on=date(2026, 11, 2))
    invoice_mark_uncollectible(invoice=issued(), on=date(2026, 11, 3))
    assert [(s, status, on) for s, status, on, _ in heard] == [
        ("closed", "void", date(2026, 11, 2)),
        ("closed", "uncollectible", date(2026, 11, 3)),
    ]


def test_a_receivers_error_undoes_the_payment():
    invoice = issued()

    def refuse(sender, **kwargs):
        raise RuntimeError("the account could not be updated")

    invoice_paid.connect(refuse)
    try:
        with pytest.raises(RuntimeError):
            invoice_pay(invoice=invoice, on=date(2026, 11, 3))
    finally:
        invoice_paid.disconnect(refuse)
    assert not Payment.objects.exists()
    assert Invoice.objects.get(pk=invoice.pk).status == "open"
