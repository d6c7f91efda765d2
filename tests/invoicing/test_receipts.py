"""Payment receipts (issue 17): one numbered receipt per payment, emailed with its PDF after commit."""

import io
from datetime import date

import pytest
from django.core import mail
from django.db import transaction
from pypdf import PdfReader

from invoicing.models import Invoice, Payment, Receipt
from invoicing.services import invoice_pay, receipt_deliver
from subscriptions.services import subscription_create
from tests.builders import make_account, make_plan, owner_of, usd

pytestmark = pytest.mark.django_db

NOV_1 = date(2026, 11, 1)


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def open_invoice(account) -> Invoice:
    subscription_create(account=account, plan=make_plan(), cycle="monthly", on=NOV_1)  # 1 seat × $7.00
    return Invoice.objects.get(account=account)


def test_a_payment_in_full_sends_one_receipt_with_its_pdf(django_capture_on_commit_callbacks):
    account = make_account()
    invoice = open_invoice(account)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        payment = invoice_pay(invoice=invoice, on=date(2026, 11, 4), reference="Transfer 0042")
    receipt = Receipt.objects.get(payment=payment)
    assert receipt.number == f"{invoice.number}-R1"
    assert (receipt.paid_to_date, receipt.left_to_pay) == (usd("7.00"), usd("0.00"))
    assert receipt.emailed_at is not None
    [message] = mail.outbox
    assert message.subject == f"Receipt {invoice.number}-R1 — $7.00 paid"
    assert message.to == [owner_of(account).email]
    assert "received your payment of $7.00 on Nov 4, 2026 (bank transfer)" in message.body
    assert "now paid in full" in message.body
    [(name, content, kind)] = message.attachments
    assert (name, kind) == (f"{invoice.number}-R1.pdf", "application/pdf")
    text = pdf_text(content)
    for words in ("Receipt", f"{invoice.number}-R1", "Nov 4, 2026", "Paid now", "$7.00", "Transfer 0042"):
        assert words in text
    assert "paid in full" in text

    # A second delivery (a retry, or two workers at once) sends nothing more.
    assert receipt_deliver(receipt_id=receipt.pk) is False
    assert len(mail.outbox) == 1


def test_two_part_payments_get_two_receipts_that_say_what_was_left(django_capture_on_commit_callbacks):
    account = make_account()
    invoice = open_invoice(account)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        invoice_pay(invoice=invoice, on=date(2026, 11, 3), amount=usd("3.00"))
        invoice_pay(invoice=invoice, on=date(2026, 11, 9), amount=usd("4.00"))
    first, second = Receipt.objects.order_by("id")
    assert (first.number, first.paid_to_date, first.left_to_pay) == (f"{invoice.number}-R1", usd("3.00"), usd("4.00"))
    assert (second.number, second.paid_to_date, second.left_to_pay) == (f"{invoice.number}-R2", usd("7.00"), usd("0"))
    assert [m.subject for m in mail.outbox] == [
        f"Receipt {invoice.number}-R1 — $3.00 paid",
        f"Receipt {invoice.number}-R2 — $4.00 paid",
    ]
    assert "Still to pay on invoice" in mail.outbox[0].body and "$4.00" in mail.outbox[0].body
    assert "Left to pay\n$4.00" in pdf_text(mail.outbox[0].attachments[0][1]).replace(" $", "\n$")


def test_a_rolled_back_payment_writes_and_sends_no_receipt(django_capture_on_commit_callbacks):
    account = make_account()
    invoice = open_invoice(account)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                invoice_pay(invoice=invoice, on=date(2026, 11, 4))
                raise RuntimeError("the change fails after the payment")
        except RuntimeError:
            pass
    assert (Payment.objects.count(), Receipt.objects.count(), len(mail.outbox)) == (0, 0, 0)


def test_the_invoices_page_links_each_receipt_and_only_its_account_can_download_it(client):
    account, other = make_account("Mine"), make_account("Theirs")
    invoice = open_invoice(account)
    invoice_pay(invoice=invoice, on=date(2026, 11, 4))
    client.force_login(owner_of(account))
    page = client.get("/settings/invoices/?year=all").content.decode()
    assert f'data-receipt="{invoice.number}-R1"' in page
    response = client.get(f"/settings/invoices/{invoice.number}-R1.pdf")
    assert response.status_code == 200
    assert "Receipt" in pdf_text(b"".join(response.streaming_content) if response.streaming else response.content)
    client.force_login(owner_of(other))
    assert client.get(f"/settings/invoices/{invoice.number}-R1.pdf").status_code == 404
