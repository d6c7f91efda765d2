"""Invoice and credit-note PDFs for the people who manage the account's billing (SPEC §1, §2.6)."""

from django.http import Http404, HttpResponse

from accounts.permissions import can_manage_billing
from invoicing import documents
from invoicing.models import CreditNote, Invoice
from subscriptions.selectors import live_subscription


def _billing_account(request):
    """The current account if this person manages its billing; otherwise 404, so numbers don't leak."""
    if not request.user.is_authenticated or not can_manage_billing(getattr(request, "membership", None)):
        raise Http404
    return request.account


def _pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def document_download(request, number: str):
    """`/settings/invoices/<number>.pdf`: an invoice or credit note of the current account, from storage."""
    account = _billing_account(request)
    document = (
        Invoice.objects.filter(account=account, number=number).first()
        or CreditNote.objects.filter(account=account, number=number).first()
    )
    if document is None:
        raise Http404
    return _pdf_response(documents.document_pdf(document), f"{document.number}.pdf")


def next_invoice_pdf(request):
    """The upcoming renewal invoice as a PDF marked DRAFT; nothing is created."""
    account = _billing_account(request)
    subscription = live_subscription(account)
    drafts = documents.next_invoice_data(subscription) if subscription is not None else []
    if not drafts:
        raise Http404("No invoice is coming up.")
    return _pdf_response(documents.render(drafts[0]), f"draft-invoice-{drafts[0]['issued_on']}.pdf")
