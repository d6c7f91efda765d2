"""The API shows the tax evidence and treatment (issue 19): the VIES check on billing details, the plan's
`prices_include_tax`, and each document's tax rate, reason and tax total."""

from datetime import date
from decimal import Decimal

import pytest
from moneyed import Money

from accounts.models import Account
from invoicing.services import invoice_credit
from subscriptions.models import Plan
from subscriptions.services import subscription_create

pytestmark = pytest.mark.usefixtures("eu_tax_rates")

URL = "/api/v1/billing-details"
FR_VAT = "FR40303265045"


@pytest.fixture
def french_business(account):
    """Acme, a French company without a manual rate: the tax rules decide, and its VAT ID needs VIES."""
    Account.objects.filter(pk=account.pk).update(country="FR", tax_rate=None)
    return Account.objects.get(pk=account.pk)


def save_vat_id(api, capture) -> dict:
    with capture(execute=True):  # the VIES check runs once the change commits
        response = api.patch(URL, {"tax_id": FR_VAT}, format="json")
    assert response.status_code == 200
    return api.get(URL).json()["vies"]


def test_a_vat_id_vies_confirms_is_valid_with_its_consultation_number(
    french_business, api, vies, django_capture_on_commit_callbacks
):
    vies.valid.add(FR_VAT)

    check = save_vat_id(api, django_capture_on_commit_callbacks)

    assert check == {
        "status": "valid",
        "checked_on": "2026-11-15",
        "valid_on": "2026-11-15",
        "consultation_number": "WAPIAAAAW0000001",
        "message": "",
    }


def test_vies_down_says_unavailable_and_why(french_business, api, vies, django_capture_on_commit_callbacks):
    vies.down.add(FR_VAT)

    check = save_vat_id(api, django_capture_on_commit_callbacks)

    assert check["status"] == "unavailable" and check["checked_on"] == "2026-11-15"
    assert "MS_UNAVAILABLE" in check["message"] and check["valid_on"] is None


def test_an_unknown_vat_id_is_invalid_and_an_unasked_one_pending(
    french_business, api, vies, django_capture_on_commit_callbacks
):
    assert save_vat_id(api, django_capture_on_commit_callbacks)["status"] == "invalid"

    api.patch(URL, {"tax_id": "FR83404833048"}, format="json")  # not committed-and-asked yet
    assert api.get(URL).json()["vies"] == {
        "status": "pending",
        "checked_on": None,
        "valid_on": None,
        "consultation_number": "",
        "message": "",
    }


@pytest.fixture
def inclusive(french_business):
    """Acme on a €119.00-a-month plan with VAT included; a French consumer of a German seller pays 20 %."""
    plan = Plan.objects.create(
        code="incl",
        name="Inclusive",
        currency="EUR",
        monthly_price=Money("119.00", "EUR"),
        prices_include_tax=True,
    )
    return subscription_create(account=french_business, plan=plan, cycle="monthly", on=date(2026, 11, 15))


def test_the_account_and_subscription_say_whether_prices_include_tax(inclusive, api):
    assert api.get("/api/v1/account").json()["plan"]["prices_include_tax"] is True
    assert api.get("/api/v1/subscription").json()["plan"]["prices_include_tax"] is True


def test_invoices_and_credit_notes_carry_their_tax_rate_reason_and_total(inclusive, api):
    invoice = inclusive.account.invoices.get()
    body = api.get(f"/api/v1/invoices/{invoice.number}").json()

    assert (body["tax_rate"], body["tax_reason"], body["tax_included"]) == ("0.2000", "eu_consumer", True)
    assert body["tax"] == {"amount": "19.83", "currency": "EUR"}  # 119.00 × 0.20 / 1.20
    assert body["total"] == {"amount": "119.00", "currency": "EUR"}

    note = invoice_credit(invoice=invoice, on=date(2026, 11, 15), reason="goodwill", amount=Money("60.00", "EUR"))
    body = api.get(f"/api/v1/credit-notes/{note.number}").json()

    assert (body["tax_rate"], body["tax_reason"], body["tax_included"]) == ("0.2000", "eu_consumer", True)
    assert body["tax"] == {"amount": "10.00", "currency": "EUR"} and body["total"]["amount"] == "60.00"
    assert Decimal(body["tax_rate"]) == invoice.tax_rate


def test_the_schema_documents_the_tax_fields(db, client):
    schemas = client.get("/api/schema/?format=json").json()["components"]["schemas"]

    assert {"tax_rate", "tax_reason", "tax_included", "tax"} <= set(schemas["Invoice"]["properties"])
    assert {"tax_rate", "tax_reason", "tax_included", "tax"} <= set(schemas["CreditNote"]["properties"])
    assert set(schemas["ViesCheck"]["properties"]) == {
        "status",
        "checked_on",
        "valid_on",
        "consultation_number",
        "message",
    }
    assert "prices_include_tax" in schemas["AccountPlan"]["properties"]
