"""Draft → open → paid | void | uncollectible; PDF and email after commit; an issued invoice is never edited."""

from datetime import date

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.db.models import ProtectedError
from django.forms import modelform_factory
from moneyed import Money

from common.background import task_send
from common.errors import Refused
from invoicing import tasks
from invoicing.frozen import invoice_is_frozen
from invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine
from invoicing.selectors import credit_balance, invoice_outstanding
from invoicing.services import (
    invoice_credit,
    invoice_deliver_pending,
    invoice_mark_uncollectible,
    invoice_pay,
    invoice_void,
)
from subscriptions.services import billing_run, subscription_create
from tests.builders import make_billed_account, make_credit_grant, make_pro_plan, make_rich_invoice, owner_of

NOV_1 = date(2026, 11, 1)


class FailingBackend(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP server is down")


class Boom(Exception):
    pass


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def subscribe(acc=None, **kw):
    acc = acc or make_billed_account(billing_email="finance@acme.example")
    subscription_create(account=acc, plan=make_pro_plan(), cycle="monthly", on=NOV_1, **kw)
    return Invoice.objects.get(account=acc)


@pytest.mark.django_db
def test_finalisation_stores_the_pdf_and_emails_it_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        invoice = subscribe()
        assert mail.outbox == []  # nothing before the commit

    invoice.refresh_from_db()
    assert [c.args for c in callbacks if c.func is task_send] == [
        (tasks.document_deliver, ("invoicing.Invoice", invoice.pk))
    ]  # one task enqueued at commit, run in-process (no broker in tests)
    assert invoice.status == Invoice.Status.OPEN and invoice.number == "INV-2026-000001"
    assert invoice.pdf.name.endswith("INV-2026-000001-open.pdf") and invoice.emailed_at is not None
    (message,) = mail.outbox
    assert message.subject == "Invoice INV-2026-000001 — $7.00"
    assert message.to == ["finance@acme.example"]
    ((filename, content, mimetype),) = message.attachments
    assert (filename, mimetype) == ("INV-2026-000001.pdf", "application/pdf")
    assert content == invoice.pdf.read()  # the stored file is the one sent


@pytest.mark.django_db
def test_a_rolled_back_change_sends_nothing(django_capture_on_commit_callbacks):
    acc = make_billed_account()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(Boom), transaction.atomic():
            subscribe(acc)
            raise Boom

    assert callbacks == [] and mail.outbox == []  # no PDF, no email, no card charge
    assert not Invoice.objects.filter(account=acc).exists()


@pytest.mark.django_db
def test_a_failed_email_is_logged_kept_and_retried_by_the_next_daily_run(
    settings, django_capture_on_commit_callbacks, caplog
):
    settings.EMAIL_BACKEND = "tests.invoicing.test_lifecycle.FailingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        invoice = subscribe()
    invoice.refresh_from_db()
    assert invoice.emailed_at is None and invoice.pdf  # the PDF is stored, the invoice kept
    assert "retries" in caplog.text and "SMTP server is down" in caplog.text
    stored = invoice.pdf.name

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        billing_run(on=date(2026, 11, 2))

    invoice.refresh_from_db()
    assert invoice.emailed_at is not None and invoice.pdf.name == stored  # rendered once, sent once
    assert [m.subject for m in mail.outbox] == [f"Invoice {invoice.number} — $7.00"]


@pytest.mark.django_db
def test_documents_left_pending_are_queued_again_by_the_sweep(django_capture_on_commit_callbacks):
    invoice = subscribe()  # its task was never run (the commit's callbacks are dropped, as when the broker is down)
    assert not Invoice.objects.get(pk=invoice.pk).pdf

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert invoice_deliver_pending(on=NOV_1) == 1
        assert mail.outbox == []  # queued, not sent, until the commit
    assert [c.args for c in callbacks] == [(tasks.document_deliver, ("invoicing.Invoice", invoice.pk))]
    with django_capture_on_commit_callbacks(execute=True):
        assert invoice_deliver_pending(on=NOV_1) == 0

    invoice.refresh_from_db()
    assert invoice.pdf and invoice.emailed_at is not None and len(mail.outbox) == 1


@pytest.mark.django_db
def test_credit_notes_are_numbered_stored_and_emailed_to_the_owner(django_capture_on_commit_callbacks):
    acc = make_billed_account()
    subscribe(acc)
    with django_capture_on_commit_callbacks(execute=True):
        note = make_credit_grant(acc, "2.00", on=date(2026, 11, 5))
    note.refresh_from_db()

    assert note.number == "CN-2026-000001" and note.pdf and note.emailed_at is not None
    (message,) = mail.outbox
    assert message.subject == "Credit note CN-2026-000001 — $2.00"
    assert message.to == [owner_of(acc).email]


# ---------------------------------------------------------------- never edited


@pytest.mark.django_db
def test_model_save_refuses_changes_to_an_issued_invoice_and_its_lines():
    invoice = subscribe()
    assert invoice_is_frozen(invoice)

    invoice.total = Money("1.00", "USD")
    with pytest.raises(Refused, match="never edited"):
        invoice.save()
    invoice.refresh_from_db()
    line = invoice.lines.get()
    line.amount = Money("1.00", "USD")
    with pytest.raises(Refused, match="never edited"):
        line.save()
    with pytest.raises(Refused):
        InvoiceLine.objects.create(
            invoice=invoice, kind="subscription", description="extra", period_start=NOV_1, period_end=NOV_1,
            quantity=1, unit_price=Money(1, "USD"), days=1, period_days=1, amount=Money(1, "USD"),
        )  # fmt: skip
    with pytest.raises(Refused), transaction.atomic():
        line.delete()
    with pytest.raises((Refused, ProtectedError)), transaction.atomic():
        invoice.delete()
    assert Invoice.objects.get(pk=invoice.pk).total == Money("7.00", "USD")


@pytest.mark.django_db
def test_queryset_updates_and_bulk_writes_refuse_too():
    invoice = subscribe()
    line = invoice.lines.get()

    with pytest.raises(Refused):
        Invoice.objects.filter(pk=invoice.pk).update(total=Money(0, "USD"))
    with pytest.raises(Refused):
        InvoiceLine.objects.filter(pk=line.pk).update(description="changed")
    line.description = "changed"
    with pytest.raises(Refused), transaction.atomic():
        InvoiceLine.objects.bulk_update([line], ["description"])
    with pytest.raises(Refused), transaction.atomic():
        InvoiceLine.objects.bulk_create([InvoiceLine(**{**_fields(line), "id": None})])
    assert InvoiceLine.objects.get(pk=line.pk).description != "changed"


def _fields(line):
    return {f.attname: getattr(line, f.attname) for f in line._meta.concrete_fields}


@pytest.mark.django_db
def test_admin_and_api_forms_cannot_edit_an_issued_invoice():
    """The admin and the API save through model forms/serializers: the same guard answers them."""
    invoice = subscribe()
    form_class = modelform_factory(Invoice, fields=["discount_label", "due_on"])
    form = form_class(data={"discount_label": "Free!", "due_on": "2027-01-01"}, instance=invoice)
    assert form.is_valid()
    with pytest.raises(Refused):
        form.save()
    assert Invoice.objects.get(pk=invoice.pk).discount_label == ""


@pytest.mark.django_db
def test_the_api_offers_no_way_to_edit_an_issued_invoice():
    from rest_framework import serializers
    from rest_framework.test import APIClient

    from api.keys import api_key_create

    invoice = subscribe()
    owner = invoice.account.memberships.get(role="owner")
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {api_key_create(account=invoice.account, name='k', role='admin', by=owner)[1]}"
    )
    assert client.get(f"/api/v1/invoices/{invoice.number}").status_code == 200
    for method in (client.patch, client.put, client.delete):
        assert (
            method(f"/api/v1/invoices/{invoice.number}", {"discount_label": "Free!"}, format="json").status_code == 405
        )

    class Writable(serializers.ModelSerializer):  # what a writable endpoint would do
        class Meta:
            model = Invoice
            fields = ["discount_label"]

    writer = Writable(invoice, data={"discount_label": "Free!"}, partial=True)
    assert writer.is_valid()
    with pytest.raises(Refused):
        writer.save()
    assert Invoice.objects.get(pk=invoice.pk).discount_label == ""


@pytest.mark.django_db
def test_what_records_an_invoices_life_may_still_change():
    invoice = subscribe()
    invoice_pay(invoice=invoice, on=date(2026, 11, 3))  # amount_paid, paid_on, status
    invoice.refresh_from_db()
    invoice.reminders_sent = ["2026-11-04"]
    invoice.save(update_fields=["reminders_sent"])
    Invoice.objects.filter(pk=invoice.pk).update(emailed_at=None)

    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID and invoice.amount_paid == Money("7.00", "USD")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("start", "to", "allowed"),
    [
        ("open", "paid", True),
        ("open", "void", True),
        ("open", "uncollectible", True),
        ("paid", "open", False),
        ("paid", "void", False),
        ("void", "open", False),
        ("uncollectible", "open", False),
    ],
)
def test_status_moves_forward_only(start, to, allowed):
    invoice = subscribe()
    Invoice.objects.filter(pk=invoice.pk).update(status=start)
    invoice.refresh_from_db()
    invoice.status = to
    if allowed:
        invoice.save(update_fields=["status"])
        assert Invoice.objects.get(pk=invoice.pk).status == to
    else:
        with pytest.raises(Refused, match="cannot become"):
            invoice.save(update_fields=["status"])


@pytest.mark.django_db
def test_issued_credit_notes_and_their_lines_are_frozen():
    acc = make_billed_account()
    subscribe(acc)
    note = make_credit_grant(acc, "2.00", on=date(2026, 11, 5))
    line = note.lines.get()

    note.memo = "changed"
    with pytest.raises(Refused):
        note.save()
    line.description = "changed"
    with pytest.raises(Refused):
        line.save()
    with pytest.raises(Refused):
        CreditNoteLine.objects.create(
            credit_note=note, description="more", unit_price=Money(1, "USD"), amount=Money(1, "USD")
        )
    with pytest.raises(Refused):
        CreditNote.objects.filter(pk=note.pk).update(total=Money(5, "USD"))
    assert CreditNote.objects.get(pk=note.pk).memo == "Goodwill"


# ---------------------------------------------------------------- services: transitions and corrections


@pytest.mark.django_db
def test_a_voided_invoice_keeps_its_number_and_takes_no_payment():
    invoice = subscribe()
    invoice_void(invoice=invoice, on=date(2026, 11, 2), reason="issued by mistake")
    invoice.refresh_from_db()

    assert invoice.status == Invoice.Status.VOID and invoice.number == "INV-2026-000001"
    with pytest.raises(Refused):
        invoice_pay(invoice=invoice, on=date(2026, 11, 3))
    with pytest.raises(Refused):
        invoice_mark_uncollectible(invoice=invoice, on=date(2026, 11, 3))
    assert subscribe(make_billed_account()).number == "INV-2026-000002"  # the void number is not given again


@pytest.mark.django_db
def test_a_credit_note_corrects_lines_of_an_invoice_and_points_at_them():
    invoice = make_rich_invoice()
    charge = invoice.lines.get(kind="subscription")  # 60.00

    note = invoice_credit(
        invoice=invoice, on=date(2026, 11, 12), reason="one seat too many", lines=[(charge, Money("20.00", "USD"))]
    )

    (line,) = note.lines.all()
    assert note.invoice == invoice and note.number.startswith("CN-2026-")
    assert line.invoice_line == charge and line.amount == Money("20.00", "USD")
    # The invoice is still open (47.80 due): the 20.00 comes off what is left to pay, not into the balance.
    assert credit_balance(invoice.account) == Money("0.00", "USD")  # the 2.00 granted was used by the invoice
    assert invoice_outstanding(Invoice.objects.get(pk=invoice.pk)) == Money("27.80", "USD")  # 47.80 − 20.00
    with pytest.raises(Refused, match=r"At most \$40\.00 is left"):
        invoice_credit(invoice=invoice, on=date(2026, 11, 12), reason="again", lines=[(charge, Money("40.01", "USD"))])
    with pytest.raises(Refused, match=r"At most \$29\.80 is left to credit on INV"):  # 49.80 total − 20.00
        invoice_credit(invoice=invoice, on=date(2026, 11, 12), reason="the rest", lines=[charge])  # 40.00 left on it
    assert Invoice.objects.get(pk=invoice.pk).total == Money("49.80", "USD")  # the invoice itself is unchanged
