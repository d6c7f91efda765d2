"""Stripe webhooks: signature checked, every event applied once (issue 8). No Stripe server needed."""

import json
import time
from datetime import date

import pytest
from django.core import mail

from accounts.models import Account
from invoicing.models import CardCharge, Invoice, Payment, Refund, StripeCustomer, StripeEvent
from subscriptions.services import billing_run, subscription_create
from tests.builders import make_account, make_plan, usd
from tests.invoicing.conftest import post_event, sign

pytestmark = pytest.mark.django_db

NOV_1 = date(2026, 11, 1)


@pytest.fixture
def charge(webhook_secret):
    """An open 7.00 invoice of a card-paying account, with the attempt Prorata sent to Stripe."""
    account = make_account(billing_email="billing@acme.test")
    StripeCustomer.objects.create(account=account, stripe_id="cus_test", payment_method_id="pm_test")
    Account.objects.filter(pk=account.pk).update(payment_gateway=Account.Gateway.STRIPE)
    subscription_create(account=account, plan=make_plan(grace_days=14), cycle="monthly", on=NOV_1)
    invoice = Invoice.objects.get(account=account)
    return CardCharge.objects.create(
        invoice=invoice,
        attempt=1,
        idempotency_key=f"prorata-{invoice.number}-1",
        amount=invoice.amount_due,
        attempted_on=NOV_1,
    )


def _intent_event(charge, *, type="payment_intent.succeeded", event_id="evt_1", **extra) -> dict:
    intent = {
        "id": "pi_1",
        "object": "payment_intent",
        "amount": 700,
        "currency": "usd",
        "status": "succeeded" if type.endswith("succeeded") else "requires_payment_method",
        "metadata": {"prorata_invoice": charge.invoice.number, "prorata_charge": charge.idempotency_key},
        **extra,
    }
    return {"id": event_id, "object": "event", "type": type, "created": int(time.time()), "data": {"object": intent}}


def _state(charge) -> dict:
    invoice = Invoice.objects.get(pk=charge.invoice_id)
    return {
        "status": invoice.status,
        "paid": str(invoice.amount_paid),
        "payments": Payment.objects.count(),
        "events": StripeEvent.objects.count(),
        "charge": CardCharge.objects.get(pk=charge.pk).status,
    }


def test_succeeded_marks_the_invoice_paid_once_however_often_it_arrives(client, charge):
    event = _intent_event(charge)
    answers = [post_event(client, event) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.content for a in answers] == [b"processed", b"already processed", b"already processed"]
    invoice = Invoice.objects.get(pk=charge.invoice_id)
    assert invoice.status == Invoice.Status.PAID
    payment = Payment.objects.get()
    assert (payment.amount, payment.method, payment.gateway_id) == (usd("7.00"), Payment.Method.CARD, "pi_1")
    assert StripeEvent.objects.count() == 1
    assert CardCharge.objects.get(pk=charge.pk).status == CardCharge.Status.SUCCEEDED


def test_payment_by_webhook_unlocks_a_locked_account(client, charge):
    billing_run(on=date(2026, 11, 15))  # Nov 1 + 14 grace days: locked
    account = Account.objects.get(pk=charge.invoice.account_id)
    assert account.locked_on == date(2026, 11, 15)
    assert post_event(client, _intent_event(charge)).status_code == 200
    account.refresh_from_db()
    assert account.locked_on is None


@pytest.mark.parametrize(
    "how",
    ["wrong secret", "stale timestamp", "missing header", "tampered body", "garbage header"],
)
def test_unverified_deliveries_are_refused_and_change_nothing(client, charge, how):
    before = _state(charge)
    event = _intent_event(charge)
    payload = json.dumps(event)
    headers = {
        "wrong secret": {"Stripe-Signature": sign(payload, secret="whsec_someone_else")},
        "stale timestamp": {"Stripe-Signature": sign(payload, timestamp=int(time.time()) - 3600)},
        "missing header": {},
        "tampered body": {"Stripe-Signature": sign(payload.replace("700", "1"))},
        "garbage header": {"Stripe-Signature": "nonsense"},
    }[how]
    response = client.post("/stripe/webhook/", data=payload, content_type="application/json", headers=headers)
    assert response.status_code == 400
    assert _state(charge) == before


def test_failed_records_the_reason_and_emails_the_billing_contact_once(
    client, charge, django_capture_on_commit_callbacks
):
    event = _intent_event(
        charge,
        type="payment_intent.payment_failed",
        last_payment_error={"code": "card_declined", "message": "Your card was declined."},
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert post_event(client, event).status_code == 200
        assert post_event(client, event).content == b"already processed"
    failed = CardCharge.objects.get(pk=charge.pk)
    assert (failed.status, failed.failure_message) == (CardCharge.Status.FAILED, "Your card was declined.")
    assert Invoice.objects.get(pk=charge.invoice_id).status == Invoice.Status.OPEN  # dunning takes it from here
    sent = [m for m in mail.outbox if "failed" in m.subject]
    assert len(sent) == 1
    assert sent[0].to == ["billing@acme.test"]
    assert charge.invoice.number in sent[0].body


def test_a_late_success_after_a_failure_still_pays(client, charge):
    post_event(client, _intent_event(charge, type="payment_intent.payment_failed", event_id="evt_f"))
    post_event(client, _intent_event(charge, event_id="evt_s"))
    assert Invoice.objects.get(pk=charge.invoice_id).status == Invoice.Status.PAID


def test_charge_refunded_in_stripe_is_recorded_once(client, charge):
    post_event(client, _intent_event(charge))
    refunded = {
        "id": "ch_1",
        "object": "charge",
        "amount": 700,
        "amount_refunded": 700,
        "currency": "usd",
        "payment_intent": "pi_1",
        "refunded": True,
        "refunds": {"object": "list", "data": [{"id": "re_1", "amount": 700, "currency": "usd", "metadata": {}}]},
    }
    event = {"id": "evt_r", "type": "charge.refunded", "created": int(time.time()), "data": {"object": refunded}}
    post_event(client, event)
    post_event(client, event)
    refund = Refund.objects.get()
    assert (refund.amount, refund.gateway_id) == (usd("7.00"), "re_1")


def test_charge_refunded_without_a_refund_list_reconciles_on_the_total(client, charge):
    post_event(client, _intent_event(charge))
    refunded = {
        "id": "ch_1",
        "object": "charge",
        "amount": 700,
        "amount_refunded": 250,
        "currency": "usd",
        "payment_intent": "pi_1",
    }
    post_event(client, {"id": "evt_r", "type": "charge.refunded", "data": {"object": refunded}})
    assert Refund.objects.get().amount == usd("2.50")


def test_events_for_unknown_objects_are_acknowledged(client, webhook_secret):
    event = {"id": "evt_x", "type": "customer.created", "data": {"object": {"id": "cus_x", "object": "customer"}}}
    assert post_event(client, event).status_code == 200
    assert StripeEvent.objects.get().type == "customer.created"


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
