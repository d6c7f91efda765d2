"""Stripe webhooks through dj-stripe's endpoint: signature checked, every event applied once (issue 8).

The events name real objects on localstripe (dj-stripe fetches the object an event is about
and its account before Prorata's receiver runs); events localstripe does not send itself are
built around those objects with `event_of`.
"""

import json
import time
import uuid
from datetime import date

import pytest
from django.core import mail
from djstripe.models import Charge, Event, PaymentIntent, WebhookEndpoint, WebhookEventTrigger

from invoicing.models import CardCharge, Invoice, Payment, Refund, StripeCustomer
from invoicing.stripe_client import stripe_client
from invoicing.webhooks import webhook_path, webhook_uuid
from subscriptions.services import billing_run, subscription_create
from tests.builders import make_account, make_plan, usd
from tests.invoicing.conftest import (
    NOV_1,
    WEBHOOK_SECRET,
    event_of,
    post_event,
    send_and_lose_the_answer,
    setup_card,
    sign,
    stripe_events,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def charge(stripe_on):
    """An open 7.00 invoice of a card-paying account; Prorata sent its charge, which succeeded on
    localstripe, but the answer was lost: only the webhook can settle it."""
    account = make_account(billing_email="billing@acme.test")
    customer = setup_card(account)
    subscription_create(account=account, plan=make_plan(grace_days=14), cycle="monthly", on=NOV_1)  # not collected
    invoice = Invoice.objects.get(account=account)
    intent = send_and_lose_the_answer(invoice, customer)
    charge = CardCharge.objects.get(invoice=invoice)
    charge.intent = intent.to_dict_recursive() if hasattr(intent, "to_dict_recursive") else intent.to_dict()
    return charge


def _succeeded(charge) -> dict:
    [event] = stripe_events("payment_intent.succeeded", charge.intent["id"])
    return event


def _failed(charge, *, event_id: str) -> dict:
    """The payment_failed event Stripe would send for this attempt had the card been declined."""
    declined = {
        **json.loads(json.dumps(charge.intent)),
        "status": "requires_payment_method",
        "last_payment_error": {"code": "card_declined", "message": "Your card was declined."},
    }
    return event_of("payment_intent.payment_failed", declined, event_id=event_id)


def _state(charge) -> dict:
    invoice = Invoice.objects.get(pk=charge.invoice_id)
    return {
        "status": invoice.status,
        "paid": str(invoice.amount_paid),
        "payments": Payment.objects.count(),
        "events": Event.objects.count(),
        "charge": CardCharge.objects.get(pk=charge.pk).status,
    }


def test_succeeded_marks_the_invoice_paid_once_however_often_it_arrives(client, charge):
    event = _succeeded(charge)
    answers = [post_event(client, event) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    invoice = Invoice.objects.get(pk=charge.invoice_id)
    assert invoice.status == Invoice.Status.PAID
    payment = Payment.objects.get()
    assert (payment.amount, payment.method, payment.gateway_id) == (
        usd("7.00"),
        Payment.Method.CARD,
        event["data"]["object"]["id"],
    )
    assert CardCharge.objects.get(pk=charge.pk).status == CardCharge.Status.SUCCEEDED
    # dj-stripe logged three deliveries, all verified, and recorded the event once.
    triggers = WebhookEventTrigger.objects.order_by("id")
    assert [(t.valid, t.processed) for t in triggers] == [(True, True)] * 3
    assert Event.objects.get().id == event["id"]
    # dj-stripe fetched the PaymentIntent the event is about into its own table, for the admin.
    assert PaymentIntent.objects.get(id=payment.gateway_id).stripe_data["status"] == "succeeded"


def test_the_endpoint_row_is_written_from_settings(client, charge, settings):
    post_event(client, _succeeded(charge))
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.secret, endpoint.djstripe_uuid, endpoint.djstripe_tolerance) == (
        WEBHOOK_SECRET,
        webhook_uuid(),
        300,
    )
    assert endpoint.url == f"http://127.0.0.1:8000{webhook_path()}"
    assert endpoint.enabled_events == ["payment_intent.succeeded", "payment_intent.payment_failed", "charge.refunded"]

    # A rotated secret takes effect with the next delivery (the uuid set, so the URL stays); the old one is refused.
    settings.STRIPE_WEBHOOK_UUID = str(endpoint.djstripe_uuid)
    settings.DJSTRIPE_WEBHOOK_SECRET = "whsec_" + "RotatedSecretForTests000"
    failed = _failed(charge, event_id="evt_after_rotation")
    assert post_event(client, failed).status_code == 400
    assert post_event(client, failed, secret=settings.DJSTRIPE_WEBHOOK_SECRET).status_code == 200
    assert WebhookEndpoint.objects.get().secret == settings.DJSTRIPE_WEBHOOK_SECRET


def test_payment_by_webhook_unlocks_a_locked_account(client, stripe_on):
    account = make_account()
    subscription_create(account=account, plan=make_plan(grace_days=14), cycle="monthly", on=NOV_1)
    billing_run(on=date(2026, 11, 15))  # paying by bank transfer, unpaid after 14 days: locked
    account.refresh_from_db()
    assert account.locked_on == date(2026, 11, 15)
    # The card is set up in Stripe and its charge sent, but only the webhook reaches Prorata.
    customer = StripeCustomer.objects.create(
        account=account, stripe_id=stripe_client().v1.customers.create().id, payment_method_id="pm_card_visa"
    )
    intent = send_and_lose_the_answer(Invoice.objects.get(account=account), customer)
    [event] = stripe_events("payment_intent.succeeded", intent.id)
    assert post_event(client, event).status_code == 200
    account.refresh_from_db()
    assert account.locked_on is None
    assert Invoice.objects.get(account=account).status == Invoice.Status.PAID


@pytest.mark.parametrize(
    "how",
    ["wrong secret", "stale timestamp", "missing header", "tampered body", "garbage header", "caller's own secret"],
)
def test_unverified_deliveries_are_refused_and_change_nothing(client, charge, how, settings):
    settings.DEBUG = True  # where dj-stripe would take a secret from the request itself
    before = _state(charge)
    payload = json.dumps(_succeeded(charge))
    headers = {
        "wrong secret": {"Stripe-Signature": sign(payload, secret="whsec_someone_else")},
        "stale timestamp": {"Stripe-Signature": sign(payload, timestamp=int(time.time()) - 3600)},
        "missing header": {},
        "tampered body": {"Stripe-Signature": sign(payload.replace('"amount": 700', '"amount": 1'))},
        "garbage header": {"Stripe-Signature": "nonsense"},
        "caller's own secret": {
            "Stripe-Signature": sign(payload, secret="whsec_attacker"),
            "X-Djstripe-Webhook-Secret": "whsec_attacker",
        },
    }[how]
    response = client.post(webhook_path(), data=payload, content_type="application/json", headers=headers)
    assert response.status_code == 400
    assert _state(charge) == before
    # What was stored of the delivery keeps no secret sent with it.
    for trigger in WebhookEventTrigger.objects.all():
        assert "whsec_attacker" not in json.dumps(trigger.headers)


def test_another_endpoint_is_not_found(client, charge):
    payload = json.dumps(_succeeded(charge))
    response = client.post(
        f"/stripe/webhook/{uuid.uuid4()}/",
        data=payload,
        content_type="application/json",
        headers={"Stripe-Signature": sign(payload)},
    )
    assert response.status_code == 404
    assert Invoice.objects.get(pk=charge.invoice_id).status == Invoice.Status.OPEN


def test_failed_records_the_reason_and_emails_the_billing_contact_once(
    client, charge, django_capture_on_commit_callbacks
):
    event = _failed(charge, event_id="evt_failed_1")
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(client, event).status_code == 200
        assert post_event(client, event).status_code == 200
    failed = CardCharge.objects.get(pk=charge.pk)
    assert (failed.status, failed.failure_message) == (CardCharge.Status.FAILED, "Your card was declined.")
    assert Invoice.objects.get(pk=charge.invoice_id).status == Invoice.Status.OPEN  # dunning takes it from here
    sent = [m for m in mail.outbox if "failed" in m.subject]
    assert len(sent) == 1
    assert sent[0].to == ["billing@acme.test"]
    assert charge.invoice.number in sent[0].body


def test_a_late_success_after_a_failure_still_pays(client, charge):
    assert post_event(client, _failed(charge, event_id="evt_failed_2")).status_code == 200
    assert post_event(client, _succeeded(charge)).status_code == 200
    assert Invoice.objects.get(pk=charge.invoice_id).status == Invoice.Status.PAID


def _refunded(charge, *, amount_refunded: int, with_list: bool) -> dict:
    """charge.refunded for the charge of this attempt's PaymentIntent, refunded in Stripe's dashboard."""
    client = stripe_client()
    intent = client.v1.payment_intents.retrieve(charge.intent["id"])
    remote = client.v1.refunds.create(params={"payment_intent": intent.id, "amount": amount_refunded})
    obj = json.loads(json.dumps(client.v1.charges.retrieve(remote.charge).to_dict()))
    obj["amount_refunded"] = amount_refunded
    obj["refunded"] = amount_refunded == obj["amount"]
    if with_list:
        obj["refunds"] = {"object": "list", "data": [json.loads(json.dumps(remote.to_dict()))]}
    else:
        obj.pop("refunds", None)
    return event_of("charge.refunded", obj, event_id=f"evt_refund_{amount_refunded}"), remote


def test_charge_refunded_in_stripe_is_recorded_once(client, charge):
    post_event(client, _succeeded(charge))
    event, remote = _refunded(charge, amount_refunded=700, with_list=True)
    post_event(client, event)
    post_event(client, event)
    refund = Refund.objects.get()
    assert (refund.amount, refund.gateway_id, refund.reason) == (usd("7.00"), remote.id, "Refunded in Stripe")
    assert Charge.objects.filter(id=remote.charge).exists()  # dj-stripe's mirror, fetched for the event


def test_charge_refunded_without_a_refund_list_reconciles_on_the_total(client, charge):
    post_event(client, _succeeded(charge))
    event, _ = _refunded(charge, amount_refunded=250, with_list=False)
    assert post_event(client, event).status_code == 200
    assert Refund.objects.get().amount == usd("2.50")


def test_events_for_unknown_objects_are_acknowledged(client, charge):
    """A PaymentIntent Prorata did not make (e.g. one made in Stripe's dashboard) changes nothing here."""
    other = stripe_client().v1.payment_intents.create(
        params={"amount": 500, "currency": "usd", "payment_method": "pm_card_visa", "confirm": True}
    )
    before = _state(charge)
    [event] = stripe_events("payment_intent.succeeded", other.id)
    assert post_event(client, event).status_code == 200
    assert {**_state(charge), "events": before["events"]} == before
    assert Event.objects.filter(id=event["id"]).exists()


@pytest.mark.parametrize(
    ("brand", "last4", "month", "year", "label"),
    [
        ("visa", "4242", 12, 2029, "Visa •••• 4242, expires 12/29"),
        ("mastercard", "4444", 3, 2031, "Mastercard •••• 4444, expires 03/31"),
        ("amex", "0005", None, None, "American Express •••• 0005"),
    ],
)
def test_card_label(brand, last4, month, year, label):
    card = StripeCustomer(
        stripe_id="cus_x",
        payment_method_id="pm_x",
        card_brand=brand,
        card_last4=last4,
        card_exp_month=month,
        card_exp_year=year,
    )
    assert card.card_label == label
    card.payment_method_id = ""
    assert card.card_label == ""
