"""Choosing bank transfer or card, and paying an open invoice now with the saved card (issue 17).

Against localstripe, as the other card tests: no mocks.
"""

import pytest
from django.core import mail

from accounts.models import Account
from invoicing.models import CardCharge, Invoice, Receipt
from subscriptions.services import subscription_create
from tests.builders import make_account, make_plan, owner_of
from tests.invoicing.conftest import NOV_1, intents_of, setup_card

pytestmark = pytest.mark.django_db


def test_a_card_account_can_choose_bank_transfer_and_back_without_losing_the_card(client, stripe_on):
    account = make_account()
    setup_card(account)
    client.force_login(owner_of(account))
    page = client.get("/settings/payment-method/").content.decode()
    assert "Pay by bank transfer instead" in page

    response = client.post("/settings/payment-method/", {"action": "use_bank"}, follow=True)
    assert "You pay by bank transfer; the card stays on file." in response.content.decode()
    account.refresh_from_db()
    assert account.payment_gateway == Account.Gateway.BANK_TRANSFER
    page = client.get("/settings/payment-method/").content.decode()
    assert "Card on file: Visa •••• 4242" in page and "Pay with Visa •••• 4242" in page

    client.post("/settings/payment-method/", {"action": "use_card"})
    account.refresh_from_db()
    assert account.payment_gateway == Account.Gateway.STRIPE


def test_choosing_the_card_without_one_is_refused_and_changes_nothing(client, stripe_on):
    account = make_account()
    client.force_login(owner_of(account))
    response = client.post("/settings/payment-method/", {"action": "use_card"}, follow=True)
    assert "Add a card first." in response.content.decode()
    account.refresh_from_db()
    assert account.payment_gateway == Account.Gateway.BANK_TRANSFER


def test_pay_now_charges_the_saved_card_once_and_sends_a_receipt(client, stripe_on, django_capture_on_commit_callbacks):
    account = make_account()
    customer = setup_card(account)
    # The owner paid by transfer while the invoice was issued, then picked the card again.
    account.payment_gateway = Account.Gateway.BANK_TRANSFER
    Account.objects.filter(pk=account.pk).update(payment_gateway=Account.Gateway.BANK_TRANSFER)
    with django_capture_on_commit_callbacks(execute=True):
        subscription_create(account=account, plan=make_plan(), cycle="monthly", on=NOV_1)
    invoice = Invoice.objects.get(account=account)
    assert invoice.status == Invoice.Status.OPEN and intents_of(customer) == []
    Account.objects.filter(pk=account.pk).update(payment_gateway=Account.Gateway.STRIPE)

    client.force_login(owner_of(account))
    page = client.get("/settings/invoices/").content.decode()
    assert f'data-pay-card="{invoice.number}"' in page
    assert "Pay $7.00 now with Visa •••• 4242" in page
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/settings/invoices/{invoice.number}/pay-by-card/", follow=True)
    assert f"Paid {invoice.number}: $7.00." in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    [intent] = intents_of(customer)
    assert (intent.amount, intent.status) == (700, "succeeded")
    assert Receipt.objects.filter(payment__invoice=invoice).count() == 1
    assert [m.subject for m in mail.outbox] == [f"Receipt {invoice.number}-R1 — $7.00 paid"]

    # Pressing it again (a second tab) charges nothing more.
    response = client.post(f"/settings/invoices/{invoice.number}/pay-by-card/", follow=True)
    assert "has nothing left to pay" in response.content.decode()
    assert len(intents_of(customer)) == 1


def test_pay_now_with_a_declined_card_says_why_and_leaves_the_invoice_open(client, stripe_on):
    account = make_account()
    setup_card(account, "pm_card_chargeCustomerFail")
    subscription_create(account=account, plan=make_plan(), cycle="monthly", on=NOV_1)  # not collected: no commit
    invoice = Invoice.objects.get(account=account)
    client.force_login(owner_of(account))
    response = client.post(f"/settings/invoices/{invoice.number}/pay-by-card/", follow=True)
    page = response.content.decode()
    assert f"The card did not pay {invoice.number}: Your card was declined." in page
    assert f'data-card-failed="{invoice.number}"' in page
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    assert CardCharge.objects.get(invoice=invoice).status == CardCharge.Status.FAILED


def test_another_account_cannot_pay_the_invoice(client, stripe_on):
    account, other = make_account("Mine"), make_account("Theirs")
    setup_card(account)
    subscription_create(account=account, plan=make_plan(), cycle="monthly", on=NOV_1)
    invoice = Invoice.objects.get(account=account)
    client.force_login(owner_of(other))
    assert client.post(f"/settings/invoices/{invoice.number}/pay-by-card/").status_code == 404
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN


def test_a_german_page_refuses_in_german(client, stripe_on):
    account = make_account()
    client.force_login(owner_of(account))
    response = client.post("/settings/payment-method/", {"action": "use_card"}, follow=True, HTTP_ACCEPT_LANGUAGE="de")
    assert "Fügen Sie zuerst eine Karte hinzu." in response.content.decode()
    account.refresh_from_db()
    assert account.payment_gateway == Account.Gateway.BANK_TRANSFER
