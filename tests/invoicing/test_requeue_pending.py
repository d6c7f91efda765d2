"""`manage.py requeue_pending`, the safety sweep: background work still pending in the database (its task
never ran, or gave up) is queued again after commit and done once; a rolled-back change queues nothing."""

import socket
from datetime import date

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import transaction
from pypdf import PdfReader

from invoicing import tasks
from invoicing.models import CreditNote, Invoice
from invoicing.services import documents_pending
from subscriptions.services import subscription_create
from tests.builders import make_billed_account, make_credit_grant, make_pro_plan

NOV_1 = date(2026, 11, 1)


class Boom(Exception):
    pass


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def subscribe():
    acc = make_billed_account(billing_email="finance@acme.example")
    subscription_create(account=acc, plan=make_pro_plan(), cycle="monthly", on=NOV_1)
    return acc, Invoice.objects.get(account=acc)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once it is closed


@pytest.mark.django_db
def test_a_rolled_back_issue_queues_nothing(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as queued:
        with pytest.raises(Boom), transaction.atomic():
            subscribe()
            raise Boom
    assert queued == [] and mail.outbox == []
    assert not Invoice.objects.exists()


@pytest.mark.django_db
def test_the_sweep_queues_each_pending_document_once_and_it_is_sent_once(django_capture_on_commit_callbacks, capsys):
    acc, invoice = subscribe()  # issued; its task never ran (the commit callbacks are dropped here)
    note = make_credit_grant(acc, "2.00", on=date(2026, 11, 5))
    assert documents_pending() == [(Invoice, invoice.pk), (CreditNote, note.pk)]

    with django_capture_on_commit_callbacks(execute=True) as queued:
        call_command("requeue_pending")
        assert mail.outbox == []  # queued, sent only after the commit
    with django_capture_on_commit_callbacks(execute=True) as again:
        call_command("requeue_pending")
    assert capsys.readouterr().out.splitlines() == [
        "2 documents, 0 receipts, 0 card charges, 0 refunds, 0 webhook runs queued.",
        "0 documents, 0 receipts, 0 card charges, 0 refunds, 0 webhook runs queued.",
    ]
    assert [c.args for c in queued] == [
        (tasks.document_deliver, ("invoicing.Invoice", invoice.pk)),
        (tasks.document_deliver, ("invoicing.CreditNote", note.pk)),
    ]
    assert again == []
    invoice.refresh_from_db()
    note.refresh_from_db()
    assert invoice.emailed_at and note.emailed_at
    assert sorted(m.subject for m in mail.outbox) == [
        f"Credit note {note.number} — $2.00",
        f"Invoice {invoice.number} — $7.00",
    ]
    [sent] = [m for m in mail.outbox if m.subject.startswith("Invoice")]
    name, content, mimetype = sent.attachments[0]
    assert name.endswith(".pdf")
    assert mimetype == "application/pdf"
    assert invoice.number in PdfReader(invoice.pdf.path).pages[0].extract_text()
    assert content == invoice.pdf.open("rb").read()  # the stored file is the one sent


@pytest.mark.django_db
def test_a_mail_server_that_is_down_leaves_the_document_pending_for_the_next_sweep(
    settings, django_capture_on_commit_callbacks, caplog
):
    _, invoice = subscribe()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    with django_capture_on_commit_callbacks(execute=True):
        call_command("requeue_pending")
    invoice.refresh_from_db()
    assert invoice.emailed_at is None and invoice.pdf  # the PDF is kept, so the retry sends the same file
    assert "sweep retries it" in caplog.text  # in-process, a failed task is left to the sweep
    stored = invoice.pdf.name

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        call_command("requeue_pending")
    invoice.refresh_from_db()
    assert invoice.emailed_at is not None and invoice.pdf.name == stored
    assert len(mail.outbox) == 1
