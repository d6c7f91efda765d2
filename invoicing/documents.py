"""What an invoice or credit note says, and where its PDF lives (SPEC §2.6).

A document is first turned into plain data (`invoice_data`, `credit_note_data`)
from its frozen fields only, so a PDF rendered again later, or a draft rendered
from a rolled-back preview, says exactly what the stored one says. The PDF is
stored once per status (open, then paid…) in Django's default storage and
served from there afterwards.
"""

from pathlib import Path
from types import SimpleNamespace

from babel.numbers import format_percent
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import translation
from django.utils.translation import gettext, pgettext_lazy
from moneyed import Money

from billing.proration import tax_within, zero
from invoicing import pdf
from invoicing.formatting import (
    country_name,
    document_day,
    document_language,
    document_locale,
    line_explain,
    money,
    span,
)
from invoicing.models import CreditNote, Invoice

STAMPS = {
    Invoice.Status.DRAFT: pgettext_lazy("stamp", "DRAFT"),
    Invoice.Status.PAID: pgettext_lazy("stamp", "PAID"),
    Invoice.Status.VOID: pgettext_lazy("stamp", "VOID"),
    Invoice.Status.UNCOLLECTIBLE: pgettext_lazy("stamp", "UNCOLLECTIBLE"),
}
LINE_FIELDS = ("kind", "description", "period_start", "period_end", "quantity", "unit_price", "days", "period_days")


def _line(line, fields=LINE_FIELDS) -> dict:
    return {name: getattr(line, name, None) for name in (*fields, "amount")}


def _reason(choices, value: str):
    """The reason's label, lazy: it is put in words in the document's language when the PDF is rendered."""
    return choices(value).label if value in choices.values else value


def invoice_data(invoice: Invoice) -> dict:
    """The invoice as plain data: its frozen fields and lines, nothing recomputed."""
    return {
        "type": "invoice",
        "number": invoice.number,
        "status": invoice.status,
        "reason": _reason(Invoice.Reason, invoice.reason),
        "issued_on": invoice.issued_on,
        "due_on": invoice.due_on,
        "paid_on": invoice.paid_on,
        "buyer": dict(invoice.buyer or {}),
        "tax_rate": invoice.tax_rate,
        "tax_reason": invoice.tax_reason,
        "tax_included": invoice.tax_included,
        "discount_label": invoice.discount_label,
        **{
            name: getattr(invoice, name)
            for name in (
                "subtotal",
                "discount",
                "tax",
                "total",
                "credit_applied",
                "amount_due",
                "amount_paid",
                "amount_credited",
            )
        },
        "lines": [_line(line) for line in invoice.lines.order_by("position", "id")],
    }


def credit_note_data(note: CreditNote) -> dict:
    """The credit note as plain data, with the invoice (and lines) it corrects."""
    return {
        "type": "credit_note",
        "number": note.number,
        "status": "issued",
        "reason": _reason(CreditNote.Reason, note.reason),
        "memo": note.memo,
        "issued_on": note.issued_on,
        "buyer": dict(note.buyer or {}),
        "invoice_number": note.invoice.number if note.invoice_id else "",
        "tax_rate": note.tax_rate,
        "tax_reason": note.tax_reason,
        "tax_included": note.tax_included,
        "total": note.total,
        "tax": credit_note_tax(note),
        "to_balance": sum((entry.amount for entry in note.credit_entries.all()), zero(note.currency)),
        "lines": [
            {**_line(line, LINE_FIELDS[1:]), "kind": "credit", "corrects": line.invoice_line_id is not None}
            for line in note.lines.order_by("id")
        ],
    }


def credit_note_tax(note: CreditNote) -> Money:
    """The tax a credit note gives back: inside its total when its amounts include tax, else none.

    A note on tax-exclusive prices credits net amounts (a switch's note adds the tax it gives back as a line).
    """
    if not note.tax_included:
        return zero(note.currency)
    return tax_within(note.total, note.tax_rate)


def _explain(line: dict, locale: str) -> str:
    """“Nov 16 – Nov 30, 2026 · 15 of 30 days · 1 seat × $7.00”; just the period for an amount credited."""
    if not line.get("period_start") or not line.get("period_end"):
        return ""
    if line["unit_price"] is None or line["unit_price"].amount <= 0:
        return span(line["period_start"], line["period_end"], locale)
    return line_explain(SimpleNamespace(**line), locale)


def address_lines(party: dict) -> list[str]:
    """A party's street lines, then "postcode city" when the document keeps them (issued since issue 19)."""
    lines = [x for x in (party.get("address") or "").splitlines() if x.strip()]
    town = " ".join(x for x in (party.get("postcode"), party.get("city")) if x)
    return [*lines, town] if town else lines


def _buyer(buyer: dict, locale: str) -> dict:
    """The frozen buyer block, with its street lines and its country by name (“France”, “Frankreich”)."""
    return {**buyer, "address_lines": address_lines(buyer), "country_name": country_name(buyer.get("country"), locale)}


def _seller() -> dict:
    seller = dict(settings.SELLER)
    logo = seller.get("logo")
    seller["logo_url"] = Path(logo).resolve().as_uri() if logo and Path(logo).is_file() else ""
    seller["address_lines"] = address_lines(seller)
    return seller


def percent(rate, locale: str) -> str:
    """0.19 → “19%” (“19 %” in German), 0.255 → “25.5%”: as many places as the stored rate needs."""
    return format_percent(rate, locale=locale, decimal_quantization=False)


def tax_words(reason: str, rate, country: str, locale: str) -> str:
    """The tax treatment in words, in the active language: “VAT 19% (Germany)”, “Reverse charge”…

    `country` is the buyer's: the seller's own for `domestic`, the one whose rate applies for `eu_consumer`.
    """
    if reason == "reverse_charge":
        return gettext("Reverse charge")
    if reason == "export":
        return gettext("Export outside the EU — no VAT")
    if reason in ("domestic", "eu_consumer"):
        place = country_name(country or settings.SELLER.get("country", ""), locale)
        return gettext("VAT %(rate)s (%(country)s)") % {"rate": percent(rate, locale), "country": place}
    return gettext("Tax (%(rate)s)") % {"rate": percent(rate, locale)}


def _tax_context(data: dict, loc: str) -> dict:
    """The tax treatment a document prints: its words, and the reverse-charge sentence where it applies."""
    reason, rate = data.get("tax_reason") or "manual", data.get("tax_rate") or 0
    return {
        "tax_words": tax_words(reason, rate, data["buyer"].get("country", ""), loc),
        "tax_shown": reason != "manual" or bool(rate),
        "reverse_charge": reason == "reverse_charge",
        "tax_included": bool(data.get("tax_included")) and bool(rate),
        "vat": reason in ("domestic", "eu_consumer"),
    }


def document_context(data: dict) -> dict:
    """Everything the PDF templates print, formatted for the buyer's locale (Babel), in the active language."""
    buyer = data["buyer"]
    loc = document_locale(buyer)
    day = document_day
    status = data["status"]
    ctx = {
        "doc": data,
        "language": document_language(buyer),
        "seller": {**_seller(), "country_name": country_name(settings.SELLER.get("country", ""), loc)},
        "buyer": _buyer(buyer, loc),
        "number": data["number"] or gettext("Draft"),
        "issued_on": day(data["issued_on"], loc),
        "stamp": STAMPS.get(status, ""),
        "status_label": Invoice.Status(status).label if status in Invoice.Status.values else gettext("Issued"),
        **_tax_context(data, loc),
        "lines": [
            {**line, "explain": _explain(line, loc), "amount_text": money(line["amount"], loc)}
            for line in data["lines"]
        ],
        "total": money(data["total"], loc),
        "paper_size": pdf.paper_size(),
    }
    if data["type"] == "credit_note":
        taken_off = data["total"] - data["to_balance"]
        ctx.update(
            taken_off=money(taken_off, loc) if taken_off.amount else "",
            to_balance=money(data["to_balance"], loc) if data["to_balance"].amount else "",
            tax=money(data["tax"], loc),
            tax_amount_shown=ctx["tax_shown"] and (ctx["tax_included"] or not data.get("tax_rate")),
        )
        return ctx
    credited = data.get("amount_credited") or zero(data["total"].currency.code)
    due = data["amount_due"] - data["amount_paid"] - credited
    ctx.update(
        due_on=day(data["due_on"], loc),
        paid_on=day(data["paid_on"], loc) if data.get("paid_on") else "",
        subtotal=money(data["subtotal"], loc),
        discount=money(-data["discount"], loc) if data["discount"].amount else "",
        tax=money(data["tax"], loc),
        tax_rate=percent(data["tax_rate"], loc),
        credit_applied=money(-data["credit_applied"], loc) if data["credit_applied"].amount else "",
        amount_paid=money(-data["amount_paid"], loc) if data["amount_paid"].amount else "",
        amount_credited=money(-credited, loc) if credited.amount else "",
        left_to_pay=money(max(due, zero(due.currency.code)), loc),
        amount_due=money(data["amount_due"], loc),
        pay_now=money(due, loc) if status in (Invoice.Status.OPEN, Invoice.Status.DRAFT) and due.amount > 0 else "",
    )
    return ctx


def render(data: dict) -> bytes:
    """The PDF of an invoice or credit note given as plain data, in the buyer's invoice language."""
    template = "invoicing/invoice_pdf.html" if data["type"] == "invoice" else "invoicing/credit_note_pdf.html"
    with translation.override(document_language(data["buyer"])):
        return pdf.render(template, document_context(data), title=data["number"] or gettext("Draft invoice"))


def data_of(document) -> dict:
    return invoice_data(document) if isinstance(document, Invoice) else credit_note_data(document)


def file_stem(document) -> str:
    """Stored once per status: a paid invoice gets its PAID stamp in a new file, the open one stays.

    An open invoice that a credit note lowered gets a new file too, that shows the credit and what is left.
    """
    if not isinstance(document, Invoice):
        return document.number
    credited = f"-credited-{document.amount_credited.amount}" if document.amount_credited.amount else ""
    return f"{document.number}-{document.status}{credited}"


def stored_pdf(document) -> bytes | None:
    name = document.pdf.name if document.pdf else ""
    if not name or not Path(name).name.startswith(f"{file_stem(document)}.") or not default_storage.exists(name):
        return None
    with default_storage.open(name, "rb") as f:
        return f.read()


def document_pdf(document) -> bytes:
    """The document's PDF from storage; rendered from the frozen data and stored when missing."""
    content = stored_pdf(document)
    if content is None:
        content = render(data_of(document))
        document.pdf.save(f"{file_stem(document)}.pdf", ContentFile(content), save=False)
        document.save(update_fields=["pdf"])
    return content


def receipt_context(receipt) -> dict:
    """What a receipt PDF and email say: the payment, the invoice it paid, what is left; in the buyer's locale."""
    payment = receipt.payment
    invoice = payment.invoice
    buyer = dict(invoice.buyer or {})
    loc = document_locale(buyer)
    day = document_day
    method = payment.get_method_display()
    return {
        "doc": {"type": "receipt", "status": "paid"},
        "language": document_language(buyer),
        "seller": _seller(),
        "buyer": _buyer(buyer, loc),
        "number": receipt.number,
        "invoice_number": invoice.number,
        "paid_on": day(payment.on, loc),
        "issued_on": day(payment.on, loc),
        "method": method,
        "reference": payment.reference,
        "stamp": "",
        "lines": [
            {
                "description": gettext("Payment of invoice %(number)s (%(method)s)")
                % {"number": invoice.number, "method": str(method).lower()},
                "explain": payment.reference,
                "amount_text": money(payment.amount, loc),
            }
        ],
        "amount": money(payment.amount, loc),
        "invoice_total": money(invoice.amount_due, loc),
        "paid_to_date": money(receipt.paid_to_date, loc),
        "left_to_pay": money(receipt.left_to_pay, loc),
        "settled": receipt.left_to_pay.amount <= 0,
        "paper_size": pdf.paper_size(),
    }


def receipt_pdf(receipt) -> bytes:
    """A receipt's PDF, rendered from its frozen figures (the same bytes' worth of text every time)."""
    with translation.override(document_language(receipt.payment.invoice.buyer or {})):
        return pdf.render("invoicing/receipt_pdf.html", receipt_context(receipt), title=receipt.number)
