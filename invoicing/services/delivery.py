"""Delivering issued documents: render, store and email each PDF after commit (SPEC §2.6, STYLE habit 6)."""

import logging
from datetime import date

from django.db import transaction
from django.utils import timezone

from common.background import enqueue
from common.dryrun import is_dry_run
from invoicing.models import CreditNote, Invoice

log = logging.getLogger(__name__)


def document_queue(document: Invoice | CreditNote) -> None:
    """Render, store and email an issued document once its transaction commits, as a background task.

    A rolled-back change (and a preview, a dry run) enqueues nothing (`common.background.enqueue`).
    """
    from invoicing import tasks

    enqueue(tasks.document_deliver, document._meta.label, document.pk)


def documents_queue(documents: list[tuple[type[Invoice] | type[CreditNote], int]]) -> None:
    """`document_queue` for many (model, pk): one message per kind of document, not one per document.

    The daily run issues a chunk of invoices in one transaction; a message each would cost the run more
    than writing them (issue 15). A lone document goes as `document_queue` sends it.
    """
    from invoicing import tasks

    by_label: dict[str, list[int]] = {}
    for model, pk in documents:
        by_label.setdefault(model._meta.label, []).append(pk)
    for label, pks in by_label.items():
        if len(pks) == 1:
            enqueue(tasks.document_deliver, label, pks[0])
        else:
            enqueue(tasks.document_deliver_many, label, pks)


def document_deliver(*, model: type[Invoice] | type[CreditNote], pk: int, quiet: bool = True) -> bool:
    """Store the PDF of one issued document, then email it; a failure is logged (or raised when not
    `quiet`, for the task to retry) and the document stays pending for the daily run's sweep.

    The PDF is stored (and committed) before sending, so a retry sends the same file; the row lock
    and the `emailed_at` check make two runs at once send it once. Nothing in a dry run.
    """
    from invoicing import documents, emails

    if is_dry_run():
        return False
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
        if not quiet:
            raise
        log.exception("Could not deliver %s %s; it stays pending and the next round retries it.", model.__name__, pk)
        return False
    return True


def documents_deliver(*, model: type[Invoice] | type[CreditNote], pks: list[int]) -> int:
    """`document_deliver` for each of `pks`, in order; how many were sent.

    One failure does not stop the others: it is raised once all were tried, so a retry of the
    whole list sends only what is still pending (the others have their `emailed_at`).
    """
    sent, failure = 0, None
    for pk in pks:
        try:
            sent += document_deliver(model=model, pk=pk, quiet=False)
        except Exception as exc:
            log.exception("Could not deliver %s %s; it stays pending.", model.__name__, pk)
            failure = failure or exc
    if failure is not None:
        raise failure
    return sent


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


def invoice_deliver_pending(*, on: date | None = None, accounts=None) -> int:
    """The safety sweep: every issued invoice and credit note not yet emailed is queued again.

    Returns how many were queued; the tasks go out when the caller's transaction commits (none in a dry run).
    """
    if is_dry_run():
        return 0
    pending = documents_pending(on=on, accounts=accounts)
    documents_queue(pending)
    return len(pending)
