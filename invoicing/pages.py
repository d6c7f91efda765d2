"""Settings › Invoices (SPEC §3): invoices and credit notes, what is due and how to pay it.

The PDF download (`/settings/invoices/<number>.pdf`) lives in invoicing/views.py.
"""

from dataclasses import dataclass
from datetime import date

import stripe
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Page, Paginator
from django.db.models import Value
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from moneyed import Money

from accounts.decorators import billing_required
from accounts.models import Account
from common.clock import today
from common.errors import Refused
from common.locales import page_locale
from invoicing.formatting import money
from invoicing.gateways import stripe_enabled
from invoicing.models import CardCharge, CreditNote, Invoice, Payment, Receipt, StripeCustomer
from invoicing.selectors import invoice_outstanding
from invoicing.services import invoice_pay
from invoicing.stripe_services import invoice_pay_by_card


@dataclass(frozen=True)
class Row:
    """One line of the list: an invoice or a credit note."""

    kind: str
    number: str
    issued_on: date
    amount: Money
    status: str
    status_label: str
    is_due: bool = False
    due_on: date | None = None
    amount_due: Money | None = None
    receipts: tuple[str, ...] = ()


def _years(account: Account) -> list[int]:
    years = {d.year for d in Invoice.objects.filter(account=account, number__isnull=False).dates("issued_on", "year")}
    years |= {
        d.year for d in CreditNote.objects.filter(account=account, number__isnull=False).dates("issued_on", "year")
    }
    return sorted(years, reverse=True)


DOCUMENTS_PER_PAGE = 50


def _documents(account: Account, year: int | None):
    """The account's numbered invoices and credit notes, of `year` if given (None: all years)."""
    invoices = Invoice.objects.filter(account=account, number__isnull=False)
    notes = CreditNote.objects.filter(account=account, number__isnull=False)
    if year is not None:
        invoices, notes = invoices.filter(issued_on__year=year), notes.filter(issued_on__year=year)
    return invoices, notes


def _listed(invoices, notes):
    """(kind, pk) of invoices and credit notes together, newest first, as one query to paginate in the database."""
    keys = ("kind", "pk", "issued_on", "number")
    invoice_keys = invoices.order_by().annotate(kind=Value("invoice")).values_list(*keys)
    note_keys = notes.order_by().annotate(kind=Value("credit_note")).values_list(*keys)
    return invoice_keys.union(note_keys, all=True).order_by("-issued_on", "-number")


def _page(account: Account, year: int | None, number) -> Page:
    """The page `number` of the list, its rows built from that page's documents only: the page costs the
    same with 5 or 5,000 documents (issue 15)."""
    page = Paginator(_listed(*_documents(account, year)), DOCUMENTS_PER_PAGE).get_page(number)
    page.object_list = _rows(account, page.object_list)
    return page


def _rows(account: Account, listed) -> list[Row]:
    wanted = {kind: [pk for k, pk, *_ in listed if k == kind] for kind in ("invoice", "credit_note")}
    invoices = Invoice.objects.filter(account=account, pk__in=wanted["invoice"]).only(
        "number",
        "issued_on",
        "total",
        "total_currency",
        "status",
        "due_on",
        "amount_due",
        "amount_due_currency",
        "amount_paid",
        "amount_paid_currency",
        "amount_credited",
        "amount_credited_currency",
    )
    notes = CreditNote.objects.filter(account=account, pk__in=wanted["credit_note"]).only(
        "number", "issued_on", "total", "total_currency"
    )
    receipts: dict[int, list[str]] = {}
    for invoice_id, number in Receipt.objects.filter(payment__invoice__in=wanted["invoice"]).values_list(
        "payment__invoice_id", "number"
    ):
        receipts.setdefault(invoice_id, []).append(number)
    rows = [
        Row(
            kind="invoice",
            number=inv.number,
            issued_on=inv.issued_on,
            amount=inv.total,
            status=inv.status,
            status_label=inv.get_status_display(),
            is_due=inv.status == Invoice.Status.OPEN,
            due_on=inv.due_on,
            amount_due=invoice_outstanding(inv),
            receipts=tuple(receipts.get(inv.pk, ())),
        )
        for inv in invoices
    ]
    rows += [
        Row(
            kind="credit_note",
            number=note.number,
            issued_on=note.issued_on,
            amount=-note.total,
            status="credited",
            status_label=_("Credited"),
        )
        for note in notes
    ]
    return sorted(rows, key=lambda r: (r.issued_on, r.number), reverse=True)


def demo_self_pay(account: Account) -> bool:
    """A stand-in for the payment gateway, for demos: bank-transfer accounts pay with one click."""
    enabled = settings.DEBUG or getattr(settings, "DEMO_SELF_PAY", False)
    return enabled and account.payment_gateway == Account.Gateway.BANK_TRANSFER


def _card(account: Account) -> str:
    """The saved card that can pay now ("Visa •••• 4242, expires 12/29"), when the account pays by card."""
    if not stripe_enabled() or account.payment_gateway != Account.Gateway.STRIPE:
        return ""
    customer = StripeCustomer.objects.filter(account=account).exclude(payment_method_id="").first()
    return customer.card_label if customer else ""


def _due(account: Account) -> list[Invoice]:
    """Open invoices, oldest due first, each with its latest card attempt (`last_charge`) for the page to explain."""
    due = list(Invoice.objects.filter(account=account, status=Invoice.Status.OPEN).order_by("due_on", "id"))
    latest = {}
    for charge in CardCharge.objects.filter(invoice__in=due).order_by("attempt"):
        latest[charge.invoice_id] = charge
    for inv in due:
        inv.last_charge = latest.get(inv.pk)
    return due


@billing_required
def invoice_list(request):
    account = request.account
    years = _years(account)
    wanted = request.GET.get("year", "")
    year = int(wanted) if wanted.isdigit() else None if wanted == "all" or not years else years[0]
    page = _page(account, year, request.GET.get("page"))
    return render(
        request,
        "invoicing/invoice_list.html",
        {
            "rows": page.object_list,
            "page": page,
            "years": years,
            "year": year,
            "due": _due(account),
            "card": _card(account),
            "seller": settings.SELLER,
            "self_pay": demo_self_pay(account),
            "locale": page_locale(account),
            "account": account,
            "today": today(account),
        },
    )


def _paid(invoice: Invoice, amount: Money, *, unlocked: bool) -> str:
    """“Paid INV-…: $3.50.”, and whether that unlocked the account, in the page's language and locale."""
    said = {"number": invoice.number, "amount": money(amount, page_locale(invoice.account))}
    if unlocked:
        return _("Paid %(number)s: %(amount)s. The account is unlocked.") % said
    return _("Paid %(number)s: %(amount)s.") % said


@billing_required
@require_POST
def invoice_pay_demo(request, number: str):
    """Pay an open invoice at once (method “other”), when demo self-pay is on."""
    account = request.account
    if not demo_self_pay(account):
        messages.error(
            request, _("Pay by bank transfer with the details shown; the invoice is marked paid when it arrives.")
        )
        return redirect("invoice_list")
    invoice = get_object_or_404(Invoice, account=account, number=number)
    was_locked = bool(account.locked_on)
    try:
        payment = invoice_pay(
            invoice=invoice,
            on=today(account),
            method=Payment.Method.OTHER,
            reference="Demo payment (stand-in for the payment gateway)",
            by=request.user,
        )
    except Refused as refused:
        messages.error(request, str(refused))
        return redirect("invoice_list")
    account.refresh_from_db(fields=["locked_on"])
    messages.success(request, _paid(invoice, payment.amount, unlocked=was_locked and not account.locked_on))
    return redirect("invoice_list")


@billing_required
@require_POST
def invoice_pay_card(request, number: str):
    """Pay an open invoice now with the saved card (issue 17)."""
    account = request.account
    invoice = get_object_or_404(Invoice, account=account, number=number)
    was_locked = bool(account.locked_on)
    try:
        charge = invoice_pay_by_card(invoice=invoice, on=today(account))
    except Refused as refused:
        messages.error(request, str(refused))
        return redirect("invoice_list")
    except stripe.StripeError as e:
        messages.error(request, e.user_message or _("Stripe did not answer; please try again in a moment."))
        return redirect("invoice_list")
    if charge.status == CardCharge.Status.SUCCEEDED:
        account.refresh_from_db(fields=["locked_on"])
        messages.success(request, _paid(invoice, charge.amount, unlocked=was_locked and not account.locked_on))
    elif charge.status == CardCharge.Status.FAILED:
        failed = _("The card did not pay %(number)s: %(why)s")
        messages.error(request, failed % {"number": invoice.number, "why": charge.failure_message})
    else:
        on_its_way = _("The card payment of %(number)s is on its way; this page shows it once done.")
        messages.success(request, on_its_way % {"number": invoice.number})
    return redirect("invoice_list")


urlpatterns = [
    path("", invoice_list, name="invoice_list"),
    path("<str:number>/pay-by-card/", invoice_pay_card, name="invoice_pay_card"),
    path("<str:number>/pay/", invoice_pay_demo, name="invoice_pay_demo"),
]
