"""Issue 18: an unrecognised `preview` or `page_size` is a 400 in the error shape and changes nothing."""

import pytest

from invoicing.models import Invoice
from subscriptions.models import Subscription
from subscriptions.services import subscription_create

from .conftest import DAY, error_of

CHANGES = [
    ("/api/v1/subscription/cancel", None),
    ("/api/v1/subscription/undo-cancel", None),
    ("/api/v1/subscription/cycle", {"cycle": "annual"}),
    ("/api/v1/subscription/seats", {"seats": 3}),
]
ODD_PREVIEWS = ["null", "", "maybe", "2", "TRUEISH", "none"]


def _state(subscription) -> tuple:
    sub = Subscription.objects.get(pk=subscription.pk)
    return sub.cancel_at_period_end, sub.cycle, sub.bought_seats, Invoice.objects.count()


@pytest.mark.parametrize("path,body", CHANGES)
@pytest.mark.parametrize("value", ODD_PREVIEWS)
def test_an_unrecognised_preview_is_refused_and_changes_nothing(subscription, api, path, body, value):
    before = _state(subscription)
    response = api.post(f"{path}?preview={value}", body, format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert error["field"] == "preview"
    assert _state(subscription) == before


def test_preview_given_twice_is_refused(subscription, api):
    response = api.post("/api/v1/subscription/cancel?preview=1&preview=0")
    assert response.status_code == 400
    assert error_of(response)["field"] == "preview"
    assert Subscription.objects.get(pk=subscription.pk).cancel_at_period_end is False


@pytest.mark.parametrize("value", ["true", "1", "True", "yes"])
def test_documented_true_values_preview(subscription, api, value):
    body = api.post(f"/api/v1/subscription/cancel?preview={value}").json()
    assert body["preview"] is True
    assert Subscription.objects.get(pk=subscription.pk).cancel_at_period_end is False


@pytest.mark.parametrize("value", ["false", "0"])
def test_documented_false_values_carry_the_change_out(subscription, api, value):
    body = api.post(f"/api/v1/subscription/cancel?preview={value}").json()
    assert body["preview"] is False
    assert Subscription.objects.get(pk=subscription.pk).cancel_at_period_end is True


LISTS = ["/api/v1/members", "/api/v1/invoices", "/api/v1/credit-notes", "/api/v1/licences"]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("value", ["null", "", "0", "-1", "201", "1.5", "²"])
def test_a_bad_page_size_is_refused(subscription, api, path, value):
    response = api.get(path, {"page_size": value})
    assert response.status_code == 400
    assert error_of(response)["field"] == "page_size"


@pytest.mark.parametrize("path", LISTS)
def test_a_good_page_size_is_used(subscription, api, path):
    assert api.get(path, {"page_size": "1"}).status_code == 200
    assert api.get(path, {"page_size": "200"}).status_code == 200


def test_a_free_licence_email_is_null_and_the_schema_says_so(subscription, api, client):
    schema = client.get("/api/schema/?format=json").json()
    assert schema["components"]["schemas"]["Licence"]["properties"]["email"]["nullable"] is True
    ana = subscription.account.memberships.get(email="ana@example.com")
    assert api.post(f"/api/v1/members/{ana.pk}/archive").status_code == 200  # her licence is free till renewal
    emails = [licence["email"] for licence in api.get("/api/v1/licences").json()["results"]]
    assert None in emails


def test_seats_through_the_api_have_a_documented_ceiling(account, fixed_plan, api):
    subscription_create(account=account, plan=fixed_plan, cycle="monthly", on=DAY, seats=5)
    schema = api.get("/api/schema/?format=json").json()
    assert schema["components"]["schemas"]["SeatsInputRequest"]["properties"]["seats"]["maximum"] == 1000
    response = api.post("/api/v1/subscription/seats", {"seats": 1001}, format="json")
    assert response.status_code == 400
    assert error_of(response)["field"] == "seats"
    assert Subscription.objects.get(account=account).bought_seats == 5
