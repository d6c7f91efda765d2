"""Card payments end to end against localstripe, a Stripe-shaped server (issue 8). No mocks.

The card is set up the way Stripe Elements does it: a SetupIntent made by Prorata,
confirmed with a test card (`pm_card_visa`; `pm_card_chargeCustomerFail` attaches but
is declined when charged), then saved by Prorata.
"""

import json
from datetime import date

import pytest
from django.core import mail
from djstripe.models import Event

from accounts.models import Account
from invoicing.models import CardCharge, Invoice, NumberSeries, Payment, Receipt, Refund, StripeCustomer
from invoicing.stripe_client import stripe_client
from invoicing.stripe_services import (
    invoice_charge,
    payment_method_remove,
    payment_method_save,
    payment_method_setup_start,
    stripe_customer_ensure,
)
from invoicing.webhooks import webhook_path
from subscriptions.models import Subscription
from subscriptions.services import billing_run, subscription_create, subscription_request_refund
from tests.builders import make_account, make_plan, owner_of, usd
from tests.invoicing.conftest import (
    NOV_1,
    event_of,
    intents_of,
    post_event,
    send_and_lose_the_answer,
    setup_card,
    stripe_events,
)

pytestmark = pytest.mark.django_db


def subscribe(account, *, django_capture_on_commit_callbacks, **plan_settings) -> Invoice:
    with django_capture_on_commit_callbacks(execute=True):
        subscription_create(account=account, plan=make_plan(**plan_settings), cycle="monthly", on=NOV_1)
    return Invoice.objects.get(account=account)


def test_card_setup_saves_the_default_card(stripe_on):
    account = make_account()
    customer = setup_card(account)
    account.refresh_from_db()
    assert account.payment_gateway == Account.Gateway.STRIPE
    assert customer.card_label == "Visa •••• 4242, expires 12/30"  # localstripe's pm_card_visa expires 12/2030
    remote = stripe_client().v1.customers.retrieve(customer.stripe_id)
    assert remote.invoice_settings.default_payment_method == customer.payment_method_id
    assert stripe_client().v1.payment_methods.retrieve(customer.payment_method_id).customer == customer.stripe_id


def test_card_setup_mirrors_the_customer_and_card_into_dj_stripe(stripe_on):
    from djstripe.models import Customer as DjCustomer
    from djstripe.models import PaymentMethod as DjPaymentMethod

    account = make_account()
    customer = setup_card(account)
    mirrored = DjCustomer.objects.get(id=customer.stripe_id)
    card = DjPaymentMethod.objects.get(id=customer.payment_method_id)
    assert card.customer_id == mirrored.id
    assert card.type == "card"
    assert mirrored.stripe_data["invoice_settings"]["default_payment_method"] == customer.payment_method_id
    payment_method_remove(account=account)
    assert DjPaymentMethod.objects.get(id=customer.payment_method_id).customer_id is None  # detached


def test_one_stripe_customer_per_account(stripe_on):
    account = make_account()
    first = stripe_customer_ensure(account=account)
    assert stripe_customer_ensure(account=account).stripe_id == first.stripe_id
    assert StripeCustomer.objects.filter(account=account).count() == 1


def test_replacing_the_card_detaches_the_old_one_and_removing_goes_back_to_bank_transfer(stripe_on):
    account = make_account()
    old = setup_card(account).payment_method_id
    new = setup_card(account).payment_method_id
    assert new != old
    assert stripe_client().v1.payment_methods.retrieve(old).customer is None
    payment_method_remove(account=account)
    account.refresh_from_db()
    assert account.payment_gateway == Account.Gateway.BANK_TRANSFER
    assert StripeCustomer.objects.get(account=account).card_label == ""
    assert stripe_client().v1.payment_methods.retrieve(new).customer is None


def test_a_setup_intent_of_another_customer_is_refused(stripe_on):
    mine, theirs = make_account("Mine"), make_account("Theirs")
    stripe_customer_ensure(account=mine)
    secret = payment_method_setup_start(account=theirs)
    intent_id = secret.split("_secret_")[0]
    stripe_client().v1.setup_intents.confirm(intent_id, params={"payment_method": "pm_card_visa"})
    with pytest.raises(Exception, match="another customer"):
        payment_method_save(account=mine, setup_intent_id=intent_id)
    assert StripeCustomer.objects.get(account=mine).payment_method_id == ""


def test_finalising_charges_the_card_and_the_webhook_changes_nothing_more(
    client, stripe_on, django_capture_on_commit_callbacks
):
    account = make_account()
    customer = setup_card(account)
    invoice = subscribe(account, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    charge = CardCharge.objects.get(invoice=invoice)
    assert (charge.status, charge.attempt, charge.idempotency_key) == ("succeeded", 1, f"prorata-{invoice.number}-1")
    [intent] = intents_of(customer)
    assert (intent.id, intent.amount, intent.status) == (charge.payment_intent_id, 700, "succeeded")  # 7.00 USD

    [event] = stripe_events("payment_intent.succeeded", intent.id)
    assert post_event(client, event).status_code == 200
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert Event.objects.filter(id=event["id"]).count() == 1


def test_the_webhook_marks_paid_when_the_answer_was_lost(client, stripe_on):
    """Prorata sent the charge but crashed before reading the answer: Stripe's event settles it."""
    account = make_account()
    customer = setup_card(account)
    subscription_create(account=account, plan=make_plan(), cycle="monthly", on=NOV_1)  # collection not run
    invoice = Invoice.objects.get(account=account)
    intent = send_and_lose_the_answer(invoice, customer)
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.OPEN
    [event] = stripe_events("payment_intent.succeeded", intent.id)
    for _ in range(2):
        assert post_event(client, event).status_code == 200
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert Payment.objects.get(invoice=invoice).gateway_id == intent.id


def test_a_retry_never_charges_twice(stripe_on, django_capture_on_commit_callbacks):
    account = make_account()
    customer = setup_card(account)
    invoice = subscribe(account, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks)
    assert invoice_charge(invoice=invoice, on=NOV_1) is None  # already paid
    billing_run(on=date(2026, 11, 2))  # day 1: nothing to retry
    assert len(intents_of(customer)) == 1
    assert Payment.objects.filter(invoice=invoice).count() == 1


def test_a_resend_with_the_same_key_gets_the_same_payment_intent(stripe_on, django_capture_on_commit_callbacks):
    """An attempt whose answer never arrived is resent by the daily run with its key: same PaymentIntent."""
    account = make_account()
    customer = setup_card(account)
    subscription_create(account=account, plan=make_plan(), cycle="monthly", on=NOV_1)  # collection not run
    invoice = Invoice.objects.get(account=account)
    first = send_and_lose_the_answer(invoice, customer)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        billing_run(on=date(2026, 11, 2))  # queues the pending attempt again; resent after commit
        assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.OPEN  # nothing sent before the commit
    names = [c.args[0].name for c in queued]
    assert names.count("invoicing.card_charge_resume") == 1 and "invoicing.invoice_collect" not in names
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert [pi.id for pi in intents_of(customer)] == [first.id]
    assert Payment.objects.get(invoice=invoice).gateway_id == first.id


def test_a_declined_card_is_retried_on_days_1_3_5_then_the_account_locks(
    client, stripe_on, django_capture_on_commit_callbacks
):
    account = make_account(billing_email="billing@acme.test")
    setup_card(account, "pm_card_chargeCustomerFail")
    invoice = subscribe(account, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks, grace_days=7)
    with django_capture_on_commit_callbacks(execute=True):
        for day in range(2, 9):  # Nov 2 … Nov 8: days 1 … 7 after issue
            billing_run(on=date(2026, 11, day))
    charges = list(CardCharge.objects.filter(invoice=invoice))
    assert [(c.attempt, c.attempted_on.day, c.status) for c in charges] == [
        (1, 1, "failed"),  # on finalisation
        (2, 2, "failed"),  # day 1
        (3, 4, "failed"),  # day 3
        (4, 6, "failed"),  # day 5
    ]
    assert charges[0].failure_message == "Your card was declined."
    failures = [m for m in mail.outbox if m.subject == f"Payment of {invoice.number} failed"]
    assert len(failures) == 4
    assert failures[0].to == ["billing@acme.test"]
    invoice.refresh_from_db()
    account.refresh_from_db()
    assert invoice.status == Invoice.Status.OPEN
    assert account.locked_on == date(2026, 11, 8)  # Nov 1 + 7 grace days
    assert Subscription.objects.get(account=account).status == "past_due"

    # Stripe's own payment_failed events arrive too: they name the PaymentIntents, and email no one again.
    events = [json.loads(json.dumps(e.to_dict())) for e in stripe_client().v1.events.list().data]
    failed_events = [e for e in events if e["type"] == "payment_intent.payment_failed"]
    assert len(failed_events) == 4
    with django_capture_on_commit_callbacks(execute=True):
        for event in failed_events:
            assert post_event(client, event).status_code == 200
    assert all(c.payment_intent_id.startswith("pi_") for c in CardCharge.objects.filter(invoice=invoice))
    assert len([m for m in mail.outbox if m.subject == f"Payment of {invoice.number} failed"]) == 4

    # A new card is charged for the open invoice at once, and the account opens again.
    setup_card(account)
    invoice.refresh_from_db()
    account.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert account.locked_on is None


def test_money_back_refund_goes_back_through_stripe(client, stripe_on, django_capture_on_commit_callbacks):
    account = make_account()
    customer = setup_card(account)
    invoice = subscribe(
        account, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks, refund_window_days=30
    )
    sub = Subscription.objects.get(account=account)
    with django_capture_on_commit_callbacks(execute=True):
        [refund] = subscription_request_refund(subscription=sub, on=date(2026, 11, 20))
    refund.refresh_from_db()
    assert refund.amount == usd("7.00")
    assert refund.gateway_id.startswith("re_")
    [intent] = intents_of(customer)
    remote = stripe_client().v1.refunds.retrieve(refund.gateway_id)
    assert (remote.amount, remote.status, remote.payment_intent) == (700, "succeeded", intent.id)
    assert Subscription.objects.get(pk=sub.pk).status == "expired"

    # Stripe's charge.refunded for the same refund is already known: nothing new is recorded.
    charge = stripe_client().v1.charges.retrieve(remote.charge).to_dict()
    charge["refunds"] = {"object": "list", "data": [remote.to_dict()]}
    charge["amount_refunded"] = 700
    event = event_of("charge.refunded", json.loads(json.dumps(charge)), event_id="evt_refund_1", created=remote.created)
    assert post_event(client, event).status_code == 200
    assert Refund.objects.filter(invoice=invoice).count() == 1


def test_payment_method_page_shows_the_card_and_removes_it(client, stripe_on):
    account = make_account()
    setup_card(account)
    client.force_login(owner_of(account))
    page = client.get("/settings/payment-method/").content.decode()
    assert "Visa •••• 4242, expires 12/30" in page
    assert "Replace card" in page and "Remove card" in page

    started = client.post("/settings/payment-method/", {"action": "start"}).content.decode()
    assert 'data-client-secret="seti_' in page + started
    assert f"{stripe_on}/js.stripe.com/v3/" in started

    removed = client.post("/settings/payment-method/", {"action": "remove"}, follow=True).content.decode()
    assert "Pay by bank transfer" in removed
    account.refresh_from_db()
    assert account.payment_gateway == Account.Gateway.BANK_TRANSFER


def save_card_on_the_page(client, test_card: str = "pm_card_visa") -> str:
    """The payment-method page as Stripe Elements drives it: start a setup, confirm the card, save it."""
    started = client.post("/settings/payment-method/", {"action": "start"}).content.decode()
    intent_id = started.split('data-client-secret="')[1].split("_secret_")[0]
    stripe_client().v1.setup_intents.confirm(intent_id, params={"payment_method": test_card})
    page = client.post("/settings/payment-method/", {"action": "save", "setup_intent": intent_id}, follow=True)
    return page.content.decode()


def test_payment_method_page_saves_a_confirmed_setup(client, stripe_on):
    account = make_account()
    client.force_login(owner_of(account))
    assert "Visa •••• 4242, expires 12/30 will pay your invoices." in save_card_on_the_page(client)


def test_members_cannot_see_the_payment_method(client, stripe_on):
    from accounts import services as accounts_services

    account = make_account()
    [member] = accounts_services.membership_invite_many(
        account=account, emails=["m@acme.test"], on=NOV_1, by=owner_of(account)
    )
    from accounts.models import User

    user = User.objects.create_user(email="m@acme.test")
    member.user, member.status = user, "active"
    member.save()
    client.force_login(user)
    assert client.get("/settings/payment-method/").status_code == 403


def test_a_refund_that_did_not_reach_stripe_is_sent_by_the_daily_run(
    settings, stripe_on, django_capture_on_commit_callbacks
):
    account = make_account()
    setup_card(account)
    invoice = subscribe(
        account, django_capture_on_commit_callbacks=django_capture_on_commit_callbacks, refund_window_days=30
    )
    settings.STRIPE_API_HOST = "http://127.0.0.1:9"  # Stripe unreachable while the refund commits
    settings.STRIPE_MAX_NETWORK_RETRIES = 0
    with django_capture_on_commit_callbacks(execute=True):
        [refund] = subscription_request_refund(subscription=Subscription.objects.get(account=account), on=NOV_1)
    refund.refresh_from_db()
    assert refund.gateway_id == ""  # recorded, not sent

    settings.STRIPE_API_HOST = stripe_on
    with django_capture_on_commit_callbacks(execute=True):
        billing_run(on=date(2026, 11, 2))  # the sweep queues the refund; sent after commit
    with django_capture_on_commit_callbacks(execute=True) as queued:
        billing_run(on=date(2026, 11, 3))
    assert queued == []  # a second run finds nothing left to send
    refund.refresh_from_db()
    assert refund.gateway_id.startswith("re_")
    remote = stripe_client().v1.refunds.list().data
    assert [(r.id, r.amount) for r in remote] == [(refund.gateway_id, 700)]
    assert Refund.objects.filter(invoice=invoice).count() == 1


@pytest.mark.django_db(transaction=True)
def test_localstripe_delivers_a_signed_event_that_marks_the_invoice_paid(stripe_on, live_server):
    """The event is signed and posted by localstripe itself (after its one-second delay), not by the test."""
    import time
    import urllib.parse
    import urllib.request

    from tests.invoicing.conftest import WEBHOOK_SECRET

    def register(url: str, events: list[str] | None = None) -> None:
        fields = [("url", url), ("secret", WEBHOOK_SECRET)] + [(f"events[{i}]", e) for i, e in enumerate(events or [])]
        body = urllib.parse.urlencode(fields).encode()
        urllib.request.urlopen(urllib.request.Request(f"{stripe_on}/_config/webhooks/prorata", data=body)).close()

    # Test databases reuse invoice numbers, and so charge keys: give this invoice a number no other test
    # uses, so that an event localstripe still delivers late for an earlier test cannot match it.
    NumberSeries.objects.create(prefix="INV", year=2026, last_value=900)
    account = make_account()
    customer = setup_card(account)
    # Issued while the account paid by bank transfer, so nothing charged it; then the charge below is
    # sent the way Prorata sends it, and its answer is lost.
    Account.objects.filter(pk=account.pk).update(payment_gateway=Account.Gateway.BANK_TRANSFER)
    subscription_create(account=account, plan=make_plan(), cycle="monthly", on=NOV_1)
    Account.objects.filter(pk=account.pk).update(payment_gateway=Account.Gateway.STRIPE)
    invoice = Invoice.objects.get(account=account)
    register(f"{live_server.url}{webhook_path()}", ["payment_intent.succeeded"])
    try:
        intent = send_and_lose_the_answer(invoice, customer)
        deadline = time.monotonic() + 10
        receipted = Receipt.objects.filter(payment__invoice=invoice, emailed_at__isnull=False)
        while time.monotonic() < deadline and not receipted.exists():
            time.sleep(0.1)  # localstripe waits a second before it posts; the receipt goes out after commit
    finally:
        register("http://127.0.0.1:9/", ["prorata.never"])  # later events go nowhere
    invoice.refresh_from_db()
    assert invoice.status == Invoice.Status.PAID
    assert Payment.objects.get(invoice=invoice).gateway_id == intent.id
    assert receipted.count() == 1
    # Late events of earlier tests may be recorded too; this intent's event is recorded once.
    recorded = Event.objects.filter(type="payment_intent.succeeded")
    assert len([e for e in recorded if e.data["object"]["id"] == intent.id]) == 1


def test_a_trial_with_a_card_starts_and_is_charged_at_its_end(stripe_on, django_capture_on_commit_callbacks):
    account = make_account()
    subscription_create(account=account, plan=make_plan(trial_days=14), cycle="monthly", on=NOV_1, trial=True)
    customer = setup_card(account)
    with django_capture_on_commit_callbacks(execute=True):
        billing_run(on=date(2026, 11, 15))  # Nov 1 + 14 trial days
    invoice = Invoice.objects.get(account=account)
    assert (invoice.issued_on, invoice.status) == (date(2026, 11, 15), Invoice.Status.PAID)
    assert Subscription.objects.get(account=account).status == "active"
    assert [pi.amount for pi in intents_of(customer)] == [700]


def test_saving_a_declining_card_says_what_is_still_unpaid(client, stripe_on):
    account = make_account()
    subscription_create(account=account, plan=make_plan(), cycle="monthly", on=NOV_1)
    invoice = Invoice.objects.get(account=account)
    client.force_login(owner_of(account))
    page = save_card_on_the_page(client, "pm_card_chargeCustomerFail")
    assert f"The card could not pay {invoice.number} yet" in page
    assert "just now" not in page
    assert CardCharge.objects.get(invoice=invoice).status == CardCharge.Status.FAILED


def test_saving_a_card_says_which_open_invoices_it_paid(client, stripe_on):
    account = make_account()
    subscription_create(account=account, plan=make_plan(), cycle="monthly", on=NOV_1)
    invoice = Invoice.objects.get(account=account)
    client.force_login(owner_of(account))
    page = save_card_on_the_page(client)
    assert f"It paid {invoice.number} ($7.00) just now." in page
    assert "could not pay" not in page
    assert Invoice.objects.get(pk=invoice.pk).status == Invoice.Status.PAID


def test_the_subscription_page_names_the_card_that_pays(client, stripe_on):
    account = make_account()
    subscription_create(account=account, plan=make_plan(), cycle="monthly", on=NOV_1)
    setup_card(account)
    client.force_login(owner_of(account))
    page = client.get("/settings/subscription/").content.decode()
    assert "Payment method: Visa •••• 4242, expires 12/30" in page


def test_a_locked_account_that_saves_a_paying_card_is_told_it_is_open_again(client, stripe_on):
    account = make_account()
    subscription_create(account=account, plan=make_plan(grace_days=14), cycle="monthly", on=NOV_1)
    billing_run(on=date(2026, 11, 15))  # unpaid for 14 days: locked
    account.refresh_from_db()
    assert account.locked_on == date(2026, 11, 15)
    invoice = Invoice.objects.get(account=account)
    client.force_login(owner_of(account))
    page = save_card_on_the_page(client)
    assert f"It paid {invoice.number} ($7.00) just now. Your account is open again." in page
    account.refresh_from_db()
    assert account.locked_on is None
