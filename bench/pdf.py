#!/usr/bin/env python
"""Benchmark invoice PDFs (issue 5): render time per invoice, download time from storage.

    .venv/bin/python bench/pdf.py [--invoices 20] [--png docs/]

Builds N invoices through the real services (each with a credit line, a 25 % discount,
20 % tax and an applied credit balance) in a temporary SQLite file and media folder,
then prints the median (and p90) time to render one invoice with WeasyPrint, and the
median time of `GET /settings/invoices/<number>.pdf` once the PDF is in storage.
Then delivery: documents rendered, stored and emailed per second by the `document_deliver` service
(what each Celery task runs) in this one process, over N fresh invoices and their credit notes; then
(with `redis-server` installed) the same by a real Celery worker with 1 and with --workers processes
(`celery -A config worker -c W`), timed from the worker's "ready" until nothing is pending.
With --png DIR it also writes DIR/invoice.png and DIR/credit-note.png (pdftoppm -r 80).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._workers import celery_worker, start_redis  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--invoices", "-n", type=int, default=20, help="invoices to render and download")
    p.add_argument("--workers", type=int, default=2, help="worker processes for the second Celery figure")
    p.add_argument("--png", metavar="DIR", help="also write DIR/invoice.png and DIR/credit-note.png")
    return p.parse_args()


def ms(values: list[float]) -> str:
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
    return f"median {statistics.median(values) * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms"


def png(content: bytes, target: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "doc.pdf"
        source.write_bytes(content)
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-singlefile", str(source), str(target.with_suffix(""))], check=True
        )


def celery_worker_drains(workers: int, pending) -> float:
    """Start `celery -A config worker -c workers`; seconds from its "ready" until `pending()` is empty."""
    with celery_worker(workers):
        t0 = time.perf_counter()
        while pending():
            time.sleep(0.05)
        return time.perf_counter() - t0


def main():
    args = parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="prorata-bench-pdf-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp.name}/bench.sqlite3")
    os.environ["MEDIA_ROOT"] = f"{tmp.name}/media"
    # Tasks go to a Redis that no worker reads yet (or, without redis-server, to a broker in this process's
    # memory): documents stay pending, and are delivered below under the clock.
    redis = start_redis(tmp.name)
    os.environ["CELERY_BROKER_URL"] = redis[1] if redis else "memory://"
    os.environ["CELERY_RESULT_BACKEND"] = redis[1] if redis else "cache+memory://"
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"  # the workers' too
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment
    from moneyed import Money

    from bench._data import rich_invoice
    from invoicing import documents
    from invoicing.models import Invoice
    from invoicing.services import invoice_credit

    setup_test_environment()  # the test client's host, and emails kept in memory
    call_command("migrate", verbosity=0)
    if Invoice.objects.exists():
        sys.exit("bench: the database is not empty; point DATABASE_URL at an empty database (or unset it)")

    t0 = time.perf_counter()
    invoices = [rich_invoice() for _ in range(args.invoices)]
    print(f"setup: {len(invoices)} invoices through the services ({time.perf_counter() - t0:.1f}s)")

    documents.render(documents.invoice_data(invoices[0]))  # fonts and WeasyPrint warm-up, not counted
    renders, cpu = [], []
    for invoice in invoices:
        t0, c0 = time.perf_counter(), time.process_time()
        documents.render(documents.invoice_data(invoice))
        renders.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    print(f"render one invoice (WeasyPrint, one {settings.INVOICE_PAPER_SIZE} page): {ms(renders)}; CPU {ms(cpu)}")

    for invoice in invoices:
        documents.document_pdf(invoice)  # stored once
    client, downloads = Client(), []
    for invoice in invoices:
        client.force_login(invoice.account.memberships.get(role="owner").user)
        t0 = time.perf_counter()
        response = client.get(f"/settings/invoices/{invoice.number}.pdf")
        downloads.append(time.perf_counter() - t0)
        assert response.status_code == 200 and response.content.startswith(b"%PDF")
    print(f"download from storage (GET /settings/invoices/<number>.pdf): {ms(downloads)}")
    ratio = statistics.median(renders) / statistics.median(downloads)
    print(f"serving from storage is {ratio:.0f}× faster than rendering")

    from invoicing.services import document_deliver, documents_pending

    for model, pk in documents_pending():
        document_deliver(model=model, pk=pk)  # the invoices above (already stored) are emailed; not counted
    for _ in range(args.invoices):
        rich_invoice()
    pending = documents_pending()  # the invoices, and the credit notes that gave their credit
    t0 = time.perf_counter()
    sent = sum(document_deliver(model=model, pk=pk, quiet=False) for model, pk in pending)
    rate = sent / (time.perf_counter() - t0)
    assert sent == len(pending), (sent, len(pending))
    print(f"deliver (render, store, email) in one process: {sent} documents, {rate:.1f}/s ({os.cpu_count()} CPUs)")
    if redis is None:
        print("Celery workers: skipped (redis-server is not installed)")
    else:
        try:
            for workers in (1, args.workers):
                for _ in range(args.invoices):
                    rich_invoice()  # their tasks wait in Redis
                pending = len(documents_pending())
                seconds = celery_worker_drains(workers, documents_pending)
                print(
                    f"Celery on Redis, {workers} worker process{'es' if workers > 1 else ''}: {pending} documents, "
                    f"{pending / seconds:.1f}/s"
                )
        finally:
            redis[0].terminate()
            redis[0].wait(10)

    if args.png:
        out = Path(args.png)
        out.mkdir(parents=True, exist_ok=True)
        invoice = invoices[0]
        charge = invoice.lines.get(kind="subscription")
        note = invoice_credit(
            invoice=invoice,
            on=date(2026, 11, 12),
            reason="One seat billed twice",
            lines=[(charge, Money("20.00", "USD"))],
        )
        png(documents.document_pdf(invoice), out / "invoice.png")
        png(documents.document_pdf(note), out / "credit-note.png")
        print(f"wrote {out / 'invoice.png'} and {out / 'credit-note.png'}")


if __name__ == "__main__":
    main()
