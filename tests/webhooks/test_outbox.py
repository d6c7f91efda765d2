"""The event outbox (issue 20): one row per change, a snapshot payload, written in the change's transaction."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from accounts.services import membership_archive, membership_invite
from invoicing.models import Invoice
from invoicing.services import credit_grant, invoice_pay, invoice_void
from subscriptions import services
from subscriptions.models import PlanEntitlement
from tests.builders import make_account, make_plan, usd
from webhooks.models import Event

NOV_1 = date(2026, 11, 1)
NOV_20 = date(2026, 11, 20)


@pytest.fixture(autouse=True)
def at_nov_1():
    with time_machine.travel(datetime(2026, 11, 1, 12, tzinfo=UTC), tick=False):
        yield


@pytest.fixture
def pro(db):
    plan = make_plan("pro", monthly="7.00", annual="60.00")
    PlanEntitlement.objects.create(plan=plan, key="api_access")
    return plan


@pytest.fixture
def account(db):
    account = make_account("Acme", on=NOV_1)
    membership_invite(account=account, email="ana@example.com", on=NOV_1)
    return account


@pytest.fixture
def sub(account, pro):
    return services.subscription_create(account=account, plan=pro, cycle="monthly", on=NOV_1)


def types_since(mark: int) -> list[str]:
    return list(Event.objects.filter(id__gt=mark).values_list("type", flat=True))


def last_id() -> int:
    return Event.objects.order_by("-id").values_list("id", flat=True).first() or 0


def last(type_: str) -> dict:
    return Event.objects.filter(type=type_).order_by("-id").first().payload


def test_subscribing_writes_created_issued_and_licence_events_with_snapshots(sub, account):
    assert types_since(0) == [
        "subscription.created",
        "licence.assigned",
        "licence.assigned",
        "invoice.issued",
    ]
    created = Event.objects.get(type="subscription.created")
    assert created.account_id == account.pk and created.event_id is not None
    assert created.payload == {
        "subscription": {
            "id": sub.public_id,
            "plan": {"code": "pro", "name": "Pro"},
            "cycle": "monthly",
            "status": "active",
            "paid_seats": 2,
            "seats_in_use": 2,
            "current_period": {"start": "2026-11-01", "end": "2026-12-01"},
            "trial_end": None,
            "cancel_at_period_end": False,
            "expired_on": None,
        },
        "account_status": "active",
        "entitlements": [{"key": "api_access", "limit": None}],
    }
    issued = last("invoice.issued")["invoice"]
    assert (issued["status"], issued["total"], issued["subscription_id"]) == (
        "open",
        {"amount": "14.00", "currency": "USD"},
        sub.public_id,
    )
    emails = sorted(e.payload["member"]["email"] for e in Event.objects.filter(type="licence.assigned"))
    assert emails == sorted(account.memberships.values_list("email", flat=True))


def test_seat_changes_plan_changes_cancel_and_expiry(sub, account, pro):
    invoice_pay(invoice=Invoice.objects.get(account=account), on=NOV_1)  # not past due on Nov 20
    mark = last_id()
    ben = membership_invite(account=account, email="ben@example.com", on=NOV_20)
    assert "seats.changed" in types_since(mark) and "licence.assigned" in types_since(mark)
    assert last("seats.changed") == {
        "subscription_id": sub.public_id,
        "paid_seats": 3,
        "previous_paid_seats": 2,
        "seats_in_use": 3,
    }
    mark = last_id()
    membership_archive(membership=ben, on=NOV_20)
    assert "licence.released" in types_since(mark)
    assert last("licence.released")["member"]["email"] == "ben@example.com"

    team = make_plan("team", monthly="9.00", annual="90.00")
    mark = last_id()
    services.subscription_change_plan(subscription=sub, plan=team, on=NOV_20)
    invoice_pay(invoice=Invoice.objects.filter(account=account, status="open").get(), on=NOV_20)
    assert types_since(mark)[0] == "subscription.updated"
    assert last("subscription.updated")["subscription"]["plan"] == {"code": "team", "name": "Team"}
    assert last("subscription.updated")["entitlements"] == []  # Team unlocks nothing

    mark = last_id()
    services.subscription_cancel(subscription=sub, on=NOV_20)
    assert types_since(mark) == ["subscription.canceled"]
    assert last("subscription.canceled")["subscription"]["cancel_at_period_end"] is True

    mark = last_id()
    services.subscription_cancel_now(subscription=sub, on=NOV_20)
    assert "subscription.expired" in types_since(mark)
    expired = last("subscription.expired")
    assert (expired["subscription"]["status"], expired["account_status"], expired["entitlements"]) == (
        "expired",
        "expired",
        [],
    )


def test_payment_void_and_credit_note_events(sub, account):
    invoice = Invoice.objects.get(account=account)
    mark = last_id()
    invoice_pay(invoice=invoice, on=NOV_1, amount=usd("4.00"))
    assert types_since(mark) == []  # a part payment is not `invoice.paid`
    invoice_pay(invoice=invoice, on=NOV_1)
    assert types_since(mark) == ["invoice.paid"]
    assert last("invoice.paid")["invoice"]["amount_paid"] == {"amount": "14.00", "currency": "USD"}

    mark = last_id()
    note = credit_grant(account=account, amount=usd("5.00"), reason="Sorry", on=NOV_1)
    assert types_since(mark) == ["credit_note.issued"]
    assert last("credit_note.issued")["credit_note"]["number"] == note.number

    services.subscription_change_plan(subscription=sub, plan=make_plan("big", monthly="20.00"), on=NOV_20)
    upgrade = Invoice.objects.filter(account=account, status="open").latest("id")
    mark = last_id()
    invoice_void(invoice=upgrade, on=NOV_20, reason="goodwill")
    assert "invoice.voided" in types_since(mark)
    assert (
        last("invoice.voided")["invoice"] | {"number": upgrade.number, "status": "void"}
        == last("invoice.voided")["invoice"]
    )


def test_lock_and_unlock_are_events(sub, account, pro):
    invoice = Invoice.objects.get(account=account)
    lock_day = date(2026, 11, 1 + pro.grace_days)
    mark = last_id()
    services.dunning_run(on=lock_day)
    assert "account.locked" in types_since(mark)
    assert last("account.locked") == {
        "account": {"id": account.pk, "name": "Acme", "locked_on": lock_day.isoformat()},
        "on": lock_day.isoformat(),
    }
    services.dunning_run(on=lock_day)  # already locked: no second event
    assert types_since(mark).count("account.locked") == 1
    mark = last_id()
    invoice_pay(invoice=invoice, on=lock_day)
    # Paid, so no longer past due, and unlocked: the payment first, then what followed from it.
    assert types_since(mark) == ["invoice.paid", "subscription.updated", "account.unlocked"]
    assert last("subscription.updated")["subscription"]["status"] == "active"
    assert last("account.unlocked")["account"]["locked_on"] is None


def test_the_daily_runs_renewal_invoices_are_events(sub, account):
    mark = last_id()
    services.billing_run(on=date(2026, 12, 1), accounts=[account])
    renewals = [e.payload["invoice"] for e in Event.objects.filter(id__gt=mark, type="invoice.issued")]
    assert [(r["reason"], r["issued_on"]) for r in renewals] == [("renewal", "2026-12-01")]


def test_a_rolled_back_change_leaves_no_event(sub, account):
    mark = last_id()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.subscription_cancel(subscription=sub, on=NOV_20)
        membership_invite(account=account, email="ben@example.com", on=NOV_20)
        assert set(types_since(mark)) >= {"subscription.canceled", "seats.changed"}  # written inside…
        raise RuntimeError("the change fails after its events were written")
    assert types_since(mark) == []  # …and gone with it
    sub.refresh_from_db()
    assert sub.cancel_at_period_end is False


def test_the_trial_reminder_is_trial_will_end_once(account, pro):
    from subscriptions.notifications import TRIAL_REMINDER_DAYS, reminders_send

    pro.trial_days = 14
    pro.save()
    trial = services.subscription_create(account=account, plan=pro, cycle="monthly", on=NOV_1, trial=True)
    day = trial.trial_end - timedelta(days=TRIAL_REMINDER_DAYS)
    mark = last_id()
    reminders_send(on=day)
    reminders_send(on=day)  # reminded already: no second event
    assert types_since(mark) == ["subscription.trial_will_end"]
    ending = last("subscription.trial_will_end")
    assert (ending["subscription"]["trial_end"], ending["account_status"]) == ("2026-11-15", "trialing")
    assert ending["entitlements"] == [{"key": "api_access", "limit": None}]
