"""The invoice and credit-note PDFs: what they say, read back with pypdf (SPEC §2.6)."""

import io
from datetime import date

import pytest
from moneyed import Money
from pypdf import PdfReader

from invoicing import documents, pdf
from invoicing.models import Invoice
from invoicing.services import invoice_credit, invoice_pay, invoice_void
from tests.builders import make_billed_account, make_credit_grant, make_pro_plan, make_rich_invoice


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def text_of(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


@pytest.mark.django_db
def test_invoice_pdf_shows_number_lines_totals_and_amount_due():
    invoice = make_rich_invoice()
    text = text_of(documents.document_pdf(invoice))

    assert invoice.number in text
    lines = list(invoice.lines.order_by("position"))
    assert [line.kind for line in lines] == ["credit", "subscription"]
    for line in lines:
        assert line.description in text
    # 5.25 paid × 20/30 unused = 3.50 back; 60.00 for the year
    assert "-$3.50" in text and "Nov 11 – Nov 30, 2026 · 20 of 30 days · 1 seat × $7.00" in text
    assert "$60.00" in text and "Nov 11, 2026 – Nov 10, 2027" in text
    assert "Subtotal $56.50" in text
    assert "Discount (Coupon SAVE25" in text and "-$15.00" in text  # 25 % × 60.00
    assert "Tax (20%) $8.30" in text  # 20 % × (56.50 − 15.00)
    assert "Total $49.80" in text
    assert "Credit applied -$2.00" in text
    assert "Amount due $47.80" in text
    assert "Acme Analytics GmbH" in text and "DE123456789" in text  # buyer
    assert "Prorata Demo Ltd" in text and "DE136695976" in text  # seller (settings.SELLER)
    assert "Please pay $47.80 by Nov 10, 2026" in text and f"reference {invoice.number}" in text
    assert "IBAN" in text


@pytest.mark.django_db
def test_paid_invoice_gets_a_paid_stamp_in_a_new_file_and_the_open_one_stays():
    invoice = make_rich_invoice()
    opened = documents.document_pdf(invoice)
    open_name = invoice.pdf.name
    invoice_pay(invoice=invoice, on=date(2026, 11, 12))
    invoice.refresh_from_db()

    paid = text_of(documents.document_pdf(invoice))

    assert "PAID" in paid and "Please pay" not in paid
    assert "PAID" not in text_of(opened)
    assert invoice.pdf.name != open_name and invoice.pdf.name.endswith(f"{invoice.number}-paid.pdf")


@pytest.mark.django_db
def test_a_credit_note_on_an_open_invoice_shows_on_both_documents():
    invoice = make_rich_invoice()  # 47.80 due, open
    before = text_of(documents.document_pdf(invoice))
    note = invoice_credit(invoice=invoice, on=date(2026, 11, 12), reason="price agreed", amount=Money("7.80", "USD"))
    invoice.refresh_from_db()

    after = text_of(documents.document_pdf(invoice))
    note_text = text_of(documents.document_pdf(note))

    assert "Credited by credit note" not in before and "Please pay $47.80" in before
    assert "Credited by credit note -$7.80" in after and "Left to pay $40.00" in after  # 47.80 − 7.80
    assert "Please pay $40.00" in after
    assert f"$7.80 is taken off what was left to pay on {invoice.number}" in note_text
    assert "credit balance" not in note_text


@pytest.mark.django_db
def test_credit_note_pdf_names_the_note_and_what_it_credits():
    acc = make_billed_account()
    make_pro_plan()
    acc.currency = "USD"
    acc.save(update_fields=["currency"])
    note = make_credit_grant(acc, "12.50", on=date(2026, 11, 5))

    text = text_of(documents.document_pdf(note))

    assert note.number in text and note.number.startswith("CN-2026-")
    assert "Credit note" in text and "Goodwill credit" in text
    assert "Total credited $12.50" in text
    assert "credit balance" in text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("currency", "locale", "monthly", "expected"),
    [("USD", "en_US", "3.50", "$3.50"), ("EUR", "de_DE", "3.50", "3,50\xa0€"), ("JPY", "en_US", "1294", "¥1,294")],
)
def test_money_is_formatted_for_the_account_locale_and_currency(currency, locale, monthly, expected):
    from subscriptions.services import subscription_create

    acc = make_billed_account(locale=locale)
    sub_plan = make_pro_plan(currency=currency, monthly=monthly, annual=monthly)
    subscription_create(account=acc, plan=sub_plan, cycle="monthly", on=date(2026, 11, 1))
    invoice = Invoice.objects.get(account=acc)

    text = text_of(documents.document_pdf(invoice))

    assert expected.replace("\xa0", " ") in text.replace("\xa0", " ")


@pytest.mark.django_db
@pytest.mark.parametrize(("size", "points"), [("A4", (595, 842)), ("Letter", (612, 792))])
def test_paper_size_comes_from_settings(settings, size, points):
    settings.INVOICE_PAPER_SIZE = size
    content = documents.document_pdf(make_rich_invoice())
    box = PdfReader(io.BytesIO(content)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == points


def test_the_pdf_fetcher_refuses_the_network():
    fetcher = pdf.url_fetcher()
    for url in ("http://example.com/logo.png", "https://example.com/font.woff"):
        with pytest.raises(ValueError, match="disallowed protocol"):
            fetcher.fetch(url)


@pytest.mark.django_db
def test_an_optional_logo_is_read_from_a_local_file(settings, tmp_path):
    logo = tmp_path / "logo.svg"
    logo.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="10"><rect width="40" height="10"/></svg>'
    )
    settings.SELLER = {**settings.SELLER, "logo": str(logo)}
    invoice = make_rich_invoice()

    ctx = documents.document_context(documents.invoice_data(invoice))
    content = documents.render(documents.invoice_data(invoice))

    assert ctx["seller"]["logo_url"] == logo.as_uri()
    assert invoice.number in text_of(content)


@pytest.mark.django_db
def test_a_missing_pdf_is_rendered_again_from_the_frozen_data_with_the_same_content():
    invoice = make_rich_invoice()
    first = documents.document_pdf(invoice)
    name = invoice.pdf.name
    assert documents.document_pdf(invoice) == first  # served from storage, byte for byte
    invoice.pdf.storage.delete(name)

    again = documents.document_pdf(Invoice.objects.get(pk=invoice.pk))

    assert text_of(again) == text_of(first)


@pytest.mark.django_db
def test_a_voided_invoice_keeps_its_number_and_says_void():
    invoice = make_rich_invoice()
    invoice_void(invoice=invoice, on=date(2026, 11, 11), reason="issued by mistake")
    invoice.refresh_from_db()

    text = text_of(documents.document_pdf(invoice))

    assert invoice.number in text and "VOID" in text and "not payable" in text and "Please pay" not in text
