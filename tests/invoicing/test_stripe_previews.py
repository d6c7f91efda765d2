"""Previews are dry runs: the next-invoice preview runs the real daily run for the account, and on a day
when that run would resend a pending card charge, charge a declined card again and send an unsent
refund, a page view still calls Stripe zero times, writes no PDF and sends no email (issue 14). The
same holds for every preview of the support admin: each staff action's preview, the subscription
page's next invoice and the what-if replay.
"""

import datetime as dt
from datetime import date
from pathlib import Path

import pytest
import time_machine
from django.contrib import admin
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Membership
from invoicing.models import CardCharge, Invoice, Refund
from invoicing.stripe_client import stripe_client
from subscriptions.models import Subscription
from subscriptions.services import subscription_create, subscription_request_refund
from tests.builders import invite, make_account, make_plan, owner_of, verified_login
from tests.invoicing.conftest import NOV_1, send_and_lose_the_answer, setup_card

pytestmark = pytest.mark.django_db


def subscribe(account, capture, plan) -> Invoice:
    with capture(execute=True):
        subscription_create(account=account, plan=plan, cycle="monthly", on=NOV_1)
    return Invoice.objects.get(account=account)


def stripe_calls() -> tuple[int, int]:
    client = stripe_client()
    every = {"limit": 100}
    return len(client.v1.payment_intents.list(params=every).data), len(client.v1.refunds.list(params=every).data)


@pytest.fixture
def card_work_due(settings, stripe_on, tmp_path, django_capture_on_commit_callbacks):
    """Three accounts on whose Nov 2 the daily run has card work: a declined card to charge again, a
    charge left pending to resend, a card refund that never reached Stripe; a fourth paid by card."""
    settings.MEDIA_ROOT = str(tmp_path)
    capture = django_capture_on_commit_callbacks
    plan = make_plan(refund_window_days=30)
    declined = make_account("Declined")  # its invoice is on a retry day (Nov 2 = day 1 after issue)
    invite(declined, 1, on=NOV_1)  # a member, for the member actions
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
    paid = make_account("Paid")
    setup_card(paid)
    subscribe(paid, capture, plan)
    assert CardCharge.objects.filter(status=CardCharge.Status.PENDING).count() == 1
    assert Refund.objects.filter(gateway_id="").count() == 1
    assert Invoice.objects.get(account=paid).status == Invoice.Status.PAID
    return {"declined": declined, "pending": pending, "refunded": refunded, "paid": paid}


def nothing_happened(before, sent, files, tmp_path) -> None:
    assert stripe_calls() == before  # no new PaymentIntent, no refund
    assert len(mail.outbox) == sent
    assert sorted(Path(tmp_path).rglob("*")) == files  # no PDF stored
    assert CardCharge.objects.filter(attempted_on=date(2026, 11, 2)).count() == 0
    assert Refund.objects.filter(gateway_id="").count() == 1


def test_page_views_on_a_day_with_card_work_due_call_stripe_zero_times(
    client, card_work_due, tmp_path, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    declined, pending, refunded = card_work_due["declined"], card_work_due["pending"], card_work_due["refunded"]
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

    assert enqueued == []  # no task
    nothing_happened(before, sent, files, tmp_path)


# What staff type into each action's form; an action missing here fails the test below.
ACTION_INPUT = {
    "grant_credit": {"amount": "5.00", "reason": "goodwill"},
    "unlock": {"reason": "paid by phone"},
    "vies_check": {},
    "archive": {"reason": "left"},
    "reactivate": {"reason": "back"},
    "mark_paid": {"paid_on": "2026-11-02", "method": "bank_transfer", "reference": "TX-1"},
    "void": {"reason": "mistake"},
    "uncollectible": {"reason": "gone"},
    "credit_note": {"amount": "1.00", "reason": "sorry"},
    "refund": {"reason": "asked", "override": "on"},
    "minimum_seats": {"seats": "3", "reason": "contract"},
    "to_monthly": {"reason": "asked"},
    "change_plan": {"reason": "upsell"},  # plan: another plan, below
    "undo_plan_change": {"reason": "asked"},
    "extend_trial": {"days": "7", "reason": "asked"},
    "cancel": {"when": "now", "reason": "asked"},
}


def admin_objects(accounts) -> list:
    """Every object of these accounts that the admin has staff actions for."""
    return [
        *accounts,
        *Membership.objects.filter(account__in=accounts),
        *Invoice.objects.filter(account__in=accounts),
        *Subscription.objects.filter(account__in=accounts),
    ]


def test_every_admin_preview_on_a_day_with_card_work_due_calls_stripe_zero_times(
    card_work_due, tmp_path, django_capture_on_commit_callbacks
):
    from accounts.models import User

    staff = Client()
    verified_login(staff, User.objects.create_superuser(email="root@prorata.example", password=None))
    other_plan = make_plan("team", monthly="12.00", annual="100.00")
    accounts = list(card_work_due.values())
    before, sent, files = stripe_calls(), len(mail.outbox), sorted(Path(tmp_path).rglob("*"))
    previewed = set()
    with time_machine.travel(dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC), tick=False):
        with django_capture_on_commit_callbacks(execute=True) as enqueued:
            for obj in admin_objects(accounts):
                model_admin = admin.site._registry[type(obj)]
                for name, action in model_admin.staff_actions.items():
                    if not action().applies(obj):
                        continue
                    data = {**ACTION_INPUT[name], "plan": other_plan.pk, "preview": "1"}
                    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_action", args=[obj.pk, name])
                    shown = staff.post(url, data)
                    assert shown.status_code == 200, (name, obj)
                    if shown.context["preview"] is not None:
                        previewed.add(name)
            for sub in Subscription.objects.filter(account__in=accounts):
                page = staff.get(reverse("admin:subscriptions_subscription_change", args=[sub.pk]))
                assert page.status_code == 200  # its "Next invoice": the daily run of the period end, rolled back
                what_if = reverse("admin:subscriptions_subscription_what_if", args=[sub.pk])
                assert staff.get(what_if, {"plan": other_plan.pk}).context["result"] is not None

    assert {"grant_credit", "archive", "mark_paid", "void", "credit_note", "refund", "cancel"} <= previewed
    assert {"minimum_seats", "change_plan", "uncollectible"} <= previewed
    assert enqueued == []  # no task
    nothing_happened(before, sent, files, tmp_path)
