"""The gateway seam with no Stripe settings at all: bank transfer, partial payments, overpayment (issue 8)."""

from datetime import date

import pytest
from django.core import mail

from accounts.models import Account
from invoicing.gateways import gateway_for, has_payment_method
from invoicing.gateways.bank_transfer import BankTransferGateway
from invoicing.models import CardCharge, Invoice, Payment, Refund
from invoicing.selectors import credit_balance
from invoicing.services import invoice_pay, invoice_refund
from subscriptions.services import billing_run, subscription_create
from tests.builders import make_account, make_plan, owner_of, usd

pytestmark = pytest.mark.django_db

NOV_1 = date(2026, 11, 1)


@pytest.fixture(autouse=True)
def no_stripe(settings):
    settings.STRIPE_SECRET_KEY = ""
    settings.STRIPE_PUBLISHABLE_KEY = ""
    settings.DJSTRIPE_WEBHOOK_SECRET = ""


def _invoice(account, *, plan=None) -> Invoice:
    subscription_create(account=account, plan=plan or make_plan(), cycle="monthly", on=NOV_1)
    return Invoice.objects.get(account=account)


def test_bank_transfer_is_the_default_and_needs_nothing(settings):
    settings.BANK_TRANSFER_PAYMENT_TERMS_DAYS = 14
    account = make_account()
    gateway = gateway_for(account)
    assert account.payment_gateway == Account.Gateway.BANK_TRANSFER
    assert isinstance(gateway, BankTransferGateway)
    assert has_payment_method(account)
    text = gateway.describe(account)
    assert settings.SELLER["bank"] in text
    assert settings.SELLER["name"] in text
    assert "within 14 days" in text


def test_bank_transfer_terms_set_the_due_date(settings):
    settings.BANK_TRANSFER_PAYMENT_TERMS_DAYS = 14
    invoice = _invoice(make_account())
    assert invoice.status == Invoice.Status.OPEN
    assert invoice.due_on == date(2026, 11, 15)  # Nov 1 + 14 days


def test_finalising_with_bank_transfer_charges_nothing(django_capture_on_commit_callbacks):
    account = make_account()
    with django_capture_on_commit_callbacks(execute=True):
        invoice = _invoice(account)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    assert CardCharge.objects.count() == 0
    assert not Payment.objects.exists()


def test_partial_payment_leaves_the_remainder_open():
    account = make_account()
    invoice = _invoice(account)  # 1 seat × 7.00
    invoice_pay(invoice=invoice, on=date(2026, 11, 3), amount=usd("3.00"), reference="TRF 1")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    assert invoice.amount_paid == usd("3.00")
    assert invoice.amount_due - invoice.amount_paid == usd("4.00")  # 7.00 − 3.00

    invoice_pay(invoice=invoice, on=date(2026, 11, 5), amount=usd("4.00"), reference="TRF 2")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert invoice.paid_on == date(2026, 11, 5)
    assert [p.reference for p in invoice.payments.all()] == ["TRF 1", "TRF 2"]
    assert credit_balance(account) == usd("0.00")


def test_overpayment_goes_to_the_credit_balance():
    account = make_account()
    invoice = _invoice(account)
    invoice_pay(invoice=invoice, on=date(2026, 11, 2), amount=usd("10.00"), reference="TRF 3")
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert credit_balance(account) == usd("3.00")  # 10.00 − 7.00


def test_bank_transfer_refund_is_recorded_for_staff_to_wire(django_capture_on_commit_callbacks):
    account = make_account()
    invoice = _invoice(account)
    invoice_pay(invoice=invoice, on=NOV_1)
    with django_capture_on_commit_callbacks(execute=True):
        refund = invoice_refund(invoice=invoice, on=date(2026, 11, 4), reason="Goodwill")
    refund.refresh_from_db()
    assert refund.amount == usd("7.00")
    assert refund.gateway_id == ""  # no gateway: staff send it back by hand
    assert Refund.objects.count() == 1


def test_stripe_chosen_without_stripe_settings_falls_back_to_bank_transfer():
    account = make_account()
    Account.objects.filter(pk=account.pk).update(payment_gateway=Account.Gateway.STRIPE)
    account.refresh_from_db()
    assert isinstance(gateway_for(account), BankTransferGateway)
    assert has_payment_method(account)  # invoiced for bank transfer until Stripe is configured
    assert "bank transfer" in gateway_for(account).describe(account)


def test_the_daily_run_needs_no_stripe(django_capture_on_commit_callbacks):
    account = make_account()
    plan = make_plan(grace_days=14)
    with django_capture_on_commit_callbacks(execute=True):
        _invoice(account, plan=plan)
        for day in (2, 4, 6):
            billing_run(on=date(2026, 11, day))
    assert CardCharge.objects.count() == 0
    assert Invoice.objects.get(account=account).status == Invoice.Status.OPEN
    assert not any("failed" in m.subject for m in mail.outbox)


def test_payment_method_page_describes_bank_transfer(client):
    account = make_account()
    client.force_login(owner_of(account))
    response = client.get("/settings/payment-method/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Pay by bank transfer" in body
    assert "Pay by card" not in body  # Stripe is not configured
    # Issue 17, item 7: not a dead end — who to pay, the reference and the terms, and a way to the invoices
    assert "data-bank-transfer" in body and "<dt>Reference</dt>" in body and "on the invoice date" in body
    assert 'href="/settings/invoices/"' in body


def test_card_actions_are_refused_without_stripe(client):
    account = make_account()
    client.force_login(owner_of(account))
    response = client.post("/settings/payment-method/", {"action": "start"}, follow=True)
    assert "not available" in response.content.decode()
    account.refresh_from_db()
    assert account.payment_gateway == Account.Gateway.BANK_TRANSFER


def test_webhook_is_closed_without_a_secret(client):
    from invoicing.webhooks import webhook_path

    response = client.post(
        webhook_path(), data="{}", content_type="application/json", headers={"Stripe-Signature": "t=1,v1=x"}
    )
    assert response.status_code == 404


def test_a_live_key_needs_live_mode(settings):
    from django.core.exceptions import ImproperlyConfigured

    from invoicing.stripe_client import stripe_client

    settings.STRIPE_SECRET_KEY = "sk_live_" + "x" * 24
    settings.STRIPE_LIVE_MODE = False
    with pytest.raises(ImproperlyConfigured, match="STRIPE_LIVE_MODE"):
        stripe_client()
    settings.STRIPE_LIVE_MODE = True
    assert stripe_client() is not None
