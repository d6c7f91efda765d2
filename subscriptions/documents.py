"""The next invoice as a PDF marked DRAFT (SPEC §2.4, §2.6): what the daily run will issue, issued by it
inside a preview that is rolled back."""

from django.db.models import Max
from django.http import Http404

from accounts.decorators import billing_required
from invoicing import documents
from invoicing.models import Invoice
from invoicing.pdf import pdf_response
from subscriptions.previews import preview
from subscriptions.selectors import live_subscription
from subscriptions.services import billing_run


def next_invoice_data(subscription) -> list[dict]:
    """The invoices the daily run will issue at the end of the current period, as drafts (SPEC §2.4, §2.6).

    They are computed by the real `billing_run` inside a preview that is rolled back, so nothing is
    created, numbered, stored or sent.
    """
    drafts: list[dict] = []

    def renewal(*, on, accounts):
        since = Invoice.objects.aggregate(last=Max("pk"))["last"] or 0
        billing_run(on=on, accounts=accounts)
        for invoice in Invoice.objects.filter(pk__gt=since, account__in=accounts).order_by("issued_on", "pk"):
            drafts.append({**documents.invoice_data(invoice), "number": None, "status": Invoice.Status.DRAFT})

    preview(renewal, on=subscription.period_end, accounts=[subscription.account])
    return drafts


@billing_required
def next_invoice_pdf(request):
    """The upcoming renewal invoice as a PDF marked DRAFT; nothing is created.

    A billing page like any other (SPEC §1): a member meets the 403 that says who to ask. It has
    no number to hide, unlike `invoicing.views.document_download`, which answers 404 to anyone else.
    """
    account = request.account
    subscription = live_subscription(account)
    drafts = next_invoice_data(subscription) if subscription is not None else []
    if not drafts:
        raise Http404("No invoice is coming up.")
    return pdf_response(documents.render(drafts[0]), f"draft-invoice-{drafts[0]['issued_on']}.pdf")
