"""/api/v1/billing-details: the same fields and checks as Settings › Billing details, errors in the API's shape."""

import pytest

from accounts.models import Account
from accounts.services import billing_details_of

from .conftest import error_of

URL = "/api/v1/billing-details"
GOOD = {
    "legal_name": "Acme SAS",
    "address": "12 rue de la Paix",
    "postcode": "75002",
    "city": "Paris",
    "country": "FR",
    "tax_id": "FR 40 303 265 045",
    "billing_email": "compta@acme.example",
    "invoice_language": "fr",
}


def stored(account) -> dict:
    return billing_details_of(Account.objects.get(pk=account.pk))


def test_read_then_replace_then_change_one_field(account, api):
    assert api.get(URL).json() == {**dict.fromkeys(GOOD, ""), "invoice_language": "en", "vies": None}

    response = api.put(URL, GOOD, format="json")
    assert response.status_code == 200
    assert response.json() == {**GOOD, "tax_id": "FR40303265045", "vies": None}  # a manual rate: VIES not needed
    assert {**stored(account), "vies": None} == response.json()

    response = api.patch(URL, {"city": "Lyon", "postcode": "69001"}, format="json")
    assert response.status_code == 200
    assert stored(account) == {**GOOD, "tax_id": "FR40303265045", "city": "Lyon", "postcode": "69001"}


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        # FR40303265046: the two characters after FR are a check over the 9-digit SIREN; 46 breaks it.
        ({"tax_id": "FR40303265046"}, "tax_id", "FR VAT numbers are FR followed by 2 digits or letters and 9 digits."),
        ({"country": "QQ"}, "country", "“QQ” is not a country: choose one from the list."),
        ({"legal_name": "N" * 10_000}, "legal_name", "at most 200 characters long (this one has 10,000)"),
        ({"invoice_language": "es"}, "invoice_language", "Invoices are written in en (English)"),
        ({"billing_email": None}, "billing_email", "This field may not be null."),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_saves_nothing(account, api, body, field, message):
    before = stored(account)
    for method in (api.put, api.patch):
        response = method(URL, {**GOOD, **body}, format="json")
        assert response.status_code == 400
        error = error_of(response)
        assert error["field"] == field and message in error["message"]
    assert stored(account) == before


def test_put_needs_every_field(account, api):
    response = api.put(URL, {"city": "Paris"}, format="json")
    assert response.status_code == 400
    assert error_of(response)["field"] == "legal_name"
    assert stored(account)["city"] == ""


@pytest.mark.parametrize(("role", "status"), [("admin", 200), ("billing_admin", 200), ("member", 403)])
def test_billing_roles_only(account, client_for, role, status):
    client = client_for(role)
    assert client.get(URL).status_code == status
    response = client.patch(URL, {"city": "Paris"}, format="json")
    assert response.status_code == status
    if status == 403:
        assert error_of(response)["code"] == "permission_denied"
        assert stored(account)["city"] == ""


def test_the_schema_documents_the_endpoint(db, client):
    schema = client.get("/api/schema/?format=json").json()
    assert set(schema["paths"][URL]) == {"get", "put", "patch"}
    fields = schema["components"]["schemas"]["BillingDetails"]["properties"]
    assert list(fields) == [*GOOD, "vies"]
