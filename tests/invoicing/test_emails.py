"""The email that carries an issued invoice: to whom, what it says, what it attaches."""

from datetime import date

import pytest

from invoicing import emails
from invoicing.documents import document_pdf
from invoicing.models import Invoice
from subscriptions.services import subscription_create
from tests.builders import make_billed_account, make_credit_grant, make_pro_plan, owner_of


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def issued(**profile) -> Invoice:
    acc = make_billed_account(**profile)
    subscription_create(account=acc, plan=make_pro_plan(), cycle="monthly", on=date(2026, 11, 1))
    return Invoice.objects.get(account=acc)


@pytest.mark.django_db
def test_sent_to_the_billing_email_or_else_the_owner():
    assert emails.recipients(issued(billing_email="ap@acme.example").account) == ["ap@acme.example"]
    invoice = issued()
    assert emails.recipients(invoice.account) == [owner_of(invoice.account).email]


@pytest.mark.django_db
def test_the_email_says_what_is_due_how_to_pay_and_attaches_the_pdf():
    invoice = issued(billing_email="ap@acme.example")
    content = document_pdf(invoice)

    message = emails.document_email(invoice, content)

    assert message.subject == f"Invoice {invoice.number} — $7.00"
    assert "Amount due: $7.00, by Nov 1, 2026." in message.body
    assert f"with the reference {invoice.number}" in message.body and "IBAN" in message.body
    assert message.attachments == [(f"{invoice.number}.pdf", content, "application/pdf")]


@pytest.mark.django_db
def test_an_invoice_paid_by_the_credit_balance_says_nothing_is_due():
    acc = make_billed_account()
    acc.currency = "USD"
    acc.save(update_fields=["currency"])
    make_credit_grant(acc, "10.00", on=date(2026, 10, 30))
    subscription_create(account=acc, plan=make_pro_plan(), cycle="monthly", on=date(2026, 11, 1))
    invoice = Invoice.objects.get(account=acc)  # 7.00, all of it from the 10.00 of credit
    assert invoice.status == Invoice.Status.PAID

    body = emails.document_email(invoice, b"%PDF").body

    assert "Nothing is due: it is paid with $7.00 of your credit balance." in body and "Amount due" not in body


@pytest.mark.django_db
def test_credit_note_email_names_the_note():
    acc = issued().account
    note = make_credit_grant(acc, "2.00", on=date(2026, 11, 5))

    message = emails.document_email(note, b"%PDF")

    assert message.subject == f"Credit note {note.number} — $2.00"
    assert "credit balance" in message.body and message.to == [owner_of(acc).email]
