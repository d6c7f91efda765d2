"""Documents show their tax treatment (issue 19) and are written in the buyer's invoice language.

Read back from the PDFs WeasyPrint renders, and from the emails that carry them.
"""

import io
from datetime import date

import pytest
from moneyed import Money
from pypdf import PdfReader

from invoicing import documents
from invoicing.emails import document_email
from invoicing.models import Invoice
from invoicing.services import invoice_credit
from subscriptions.services import subscription_create
from tests.builders import make_account, make_plan

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("eu_tax_rates")]

NOV_1, DEC_1 = date(2026, 11, 1), date(2026, 12, 1)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def text_of(content: bytes) -> str:
    """The PDF's text, with the non-breaking spaces of German and French numbers read as spaces."""
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return text.replace("\xa0", " ").replace("\u202f", " ")


def invoice_for(on: date = NOV_1, *, monthly: str = "7.00", **profile) -> Invoice:
    """The first invoice of a 1-seat EUR subscription; the tax rules decide the rate (no manual rate)."""
    address = {"address": "3 rue de la Paix", "postcode": "75002", "city": "Paris"}
    profile = {"legal_name": "Client SARL", **address, **profile}
    account = make_account("Client", tax_rate=None, **profile)
    plan = make_plan(f"eur{account.pk}", currency="EUR", monthly=monthly, annual="70.00")
    subscription_create(account=account, plan=plan, cycle="monthly", on=on)
    return Invoice.objects.get(account=account)


def reverse_charge_invoice() -> Invoice:
    """DE seller, FR business whose VAT ID VIES found valid: 0 %, reverse charge."""
    return invoice_for(country="FR", tax_id="FR40303265045", vies_valid=True, vies_valid_on=NOV_1)


def test_a_reverse_charge_invoice_names_both_vat_ids_the_reason_and_the_buyer_country():
    invoice = reverse_charge_invoice()
    assert (invoice.tax_reason, invoice.tax_rate) == ("reverse_charge", 0)

    text = text_of(documents.document_pdf(invoice))

    assert "VAT ID DE123456788" in text  # the seller's (settings.SELLER_TAX_ID)
    assert "VAT ID FR40303265045" in text  # the buyer's
    assert "France" in text and "\nFR\n" not in text  # the country by name
    assert "Tax Reverse charge" in text
    assert "Reverse charge €0.00" in text  # 7.00 × 0 %: the tax total, in euros
    assert "Reverse charge — VAT to be accounted for by the recipient" in text
    assert "Total €7.00" in text


def test_a_credit_note_carries_the_tax_treatment_of_the_invoice_it_corrects():
    invoice = reverse_charge_invoice()
    note = invoice_credit(invoice=invoice, on=date(2026, 11, 2), reason="goodwill", amount=Money("2.00", "EUR"))

    text = text_of(documents.document_pdf(note))

    assert note.tax_reason == "reverse_charge"
    assert "Tax Reverse charge" in text
    assert "Reverse charge — VAT to be accounted for by the recipient" in text
    assert "VAT ID FR40303265045" in text and "VAT ID DE123456788" in text


@pytest.mark.parametrize(
    ("profile", "words", "tax", "total"),
    [
        ({"country": "DE"}, "VAT 19% (Germany)", "€1.33", "€8.33"),  # domestic: 7.00 × 19 % = 1.33
        ({"country": "AT"}, "VAT 20% (Austria)", "€1.40", "€8.40"),  # AT consumer: 7.00 × 20 % = 1.40
        ({"country": "US", "tax_id": "12-3456789"}, "Export outside the EU — no VAT", "€0.00", "€7.00"),  # 0 %
    ],
)
def test_each_tax_reason_is_shown_in_words_with_its_total(profile, words, tax, total):
    invoice = invoice_for(**profile)

    text = text_of(documents.document_pdf(invoice))

    assert f"Tax {words}" in text
    assert f"{words} {tax}" in text and f"Total {total}" in text
    assert "Reverse charge" not in text


def test_an_invoice_in_german_reads_rechnung_with_german_dates_and_money():
    # DE business, domestic: 3.50 × 19 % = 0.665 → 0.67 (half up), total 4.17
    invoice = invoice_for(DEC_1, monthly="3.50", country="DE", invoice_language="de", legal_name="Kunde GmbH")

    text = text_of(documents.document_pdf(invoice))

    assert "Rechnung" in text and "Rechnungsnummer" in text and "Invoice" not in text
    assert "Ausstellungsdatum 1. Dezember 2026" in text
    assert "Zwischensumme 3,50 €" in text
    assert "USt. 19 % (Deutschland) 0,67 €" in text
    assert "Gesamt 4,17 €" in text
    assert "Deutschland" in text and "Seite 1 von 1" in text


def test_an_invoice_in_french_reads_facture():
    # FR consumer buying from DE: the French rate, 7.00 × 20 % = 1.40
    invoice = invoice_for(DEC_1, country="FR", invoice_language="fr")

    text = text_of(documents.document_pdf(invoice))

    assert "Facture" in text and "Date d'émission 1 décembre 2026" in text
    assert "TVA 20 % (France) 1,40 €" in text and "Total 8,40 €" in text


def test_a_german_reverse_charge_invoice_says_so_in_german():
    invoice = invoice_for(country="FR", tax_id="FR40303265045", vies_valid_on=NOV_1, invoice_language="de")

    text = " ".join(text_of(documents.document_pdf(invoice)).split())  # the sentence wraps on the page

    assert "Frankreich" in text and "USt-IdNr. FR40303265045" in text
    assert "Steuerschuldnerschaft des Leistungsempfängers (Reverse Charge)" in text
    assert "die Umsatzsteuer schuldet der Leistungsempfänger" in text


def test_the_email_with_an_invoice_is_in_the_buyers_language():
    invoice = invoice_for(DEC_1, monthly="3.50", country="DE", invoice_language="de")

    message = document_email(invoice, b"%PDF")

    assert message.subject == f"Rechnung {invoice.number} — 4,17\xa0€"
    assert message.body.startswith("Guten Tag Client SARL,")
    assert f"die Rechnung {invoice.number} vom 1. Dezember 2026 über 4,17\xa0€ ausgestellt" in message.body


def test_an_english_invoice_keeps_english_whatever_the_active_language():
    from django.utils import translation

    invoice = invoice_for(country="DE")
    with translation.override("fr"):
        text = text_of(documents.document_pdf(invoice))

    assert "Invoice number" in text and "Facture" not in text


def inclusive_invoice(**profile) -> Invoice:
    """A German buyer on a plan priced €119.00 a month, VAT included: 19.00 of it is tax (domestic, 19 %)."""
    address = {"address": "Hauptstr. 1", "postcode": "10115", "city": "Berlin"}
    account = make_account("Kunde", tax_rate=None, legal_name="Kunde GmbH", country="DE", **address, **profile)
    plan = make_plan(f"incl{account.pk}", currency="EUR", monthly="119.00", annual=None, prices_include_tax=True)
    subscription_create(account=account, plan=plan, cycle="monthly", on=NOV_1)
    return Invoice.objects.get(account=account)


@pytest.mark.parametrize(
    ("language", "included", "of_which"),
    [
        ("en", "Prices include VAT.", "Of which VAT 19% (Germany) €19.00"),
        ("de", "Preise inkl. USt.", "Darin enthalten: USt. 19 % (Deutschland) 19,00 €"),
        ("fr", "Prix TTC.", "Dont TVA 19 % (Allemagne) 19,00 €"),
    ],
)
def test_an_invoice_on_tax_inclusive_prices_says_so_and_shows_the_tax_inside_the_total(language, included, of_which):
    invoice = inclusive_invoice(invoice_language=language)

    text = " ".join(text_of(documents.document_pdf(invoice)).split())  # a long row wraps in its cell

    assert included in text and of_which in text
    assert "€119.00" in text or "119,00 €" in text
    assert "€138.61" not in text and "141,61 €" not in text  # the tax is not added on top


def test_a_credit_note_on_tax_inclusive_prices_shows_the_tax_it_gives_back():
    invoice = inclusive_invoice()
    note = invoice_credit(invoice=invoice, on=date(2026, 11, 2), reason="goodwill", amount=Money("59.50", "EUR"))

    text = text_of(documents.document_pdf(note))

    assert note.tax_included and (note.tax_rate, note.tax_reason) == (invoice.tax_rate, "domestic")
    assert "Tax VAT 19% (Germany)" in text  # the treatment of the invoice it corrects
    assert "Total credited €59.50" in text
    assert "Of which VAT 19% (Germany) €9.50" in text  # 59.50 × 0.19 / 1.19
    assert "Prices include VAT." in text


def test_a_reverse_charge_credit_note_shows_its_zero_tax_and_the_reverse_charge_text_in_german():
    invoice = invoice_for(country="FR", tax_id="FR40303265045", vies_valid_on=NOV_1, invoice_language="de")
    note = invoice_credit(invoice=invoice, on=date(2026, 11, 2), reason="goodwill", amount=Money("2.00", "EUR"))

    text = " ".join(text_of(documents.document_pdf(note)).split())

    assert "Gutschrift" in text and "Steuer Steuerschuldnerschaft des Leistungsempfängers" in text
    assert "Steuerschuldnerschaft des Leistungsempfängers 0,00 €" in text
    assert "die Umsatzsteuer schuldet der Leistungsempfänger" in text
    assert "Preise inkl." not in text
