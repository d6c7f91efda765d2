"""Background work on a real Celery worker (a thread of this process) against a real Redis: a document
issued in a committed transaction is rendered, stored and emailed once by the worker; a rolled-back
change enqueues nothing; the daily run's chunk goes to the broker as one message. Needs `redis-server`
(skipped with the reason without it)."""

import json
import time
from datetime import date

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.core.mail.backends import locmem
from django.db import transaction
from pypdf import PdfReader

from invoicing.models import Invoice
from invoicing.services import pending_requeue
from subscriptions.services import billing_run, subscription_create
from tests.builders import make_billed_account, make_pro_plan

NOV_1 = date(2026, 11, 1)
DEC_1 = date(2026, 12, 1)

# The worker is another thread with its own database connection: the test's data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


class Boom(Exception):
    pass


class DownTwice(locmem.EmailBackend):
    """A mail server that refuses the first two messages, then works (Django's in-memory backend)."""

    refused = 0

    def send_messages(self, messages):
        if DownTwice.refused < 2:
            DownTwice.refused += 1
            raise ConnectionRefusedError("SMTP server is down")
        return super().send_messages(messages)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def subscribe(acc):
    subscription_create(account=acc, plan=make_pro_plan(), cycle="monthly", on=NOV_1)
    return Invoice.objects.get(account=acc)


def queued(broker) -> list[str]:
    """The names of the tasks waiting in Redis (Celery's default queue)."""
    return [json.loads(raw)["headers"]["task"] for raw in broker.lrange("celery", 0, -1)]


def wait_for(condition, seconds: float = 60) -> None:
    """Poll `condition` (the outbox and Redis, not the database: SQLite's shared in-memory test database
    answers "table is locked" at once, without waiting, while the worker writes)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the worker did not finish in time"
        time.sleep(0.1)


def test_a_committed_invoice_is_rendered_stored_and_emailed_once_by_the_worker(celery_on_redis, redis_url):
    broker = redis.Redis.from_url(redis_url)
    rolled_back = make_billed_account(billing_email="gone@acme.example")
    with pytest.raises(Boom), transaction.atomic():
        subscribe(rolled_back)
        raise Boom
    assert queued(broker) == []  # a rolled-back change enqueues nothing

    invoice = subscribe(make_billed_account(billing_email="finance@acme.example"))  # committed
    assert queued(broker).count("invoicing.document_deliver") == 1  # waiting for a worker; nothing ran here
    assert mail.outbox == [] and not Invoice.objects.get(pk=invoice.pk).pdf

    with start_worker(celery_on_redis, perform_ping_check=False, shutdown_timeout=60):
        wait_for(lambda: len(mail.outbox) == 1 and queued(broker) == [])

    invoice.refresh_from_db()
    assert invoice.emailed_at is not None
    [message] = mail.outbox
    assert message.subject == f"Invoice {invoice.number} — $7.00" and message.to == ["finance@acme.example"]
    assert invoice.number in PdfReader(invoice.pdf.path).pages[0].extract_text()
    ((_, content, _),) = message.attachments
    assert content == invoice.pdf.open("rb").read()  # the stored file is the one sent
    assert pending_requeue()["documents"] == 0  # nothing left for the sweep
    assert not Invoice.objects.filter(account=rolled_back).exists()


def test_a_task_that_fails_twice_is_retried_with_backoff_and_sends_once(celery_on_redis, redis_url, settings):
    settings.EMAIL_BACKEND = f"{__name__}.DownTwice"
    DownTwice.refused = 0
    broker = redis.Redis.from_url(redis_url)
    invoice = subscribe(make_billed_account(billing_email="finance@acme.example"))

    with start_worker(celery_on_redis, perform_ping_check=False, shutdown_timeout=60):
        wait_for(lambda: len(mail.outbox) == 1 and queued(broker) == [], seconds=90)

    invoice.refresh_from_db()
    assert invoice.emailed_at is not None
    assert DownTwice.refused == 2  # two failures, each retried by Celery (5 s backoff, doubled, with jitter)
    [message] = mail.outbox  # then one email
    assert message.subject == f"Invoice {invoice.number} — $7.00"
    ((_, content, _),) = message.attachments
    assert content == invoice.pdf.open("rb").read()  # the PDF stored by the first try is the one sent


def test_the_invoices_of_one_transaction_go_to_the_broker_as_one_message(celery_on_redis, redis_url):
    broker = redis.Redis.from_url(redis_url)
    invoices = [subscribe(make_billed_account(billing_email=f"finance{i}@acme.example")) for i in range(3)]
    with start_worker(celery_on_redis, perform_ping_check=False, shutdown_timeout=60):
        wait_for(lambda: len(mail.outbox) == 3 and queued(broker) == [])  # each subscription's first invoice

    summary = billing_run(on=DEC_1)  # the three renewals, issued together in one transaction
    assert summary.renewed == 3
    assert queued(broker) == ["invoicing.document_deliver_many"]  # one message for the chunk, not one each

    with start_worker(celery_on_redis, perform_ping_check=False, shutdown_timeout=60):
        wait_for(lambda: len(mail.outbox) == 6 and queued(broker) == [])
    renewals = Invoice.objects.filter(issued_on=DEC_1)
    assert renewals.count() == 3 and not renewals.filter(emailed_at__isnull=True).exists()
    assert sorted(m.to[0] for m in mail.outbox[3:]) == [f"finance{i}@acme.example" for i in range(3)]
    assert {inv.pk for inv in invoices}.isdisjoint(renewals.values_list("pk", flat=True))
