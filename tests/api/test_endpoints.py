"""Each endpoint does what the pages do, through the same services."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from moneyed import Money
from rest_framework.test import APIClient

from accounts.models import Membership
from api.models import IdempotentResponse
from api.throttling import ActivationRateThrottle
from invoicing.models import CreditNote, Invoice
from licensing import keys
from licensing.models import Activation
from licensing.verify import verify_licence_document
from subscriptions.services import subscription_create

from .conftest import DAY, error_of


def test_subscription_read(subscription, api):
    body = api.get("/api/v1/subscription").json()
    assert body["subscription_id"] == subscription.public_id
    assert body["plan"]["monthly_price"] == {"amount": "7.00", "currency": "USD"}
    assert body["plan"]["max_instances"] == 1
    assert (body["period_start"], body["period_end"]) == ("2026-11-15", "2026-12-15")
    assert (body["paid_seats"], body["seats_in_use"]) == (2, 2)


def test_cycle_preview_changes_nothing_then_the_switch_does(subscription, api):
    invoices = Invoice.objects.count()
    preview = api.post("/api/v1/subscription/cycle?preview=1", {"cycle": "annual"}, format="json").json()
    assert preview["preview"] is True
    assert preview["subscription"]["cycle"] == "monthly"
    [invoice] = preview["invoices"]
    assert invoice["number"] == ""
    # A change on Nov 15 counts from Nov 16: credit 2 × 7.00 × 29/30 = 13.53 unused, charge 2 × 70.00 for the year.
    amounts = sorted(line["amount"]["amount"] for line in invoice["lines"])
    assert amounts == ["-13.53", "140.00"]
    assert invoice["total"] == {"amount": "126.47", "currency": "USD"}
    assert Invoice.objects.count() == invoices
    subscription.refresh_from_db()
    assert subscription.cycle == "monthly"

    done = api.post("/api/v1/subscription/cycle", {"cycle": "annual"}, format="json").json()
    assert done["preview"] is False
    assert done["subscription"]["cycle"] == "annual"
    assert done["invoices"][0]["number"].startswith("INV-")
    assert done["invoices"][0]["total"] == invoice["total"]
    assert Invoice.objects.count() == invoices + 1


def test_cancel_preview_then_cancel(subscription, api):
    assert api.post("/api/v1/subscription/cancel?preview=1").json()["subscription"]["cancel_at_period_end"] is False
    subscription.refresh_from_db()
    assert not subscription.cancel_at_period_end
    body = api.post("/api/v1/subscription/cancel").json()
    assert body["subscription"]["cancel_at_period_end"] is True
    assert body["invoices"] == body["credit_notes"] == []
    again = api.post("/api/v1/subscription/cancel")
    assert again.status_code == 409
    assert "Already canceled" in error_of(again)["message"]
    assert api.post("/api/v1/subscription/undo-cancel").json()["subscription"]["cancel_at_period_end"] is False


def test_seats_on_a_fixed_plan_with_preview_and_credit_note(account, fixed_plan, api):
    subscription_create(account=account, plan=fixed_plan, cycle="monthly", on=DAY, seats=5)
    preview = api.post("/api/v1/subscription/seats?preview=1", {"seats": 7}, format="json").json()
    # +2 seats from Nov 16 to Dec 15: 2 × 7.00 × 29/30 = 13.53.
    assert preview["invoices"][0]["total"]["amount"] == "13.53"
    assert api.get("/api/v1/subscription").json()["bought_seats"] == 5
    body = api.post("/api/v1/subscription/seats", {"seats": 3}, format="json").json()
    assert body["subscription"]["bought_seats"] == 3
    [note] = body["credit_notes"]
    assert note["total"]["amount"] == "13.53"  # 2 seats removed, the same 29 of 30 days
    number = note["number"]
    detail = api.get(f"/api/v1/credit-notes/{number}").json()
    assert detail["total"] == {"amount": "13.53", "currency": "USD"}
    assert detail["lines"][0]["quantity"] == 2
    assert [c["number"] for c in api.get("/api/v1/credit-notes").json()["results"]] == [number]
    assert api.get(f"/api/v1/credit-notes/{number}/pdf").content.startswith(b"%PDF")
    below = api.post("/api/v1/subscription/seats", {"seats": 0}, format="json")
    assert error_of(below)["field"] == "seats"


def test_members_list_invite_archive_reactivate_and_role(subscription, api):
    listed = api.get("/api/v1/members").json()
    assert [m["email"] for m in listed["results"]] == ["owner@example.com", "ana@example.com"]
    assert all(m["holds_licence"] for m in listed["results"])
    created = api.post("/api/v1/members", {"email": "Ben@Example.com", "role": "billing_admin"}, format="json")
    assert created.status_code == 201
    ben = created.json()
    assert (ben["email"], ben["role"], ben["status"], ben["holds_licence"]) == (
        "ben@example.com",
        "billing_admin",
        "invited",
        True,
    )
    archived = api.post(f"/api/v1/members/{ben['id']}/archive").json()
    assert (archived["status"], archived["holds_licence"]) == ("archived", False)
    assert api.post(f"/api/v1/members/{ben['id']}/reactivate").json()["status"] == "invited"
    assert api.post(f"/api/v1/members/{ben['id']}/role", {"role": "member"}, format="json").json()["role"] == "member"
    assert api.get(f"/api/v1/members/{ben['id']}").json()["role"] == "member"
    owner_id = listed["results"][0]["id"]
    refused = api.post(f"/api/v1/members/{owner_id}/archive")
    assert refused.status_code == 409
    assert error_of(refused)["code"] == "owner"
    assert api.post("/api/v1/members", {"email": "ana@example.com"}, format="json").status_code == 409
    assert error_of(api.post("/api/v1/members", {"email": "nope"}, format="json"))["field"] == "email"


def test_members_of_another_account_are_not_found(subscription, api, plan):
    from accounts.services import signup

    _, other = signup(email="x@example.com", password="a long password 1", account_name="Other")
    stranger = other.memberships.get()
    assert api.get(f"/api/v1/members/{stranger.pk}").status_code == 404
    assert api.post(f"/api/v1/members/{stranger.pk}/archive").status_code == 404


def test_members_pagination_uses_cursors(subscription, api):
    first = api.get("/api/v1/members?page_size=1").json()
    assert len(first["results"]) == 1
    assert "cursor=" in first["next"]
    second = APIClient()
    second.credentials(**api._credentials)
    page = second.get(first["next"]).json()
    assert page["results"][0]["email"] == "ana@example.com"
    assert page["next"] is None


def test_invoices_list_detail_and_pdf(subscription, api):
    [invoice] = api.get("/api/v1/invoices").json()["results"]
    assert invoice["status"] == "open"
    # Two seats for a month: 2 × 7.00 = 14.00.
    assert invoice["total"] == {"amount": "14.00", "currency": "USD"}
    assert invoice["issued_on"] == "2026-11-15"
    detail = api.get(f"/api/v1/invoices/{invoice['number']}").json()
    line = detail["lines"][0]
    assert (line["quantity"], line["unit_price"]["amount"], line["amount"]["amount"]) == (2, "7.00", "14.00")
    assert (line["period_start"], line["period_end"]) == ("2026-11-15", "2026-12-15")
    pdf = api.get(f"/api/v1/invoices/{invoice['number']}/pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert invoice["pdf_url"].endswith(f"/api/v1/invoices/{invoice['number']}/pdf")


def test_member_key_cannot_read_invoices(subscription, client_for):
    number = Invoice.objects.get().number
    response = client_for("member").get(f"/api/v1/invoices/{number}")
    assert response.status_code == 403


def test_licences_list(subscription, api):
    body = api.get("/api/v1/licences").json()
    assert sorted(x["email"] for x in body["results"]) == ["ana@example.com", "owner@example.com"]


def test_online_activation_returns_a_verifiable_licence(subscription):
    client = APIClient()
    public = client.get("/api/v1/licence-public-key").json()
    assert public["algorithm"] == "Ed25519"
    assert public["public_key_pem"] == keys.public_key_pem()
    response = client.post(
        "/api/v1/activations", {"subscription_id": subscription.public_id, "instance_id": "srv-1"}, format="json"
    )
    assert response.status_code == 201
    licence = verify_licence_document(response.json(), public["public_key_pem"], today=DAY)
    assert (licence["seats"], licence["instance_id"], licence["expires_on"]) == (2, "srv-1", "2026-12-22")
    assert len(licence["licensed_users"]) == 2
    pem = client.get("/settings/licences/public-key.pem")
    assert pem.content.decode() == public["public_key_pem"]


def test_activation_refusals(subscription, account):
    client = APIClient()

    def activate(sub_id, instance="srv-1"):
        return client.post("/api/v1/activations", {"subscription_id": sub_id, "instance_id": instance}, format="json")

    assert error_of(activate("sub_unknown"))["code"] == "unknown_subscription"
    assert activate(subscription.public_id).status_code == 201
    limit = activate(subscription.public_id, "srv-2")
    assert limit.status_code == 409
    assert error_of(limit)["code"] == "instance_limit"
    assert error_of(activate(subscription.public_id, "has space"))["field"] == "instance_id"
    assert error_of(client.post("/api/v1/activations", {}, format="json"))["field"] == "subscription_id"
    account.locked_on = DAY
    account.save()
    assert activate(subscription.public_id).status_code == 402
    account.locked_on = None
    account.save()
    subscription.status = "expired"
    subscription.save()
    expired = activate(subscription.public_id)
    assert expired.status_code == 403
    assert error_of(expired)["code"] == "subscription_expired"


def test_activation_is_rate_limited(subscription, monkeypatch):
    monkeypatch.setattr(ActivationRateThrottle, "THROTTLE_RATES", {"activation": "2/min"})
    client = APIClient()
    codes = [
        client.post(
            "/api/v1/activations", {"subscription_id": "sub_guess", "instance_id": "x"}, format="json"
        ).status_code
        for _ in range(3)
    ]
    assert codes == [404, 404, 429]


def test_idempotent_post_returns_the_first_response_and_changes_nothing(subscription, api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "invite-ben-1"}
    first = api.post("/api/v1/members", {"email": "ben@example.com"}, format="json", **headers)
    second = api.post("/api/v1/members", {"email": "ben@example.com"}, format="json", **headers)
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Membership.objects.filter(email="ben@example.com").count() == 1
    other = api.post("/api/v1/members", {"email": "cy@example.com"}, format="json", **headers)
    assert other.status_code == 422
    assert error_of(other)["code"] == "idempotency_key_reused"


def test_idempotent_subscription_change_is_not_repeated(subscription, api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "switch-annual"}
    first = api.post("/api/v1/subscription/cycle", {"cycle": "annual"}, format="json", **headers)
    second = api.post("/api/v1/subscription/cycle", {"cycle": "annual"}, format="json", **headers)
    assert first.json() == second.json()
    assert Invoice.objects.filter(reason="cycle_switch").count() == 1
    # Without a key the same request is a new request, refused by the rules.
    assert api.post("/api/v1/subscription/cycle", {"cycle": "annual"}, format="json").status_code == 409


def test_idempotency_keys_are_kept_for_a_day(subscription, api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "k-1"}
    api.post("/api/v1/members", {"email": "ben@example.com"}, format="json", **headers)
    with time_machine.travel(timezone.now() + timedelta(hours=25), tick=False):
        again = api.post("/api/v1/members", {"email": "cy@example.com"}, format="json", **headers)
    assert again.status_code == 201  # the old response was dropped; this is a new request
    assert IdempotentResponse.objects.get().body["email"] == "cy@example.com"


def test_refusals_are_replayed_too(subscription, api):
    headers = {"HTTP_IDEMPOTENCY_KEY": "bad-invite"}
    first = api.post("/api/v1/members", {"email": "nope"}, format="json", **headers)
    second = api.post("/api/v1/members", {"email": "nope"}, format="json", **headers)
    assert first.status_code == second.status_code == 400
    assert first.json() == second.json()


def test_idempotent_activation(subscription):
    client = APIClient()
    body = {"subscription_id": subscription.public_id, "instance_id": "srv-1"}
    first = client.post("/api/v1/activations", body, format="json", HTTP_IDEMPOTENCY_KEY="act-1")
    second = client.post("/api/v1/activations", body, format="json", HTTP_IDEMPOTENCY_KEY="act-1")
    assert first.json() == second.json()
    assert Activation.objects.get().times_issued == 1


def test_unknown_api_paths_and_bad_cursors_answer_in_the_error_shape(subscription, api):
    response = api.post("/api/v1/members/-3/archive")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    bad = api.get("/api/v1/invoices?cursor=garbage")
    assert bad.status_code == 404  # the page an opaque cursor points to does not exist
    assert error_of(bad)["code"] == "invalid_cursor"
    form = api.post("/api/v1/members", {"email": "x@example.com"})  # form-encoded: the API speaks JSON
    assert form.status_code == 415
    assert error_of(form)["code"] == "unsupported_media_type"


def test_schema_and_docs_are_served_without_a_cdn(db):
    client = APIClient()
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = json.loads(schema.content)["paths"]
    assert "/api/v1/activations" in paths
    assert "429" in paths["/api/v1/subscription"]["get"]["responses"]
    assert len(paths) == 21
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn." not in html and "unpkg" not in html


def test_draft_invoices_and_unnumbered_credit_notes_are_hidden(subscription, api, account):
    zero = Money(0, "USD")
    money = dict.fromkeys(
        ["subtotal", "discount", "tax", "total", "credit_applied", "amount_due", "amount_paid", "amount_credited"], zero
    )
    Invoice.objects.create(
        account=account, reason="seats", currency="USD", issued_on=DAY, due_on=DAY, status="draft", **money
    )
    CreditNote.objects.create(account=account, reason="grant", currency="USD", issued_on=DAY, total=zero)
    assert len(api.get("/api/v1/invoices").json()["results"]) == 1
    assert api.get("/api/v1/credit-notes").json()["results"] == []


@pytest.mark.parametrize("path", ["/api/v1/licence-public-key"])
def test_public_key_without_configuration_is_a_clear_500(db, settings, path):
    settings.LICENCE_SIGNING_KEY = ""
    response = APIClient().get(path)
    assert response.status_code == 500
    assert error_of(response)["code"] == "not_configured"
