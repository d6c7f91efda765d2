"""Invoice and credit-note PDFs for the people who manage the account's billing (SPEC §1, §2.6)."""

from django.http import Http404

from accounts.permissions import can_manage_billing
from invoicing import documents
from invoicing.models import CreditNote, Invoice, Receipt
from invoicing.pdf import pdf_response


def _billing_account(request):
    """The current account if this person manages its billing; otherwise 404, so numbers don't leak."""
    if not request.user.is_authenticated or not can_manage_billing(getattr(request, "membership", None)):
        raise Http404
    return request.account


def _support_may_read(request, model) -> bool:
    """Support staff open any document from the admin, with the model's view permission."""
    opts = model._meta
    return request.user.is_staff and request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}")


def document_download(request, number: str):
    """`/settings/invoices/<number>.pdf`: an invoice, credit note or payment receipt of the current account."""
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
        receipts = Receipt.objects.select_related("payment__invoice__account")
        if request.user.is_authenticated and _support_may_read(request, Invoice):
            receipt = receipts.filter(number=number).first()
        else:
            receipt = receipts.filter(payment__invoice__account=_billing_account(request), number=number).first()
        if receipt is None:
            raise Http404
        return pdf_response(documents.receipt_pdf(receipt), f"{receipt.number}.pdf")
    return pdf_response(documents.document_pdf(document), f"{document.number}.pdf")
