"""Line descriptions are frozen on issued documents in the account's invoice language (issue 19).

Read back from the lines stored and from the PDFs WeasyPrint renders.
"""

import io
from datetime import date

import pytest
from django.utils import translation
from moneyed import Money
from pypdf import PdfReader

from invoicing import documents
from invoicing.models import CreditNote, Invoice
from invoicing.services import credit_grant, invoice_credit
from subscriptions import services
from subscriptions.services import daily_run
from tests.builders import archive, invite, make_account, make_plan

pytestmark = pytest.mark.django_db

NOV_1, NOV_16, DEC_1 = date(2026, 11, 1), date(2026, 11, 16), date(2026, 12, 1)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


def text_of(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages).replace("\xa0", " ")


def subscribed(language: str, **plan_settings):
    account = make_account(f"Kunde {language}", country="DE", invoice_language=language)
    plan = make_plan(f"team{account.pk}", name="Team", currency="EUR", **plan_settings)
    return services.subscription_create(account=account, plan=plan, cycle="monthly", on=NOV_1)


def test_a_german_renewal_invoice_reads_its_line_and_reason_in_german():
    sub = subscribed("de")

    daily_run.renewals_run(on=DEC_1)

    renewal = Invoice.objects.get(subscription=sub, reason=Invoice.Reason.RENEWAL)
    assert [line.description for line in renewal.lines.all()] == ["Team (monatlich) · 1 Platz"]
    text = text_of(documents.document_pdf(renewal))
    assert "Team (monatlich) · 1 Platz" in text
    assert "Für Verlängerung" in text and "Renewal" not in text


def test_seats_added_and_removed_are_described_in_french():
    sub = subscribed("fr", seat_add_billing_monthly="invoice_now", seat_removal="credit_prorated")

    invite(sub.account, 2, on=NOV_16)
    archive(sub.account, 1, on=NOV_16)

    added = Invoice.objects.get(subscription=sub, reason=Invoice.Reason.SEATS)
    assert [line.description for line in added.lines.all()] == ["Team (mensuel) · ajout de 2 sièges"]
    note = CreditNote.objects.get(subscription=sub, reason=CreditNote.Reason.SEATS_REMOVED)
    assert [line.description for line in note.lines.all()] == ["Team (mensuel) · retrait de 1 siège"]
    assert note.memo == "Retrait de 1 siège"


def test_credit_granted_and_corrections_are_described_in_german():
    sub = subscribed("de")
    invoice = Invoice.objects.get(subscription=sub)

    grant = credit_grant(account=sub.account, amount=Money("2.00", "EUR"), reason="Kulanz", on=NOV_16)
    by_amount = invoice_credit(invoice=invoice, on=NOV_16, reason="x", amount=Money("1.00", "EUR"))
    by_line = invoice_credit(
        invoice=invoice, on=NOV_16, reason="x", lines=[(invoice.lines.get(), Money("1.00", "EUR"))]
    )

    assert grant.lines.get().description == "Gewährte Gutschrift: Kulanz"
    assert by_amount.lines.get().description == f"Korrektur von {invoice.number}"
    assert by_line.lines.get().description == "Korrektur: Team (monatlich) · 1 Platz"


def test_an_english_account_gets_english_lines_whatever_language_the_page_is_in():
    with translation.override("de"):
        sub = subscribed("en")
        services.subscription_switch_cycle(subscription=sub, cycle="annual", on=NOV_16)

    switch = Invoice.objects.get(subscription=sub, reason=Invoice.Reason.CYCLE_SWITCH)
    lines = [line.description for line in switch.lines.order_by("position", "id")]
    assert lines == ["Unused time on Team (monthly) · 1 seat", "Team (annual) · 1 seat"]
