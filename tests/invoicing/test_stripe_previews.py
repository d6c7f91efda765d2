"""Previews are dry runs: the next-invoice preview runs the real daily run for the account, and on a day
when that run would resend a pending card charge, charge a declined card again and send an unsent
refund, a page view still calls Stripe zero times, writes no PDF and sends no email (issue 14)."""

import datetime as dt
from datetime import date
from pathlib import Path

import pytest
import time_machine
from django.core import mail

from invoicing.models import CardCharge, Invoice, Refund
from invoicing.stripe_client import stripe_client
from subscriptions.models import Subscription
from subscriptions.services import subscription_create, subscription_request_refund
from tests.builders import make_account, make_plan, owner_of
from tests.invoicing.conftest import NOV_1, send_and_lose_the_answer, setup_card

pytestmark = pytest.mark.django_db


def subscribe(account, capture, plan) -> Invoice:
    with capture(execute=True):
        subscription_create(account=account, plan=plan, cycle="monthly", on=NOV_1)
    return Invoice.objects.get(account=account)


def stripe_calls() -> tuple[int, int]:
    client = stripe_client()
    return len(client.v1.payment_intents.list().data), len(client.v1.refunds.list().data)


def test_page_views_on_a_day_with_card_work_due_call_stripe_zero_times(
    client, settings, stripe_on, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = str(tmp_path)
    capture = django_capture_on_commit_callbacks
    plan = make_plan(refund_window_days=30)
    declined = make_account("Declined")  # its invoice is on a retry day (Nov 2 = day 1 after issue)
    setup_card(declined, "pm_card_chargeCustomerFail")
    subscribe(declined, capture, plan)
    pending = make_account("Pending")  # an attempt sent, its answer never read: PENDING
    customer = setup_card(pending)
    subscription_create(account=pending, plan=plan, cycle="monthly", on=NOV_1)  # collection not run
    send_and_lose_the_answer(Invoice.objects.get(account=pending), customer)
    refunded = make_account("Refunded")  # a card refund recorded while Stripe was unreachable
    setup_card(refunded)
    subscribe(refunded, capture, plan)
    settings.STRIPE_API_HOST, settings.STRIPE_MAX_NETWORK_RETRIES = "http://127.0.0.1:9", 0  # Stripe unreachable
    with capture(execute=True):
        subscription_request_refund(subscription=Subscription.objects.get(account=refunded), on=NOV_1)
    settings.STRIPE_API_HOST = stripe_on
    assert CardCharge.objects.filter(status=CardCharge.Status.PENDING).count() == 1
    assert Refund.objects.filter(gateway_id="").count() == 1

    before, sent, files = stripe_calls(), len(mail.outbox), sorted(Path(tmp_path).rglob("*"))
    with time_machine.travel(dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC), tick=False):
        with capture(execute=True) as enqueued:
            pdfs = {}
            for account in (declined, pending, refunded):
                client.force_login(owner_of(account))
                assert client.get("/settings/subscription/").status_code == 200
                pdf = client.get("/settings/invoices/next.pdf")
                pdfs[account.name] = pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    # the refunded subscription ended: it has no next invoice to preview
    assert pdfs == {"Declined": True, "Pending": True, "Refunded": False}

    assert stripe_calls() == before  # no new PaymentIntent, no refund
    assert enqueued == []  # no task
    assert len(mail.outbox) == sent
    assert sorted(Path(tmp_path).rglob("*")) == files  # no PDF stored
    assert CardCharge.objects.filter(attempted_on=date(2026, 11, 2)).count() == 0
    assert Refund.objects.filter(gateway_id="").count() == 1
