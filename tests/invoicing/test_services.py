"""Issuing, paying and refunding invoices (SPEC §2.2, §2.6) against the database, arithmetic in comments."""

from datetime import date
from decimal import Decimal

import pytest
from moneyed import Money

from billing import plan as core
from billing.calendar import Period
from common.errors import Refused
from invoicing.models import CreditEntry, Invoice, InvoiceLine, Payment, Refund
from invoicing.selectors import credit_balance
from invoicing.services import credit_note_issue, invoice_issue, invoice_pay, invoice_refund
from tests.builders import make_account, usd

pytestmark = pytest.mark.django_db

NOV = Period(date(2026, 11, 1), date(2026, 12, 1))
ON = date(2026, 11, 1)


def account(**kw):
    a = make_account(**kw)
    a.currency = "USD"
    a.save(update_fields=["currency"])
    return a


def charge(amount, kind=core.SUBSCRIPTION) -> core.Line:
    return core.Line(kind, f"{kind} line", NOV, 1, usd(abs(Decimal(amount))), usd(amount), 30, 30)


def issue(acct, *amounts, **kw) -> Invoice | None:
    return invoice_issue(account=acct, subscription=None, reason="seats", on=ON, lines=[*amounts], **kw)


def test_issue_writes_numbered_open_invoice_with_its_lines():
    acct = account()
    inv = issue(acct, charge("7.00"), charge("3.50", core.PRORATION))
    # 7.00 + 3.50 = 10.50 due today
    assert (inv.number, inv.status, inv.total, inv.amount_due, inv.due_on) == (
        "INV-2026-000001",
        "open",
        usd("10.50"),
        usd("10.50"),
        ON,
    )
    assert [(line.position, line.amount) for line in inv.lines.all()] == [(1, usd("7.00")), (2, usd("3.50"))]


def test_zero_lines_are_not_written_and_an_empty_invoice_is_not_issued():
    acct = account()
    assert issue(acct, charge("0.00")) is None
    assert issue(acct) is None
    inv = issue(acct, charge("7.00"), charge("0.00"))
    assert inv.lines.count() == 1
    assert Invoice.objects.count() == 1


def test_tax_and_discount():
    acct = account(tax_rate=Decimal("0.2"))
    inv = issue(acct, charge("14.00"), discounts=[core.Discount("Coupon", percent=Decimal(25))])
    # 14.00 − 25% (3.50) = 10.50; tax 20% = 2.10; total 12.60
    assert (inv.subtotal, inv.discount, inv.tax, inv.total) == (usd("14.00"), usd("3.50"), usd("2.10"), usd("12.60"))
    assert inv.discount_label == "Coupon"


def test_credit_balance_is_applied_and_recorded():
    acct = account()
    credit_note_issue(account=acct, reason="grant", on=ON, lines=[charge("-5.00", core.CREDIT)])
    inv = issue(acct, charge("7.00"))
    # 7.00 − 5.00 credit = 2.00 due; the ledger says why
    assert (inv.credit_applied, inv.amount_due) == (usd("5.00"), usd("2.00"))
    assert credit_balance(acct) == usd("0.00")
    assert CreditEntry.objects.filter(invoice=inv).get().amount == usd("-5.00")


def test_credit_covering_everything_leaves_the_invoice_paid():
    acct = account()
    credit_note_issue(account=acct, reason="grant", on=ON, lines=[charge("-10.00", core.CREDIT)])
    inv = issue(acct, charge("7.00"))
    # 7.00 − 7.00 credit = 0.00 due; 3.00 credit left
    assert (inv.status, inv.paid_on, inv.amount_due) == ("paid", ON, usd("0.00"))
    assert credit_balance(acct) == usd("3.00")


def test_negative_total_goes_to_the_credit_balance():
    acct = account()
    inv = issue(acct, charge("-50.00", core.CREDIT), charge("7.00"))
    # −50.00 + 7.00 = −43.00: nothing due, 43.00 credited
    assert (inv.total, inv.amount_due, inv.status) == (usd("-43.00"), usd("0.00"), "paid")
    assert credit_balance(acct) == usd("43.00")


def test_bank_transfer_terms_set_the_due_date(settings):
    settings.BANK_TRANSFER_PAYMENT_TERMS_DAYS = 14
    inv = issue(account(), charge("7.00"))
    assert inv.due_on == date(2026, 11, 15)


def test_waiting_lines_join_the_invoice():
    acct = account()
    waiting = InvoiceLine.objects.create(
        kind="proration",
        description="1 seat added",
        period_start=date(2026, 11, 16),
        period_end=date(2026, 12, 1),
        quantity=1,
        unit_price=usd("7.00"),
        days=15,
        period_days=30,
        amount=usd("3.50"),
        bill_on=date(2026, 12, 1),
    )
    inv = issue(acct, charge("7.00"), waiting=[waiting])
    waiting.refresh_from_db()
    # waiting 3.50 first, then 7.00: 10.50
    assert (waiting.invoice_id, waiting.position, inv.total) == (inv.pk, 1, usd("10.50"))


def test_credit_note_is_numbered_and_credited():
    acct = account()
    note = credit_note_issue(account=acct, reason="seats_removed", on=ON, lines=[charge("-4.67", core.CREDIT)])
    assert (note.number, note.total, note.lines.get().amount) == ("CN-2026-000001", usd("4.67"), usd("4.67"))
    assert credit_balance(acct) == usd("4.67")


def test_credit_note_of_nothing_is_not_issued_and_a_charge_is_refused():
    acct = account()
    assert credit_note_issue(account=acct, reason="grant", on=ON, lines=[]) is None
    with pytest.raises(Refused):
        credit_note_issue(account=acct, reason="grant", on=ON, lines=[charge("5.00")])


def test_payment_in_full_marks_paid():
    inv = issue(account(), charge("7.00"))
    invoice_pay(invoice=inv, on=date(2026, 11, 3))
    inv.refresh_from_db()
    assert (inv.status, inv.paid_on, inv.amount_paid) == ("paid", date(2026, 11, 3), usd("7.00"))


def test_partial_then_overpayment_goes_to_credit():
    acct = account()
    inv = issue(acct, charge("7.00"))
    invoice_pay(invoice=inv, on=ON, amount=usd("5.00"))
    inv.refresh_from_db()
    assert (inv.status, inv.amount_paid) == ("open", usd("5.00"))
    invoice_pay(invoice=inv, on=ON, amount=usd("5.00"))
    inv.refresh_from_db()
    # 5.00 + 5.00 = 10.00 paid of 7.00: 3.00 to the credit balance
    assert inv.status == "paid"
    assert credit_balance(acct) == usd("3.00")


def test_payment_refusals_change_nothing():
    inv = issue(account(), charge("7.00"))
    with pytest.raises(Refused, match="is in USD, not EUR"):
        invoice_pay(invoice=inv, on=ON, amount=Money("7.00", "EUR"))
    with pytest.raises(Refused, match="positive"):
        invoice_pay(invoice=inv, on=ON, amount=usd("0.00"))
    assert Payment.objects.count() == 0
    invoice_pay(invoice=inv, on=ON)
    with pytest.raises(Refused, match="not open"):
        invoice_pay(invoice=inv, on=ON)
    assert Payment.objects.count() == 1


def test_refund_returns_what_was_paid_once():
    inv = issue(account(), charge("7.00"))
    invoice_pay(invoice=inv, on=ON)
    refund = invoice_refund(invoice=inv, on=date(2026, 11, 5), reason="Money-back guarantee")
    assert (refund.amount, refund.payment.invoice_id) == (usd("7.00"), inv.pk)
    assert invoice_refund(invoice=inv, on=date(2026, 11, 6), reason="again") is None
    assert Refund.objects.count() == 1


def test_nothing_paid_nothing_refunded():
    inv = issue(account(), charge("7.00"))
    assert invoice_refund(invoice=inv, on=ON, reason="x") is None
