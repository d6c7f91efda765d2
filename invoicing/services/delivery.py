"""Delivering issued documents: render, store and email each PDF after commit (SPEC §2.6, STYLE habit 6)."""

import logging
from dataclasses import dataclass
from datetime import date
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from invoicing.models import CreditNote, Invoice

log = logging.getLogger(__name__)


def document_queue(document: Invoice | CreditNote) -> None:
    """Render, store and email an issued document once its transaction commits (SPEC §2.6, STYLE habit 6).

    A rolled-back change sends nothing. With settings.INVOICE_RENDER_ON_FINALIZE off, finalisation
    leaves the document to `invoice_deliver_pending`; with settings.DOCUMENT_WORKER on, to the
    `deliver_documents` worker (`documents_deliver`).
    """
    if settings.INVOICE_RENDER_ON_FINALIZE and not settings.DOCUMENT_WORKER:
        transaction.on_commit(partial(document_deliver, model=type(document), pk=document.pk), robust=True)


def document_deliver(*, model: type[Invoice] | type[CreditNote], pk: int) -> bool:
    """Store the PDF of one issued document, then email it; a failure is logged and retried by the next run.

    The PDF is stored (and committed) before sending, so a retry sends the same file; the row lock
    and the `emailed_at` check make two runs at once send it once.
    """
    from invoicing import documents, emails

    try:
        document = model.objects.select_related("account").filter(pk=pk, emailed_at__isnull=True).first()
        if document is None:
            return False
        content = documents.document_pdf(document)
        with transaction.atomic():
            document = model.objects.select_for_update().filter(pk=pk, emailed_at__isnull=True).first()
            if document is None:
                return False
            emails.document_send(document, content)
            document.emailed_at = timezone.now()
            document.save(update_fields=["emailed_at"])
    except Exception:
        log.exception("Could not deliver %s %s; it stays pending and the next round retries it.", model.__name__, pk)
        return False
    return True


def documents_pending(*, on: date | None = None, accounts=None) -> list[tuple[type[Invoice] | type[CreditNote], int]]:
    """Issued invoices and credit notes not yet emailed (issued by `on`, if given), oldest first."""
    pending = [
        Invoice.objects.filter(number__isnull=False, emailed_at__isnull=True).exclude(
            status__in=[Invoice.Status.DRAFT, Invoice.Status.VOID]
        ),
        CreditNote.objects.filter(number__isnull=False, emailed_at__isnull=True),
    ]
    found = []
    for qs in pending:
        if on is not None:
            qs = qs.filter(issued_on__lte=on)
        if accounts is not None:
            qs = qs.filter(account__in=accounts)
        found += [(qs.model, pk) for pk in qs.order_by("issued_on", "pk").values_list("pk", flat=True)]
    return found


def invoice_deliver_pending(*, on: date, accounts=None) -> int:
    """The daily run's retry: every issued invoice and credit note not yet emailed gets its PDF and email.

    Returns how many were queued; they are delivered when the caller's transaction commits.
    With settings.DOCUMENT_WORKER on, nothing: the `deliver_documents` worker sends them.
    """
    if settings.DOCUMENT_WORKER:
        return 0
    pending = documents_pending(on=on, accounts=accounts)
    for model, pk in pending:
        transaction.on_commit(partial(document_deliver, model=model, pk=pk), robust=True)
    return len(pending)


@dataclass
class Delivered:
    sent: int = 0
    failed: int = 0


def documents_deliver(*, workers: int = 1) -> Delivered:
    """The `deliver_documents` worker: render, store and email every pending document, in `workers`
    processes at once (WeasyPrint is CPU-bound, about 0.14 s a page). Each document goes to one
    process; `document_deliver`'s row lock and `emailed_at` check still send it once should
    another worker reach it too. A failure is logged, counted and left pending for the next round.
    """
    pending = documents_pending()
    if workers <= 1 or len(pending) <= 1:
        results = [document_deliver(model=model, pk=pk) for model, pk in pending]
    else:
        from common.processes import map_in_processes

        chunk = max(1, len(pending) // (workers * 4))
        results = map_in_processes(_deliver_one, pending, workers=workers, chunksize=chunk)
    still = set(documents_pending()) & set(pending)
    return Delivered(sent=sum(1 for r in results if r), failed=len(still))


def _deliver_one(item: tuple[type[Invoice] | type[CreditNote], int]) -> bool:
    model, pk = item
    return document_deliver(model=model, pk=pk)
