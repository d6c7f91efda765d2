"""Settings › Billing details: one service checks every change (page, API, admin); issued documents keep theirs."""

from datetime import date
from decimal import Decimal

import pytest

from accounts.models import Account
from accounts.services import billing_details_of, billing_details_update
from billing import plan as core
from billing.calendar import Period
from common.errors import Refused
from invoicing.documents import document_context, invoice_data
from invoicing.services import invoice_issue
from tests.builders import make_account, usd

pytestmark = pytest.mark.django_db

URL = "/settings/billing-details/"
GOOD = {
    "legal_name": "Acme Analytics GmbH",
    "address": "Hauptstraße 5\n2. Stock",
    "postcode": "80331",
    "city": "München",
    "country": "DE",
    "tax_id": "DE 136 695 976",
    "billing_email": "invoices@acme.example",
    "invoice_language": "de",
}


def stored(account: Account) -> dict:
    return billing_details_of(Account.objects.get(pk=account.pk))


def test_a_valid_german_vat_id_is_saved_compact():
    account = make_account()
    billing_details_update(account=account, changes=GOOD)
    assert stored(account) == {**GOOD, "tax_id": "DE136695976"}


def test_an_eu_vat_id_without_its_prefix_gets_the_countrys():
    account = make_account()
    billing_details_update(account=account, changes={"country": "FR", "tax_id": "40 303 265 045"})
    assert stored(account)["tax_id"] == "FR40303265045"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        # DE136695975: the last digit is the check digit of 13669597, which is 6.
        (
            {"country": "DE", "tax_id": "DE136695975"},
            "tax_id",
            "DE136695975 is not a valid VAT ID: a check digit is wrong. DE VAT numbers are DE followed by 9 digits.",
        ),
        (
            {"country": "DE", "tax_id": "DE12345"},
            "tax_id",
            "DE12345 is not a valid VAT ID. DE VAT numbers are DE followed by 9 digits.",
        ),
        (
            {"country": "AT", "tax_id": "DE136695976"},
            "tax_id",
            "A VAT ID from AT starts with AT: AT VAT numbers are ATU followed by 8 digits.",
        ),
        ({"country": "GB", "tax_id": "GB123"}, "tax_id", "GB123 is not a valid VAT number for GB."),
        ({"tax_id": "DE136695976", "country": ""}, "country", "Choose the country of this VAT ID first."),
        ({"country": "XX"}, "country", "“XX” is not a country: choose one from the list."),
        ({"country": "EU"}, "country", "“EU” is not a country: choose one from the list."),
        (
            {"legal_name": "N" * 10_000},
            "legal_name",
            "The legal name can be at most 200 characters long (this one has 10,000).",
        ),
        ({"address": "1\n2\n3\n4"}, "address", "Give at most 3 address lines."),
        ({"billing_email": "not-an-email"}, "billing_email", "“not-an-email” is not an email address."),
        ({"invoice_language": "es"}, "invoice_language", "Invoices are written in en (English), de (Deutsch), fr"),
        ({"plan": "free"}, "plan", "“plan” is not a billing detail."),
    ],
)
def test_bad_details_are_refused_with_a_clear_message_and_nothing_is_saved(changes, field, message):
    account = make_account(legal_name="Old Name Ltd", country="DE", tax_id="DE136695976")
    before = stored(account)
    # Every other field is good: one bad one refuses the lot.
    with pytest.raises(Refused) as refused:
        billing_details_update(account=account, changes={**GOOD, **changes})
    assert refused.value.field == field
    assert refused.value.message.startswith(message)
    assert stored(account) == before


def test_a_new_vat_id_forgets_the_vies_answer_about_the_old_one():
    account = make_account(country="FR", tax_id="FR40303265045", vies_valid=True, vies_valid_on=date(2026, 11, 1))
    billing_details_update(account=account, changes={"city": "Paris"})
    assert Account.objects.get(pk=account.pk).vies_valid_on == date(2026, 11, 1)
    billing_details_update(account=account, changes={"country": "DE", "tax_id": "DE136695976"})
    account.refresh_from_db()
    assert (account.vies_valid, account.vies_valid_on) == (None, None)


def _invoice(account, on):
    period = Period(on, date(on.year, on.month + 1, 1))
    line = core.Line(core.SUBSCRIPTION, "Pro", period, 1, usd("7.00"), usd("7.00"), 30, 30)
    return invoice_issue(account=account, subscription=None, reason="renewal", on=on, lines=[line])


def test_issued_invoices_keep_their_buyer_block_the_next_one_carries_the_change():
    account = make_account("NewCo", currency="USD", tax_rate=Decimal(0))
    first = _invoice(account, date(2026, 10, 1))
    assert first.buyer["name"] == "NewCo"

    billing_details_update(account=account, changes=GOOD)
    first.refresh_from_db()
    assert first.buyer["name"] == "NewCo" and first.buyer["tax_id"] == ""
    assert document_context(invoice_data(first))["buyer"]["address_lines"] == []

    second = _invoice(account, date(2026, 11, 1))
    buyer = document_context(invoice_data(second))["buyer"]
    assert (buyer["name"], buyer["tax_id"], buyer["country"]) == ("Acme Analytics GmbH", "DE136695976", "DE")
    assert buyer["address_lines"] == ["Hauptstraße 5", "2. Stock", "80331 München"]
    assert (buyer["email"], buyer["language"]) == ("invoices@acme.example", "de")


# ---------------------------------------------------------------- the page


def test_the_page_saves_and_shows_the_details(as_role, team):
    client = as_role("billing_admin")
    page = client.get(URL)
    assert page.status_code == 200
    assert '<option value="DE">Germany</option>' in page.content.decode()
    response = client.post(URL, GOOD)
    assert response.status_code == 302 and response["Location"] == URL
    assert stored(team["account"]) == {**GOOD, "tax_id": "DE136695976"}
    assert "Invoices and credit notes issued from now on" in client.get(URL).content.decode()


def test_the_page_shows_the_error_next_to_its_field_and_saves_nothing(as_role, team):
    before = stored(team["account"])
    response = as_role("owner").post(URL, {**GOOD, "tax_id": "DE136695975"})
    text = response.content.decode()
    assert response.status_code == 200
    assert 'class="field-error block"' in text and "DE VAT numbers are DE followed by 9 digits." in text
    assert stored(team["account"]) == before

    response = as_role("owner").post(URL, {**GOOD, "legal_name": "N" * 10_000})
    assert "at most 200 characters long (this one has 10,000)" in response.content.decode()
    response = as_role("owner").post(URL, {**GOOD, "country": "ZZ"})
    assert "“ZZ” is not a country" in response.content.decode()
    assert stored(team["account"]) == before


def test_a_member_cannot_change_billing_details(as_role, team):
    before = stored(team["account"])
    assert as_role("member").post(URL, GOOD).status_code == 403
    assert stored(team["account"]) == before


def test_a_german_page_refuses_in_german_and_saves_nothing(as_role, team):
    before = stored(team["account"])
    client = as_role("owner")

    response = client.post(URL, {**GOOD, "tax_id": "DE136695975"}, HTTP_ACCEPT_LANGUAGE="de")
    assert "DE136695975 ist keine gültige USt-IdNr.: Eine Prüfziffer ist falsch." in response.content.decode()
    response = client.post(URL, {**GOOD, "legal_name": "N" * 10_000}, HTTP_ACCEPT_LANGUAGE="de")
    assert "Der Firmenname darf höchstens 200 Zeichen lang sein (hier sind es 10.000)." in response.content.decode()
    response = client.post(URL, {**GOOD, "country": "ZZ"}, HTTP_ACCEPT_LANGUAGE="de")
    assert "„ZZ“ ist kein Land" in response.content.decode()
    assert stored(team["account"]) == before
