"""Invoice and credit-note PDFs for the people who manage the account's billing (SPEC §1, §2.6)."""

from django.http import Http404, HttpResponse

from accounts.decorators import billing_required
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


def _support_may_read(request, model) -> bool:
    """Support staff open any document from the admin, with the model's view permission."""
    opts = model._meta
    return request.user.is_staff and request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}")


def document_download(request, number: str):
    """`/settings/invoices/<number>.pdf`: an invoice or credit note of the current account, from storage."""
    document = None
    for model in (Invoice, CreditNote):
        if document is None and request.user.is_authenticated and _support_may_read(request, model):
            document = model.objects.filter(number=number).first()
    if document is None:
        account = _billing_account(request)
        document = (
            Invoice.objects.filter(account=account, number=number).first()
            or CreditNote.objects.filter(account=account, number=number).first()
        )
    if document is None:
        raise Http404
    return _pdf_response(documents.document_pdf(document), f"{document.number}.pdf")


@billing_required
def next_invoice_pdf(request):
    """The upcoming renewal invoice as a PDF marked DRAFT; nothing is created.

    A billing page like any other (SPEC §1): a member meets the 403 that says who to ask. It has
    no number to hide, unlike `document_download`, which answers 404 to anyone else.
    """
    account = request.account
    subscription = live_subscription(account)
    drafts = documents.next_invoice_data(subscription) if subscription is not None else []
    if not drafts:
        raise Http404("No invoice is coming up.")
    return _pdf_response(documents.render(drafts[0]), f"draft-invoice-{drafts[0]['issued_on']}.pdf")
