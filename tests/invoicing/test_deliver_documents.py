"""DOCUMENT_WORKER and `manage.py deliver_documents`: documents rendered and emailed by a worker process
instead of the process that issues them."""

import socket
from datetime import date

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from pypdf import PdfReader

from invoicing.models import CreditNote, Invoice
from invoicing.services import documents_pending
from subscriptions.services import billing_run, subscription_create
from tests.builders import make_billed_account, make_credit_grant, make_pro_plan

NOV_1 = date(2026, 11, 1)


@pytest.fixture(autouse=True)
def worker_mode(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.DOCUMENT_WORKER = True


def subscribe():
    acc = make_billed_account(billing_email="finance@acme.example")
    subscription_create(account=acc, plan=make_pro_plan(), cycle="monthly", on=NOV_1)
    return acc, Invoice.objects.get(account=acc)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens once it is closed


@pytest.mark.django_db
def test_nothing_is_rendered_where_documents_are_issued(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        acc, invoice = subscribe()
        note = make_credit_grant(acc, "2.00", on=date(2026, 11, 5))
        billing_run(on=date(2026, 11, 5))
    assert mail.outbox == []
    assert not Invoice.objects.get(pk=invoice.pk).pdf
    assert documents_pending() == [(Invoice, invoice.pk), (CreditNote, note.pk)]


@pytest.mark.django_db
def test_the_worker_renders_stores_and_emails_each_pending_document_once(capsys):
    acc, invoice = subscribe()
    note = make_credit_grant(acc, "2.00", on=date(2026, 11, 5))
    call_command("deliver_documents")
    call_command("deliver_documents")
    assert capsys.readouterr().out.splitlines() == [
        "2 sent, 0 failed (left pending).",
        "0 sent, 0 failed (left pending).",
    ]
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
def test_a_mail_server_that_is_down_leaves_the_document_pending_for_the_next_round(settings, capsys):
    _, invoice = subscribe()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", closed_port(), 2
    call_command("deliver_documents")
    assert capsys.readouterr().out.strip() == "0 sent, 1 failed (left pending)."
    invoice.refresh_from_db()
    assert invoice.emailed_at is None and invoice.pdf  # the PDF is kept, so the retry sends the same file
    stored = invoice.pdf.name

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    call_command("deliver_documents", loop=0, rounds=2)
    assert capsys.readouterr().out.strip() == "1 sent, 0 failed (left pending)."  # the quiet round says nothing
    invoice.refresh_from_db()
    assert invoice.emailed_at is not None and invoice.pdf.name == stored
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(("option", "value"), [("workers", 0), ("loop", -1)])
def test_bad_options_are_refused(option, value):
    with pytest.raises(CommandError, match=f"--{option}"):
        call_command("deliver_documents", **{option: value})


@pytest.mark.django_db(transaction=True)
def test_several_worker_processes_send_every_document_exactly_once(settings, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("worker processes need a database server; the SQLite test database lives in this process")
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path / "mail")  # processes share files, not memory
    invoices = [subscribe()[1] for _ in range(6)]
    call_command("deliver_documents", workers=3)
    assert all(Invoice.objects.get(pk=i.pk).emailed_at for i in invoices)
    sent = "".join(p.read_text() for p in (tmp_path / "mail").iterdir())
    assert sorted(n for i in invoices if (n := i.number) in sent) == sorted(i.number for i in invoices)
    assert sent.count("\n" + "-" * 79 + "\n") == 6  # the file backend ends each message with this line
