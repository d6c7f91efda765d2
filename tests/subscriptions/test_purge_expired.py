"""`manage.py purge_expired`: data kept RETENTION_DAYS after expiry, then deleted — invoices never (SPEC §2.4)."""

import io
from datetime import date

import pytest
from django.core.management import call_command

from accounts import services as accounts_services
from accounts.models import Account, Membership, User
from invoicing.models import CreditNote, Invoice
from subscriptions import services
from subscriptions.models import SeatChange, Subscription
from tests.builders import make_account, make_plan, owner_of

pytestmark = pytest.mark.django_db

PURGE_DAY = "2027-12-02"  # Dec 1 2026 + 365 days = Dec 1 2027: past retention for what expired on Dec 1 2026


def expire_by_cancel(account, plan, *, on: date, end: date):
    sub = services.subscription_create(account=account, plan=plan, cycle="monthly", on=on)
    services.subscription_cancel(subscription=sub, on=on)
    services.billing_run(on=end, accounts=[account])
    sub.refresh_from_db()
    assert sub.status == "expired"
    return sub


@pytest.fixture
def world(settings):
    # Stripe configured: the card account without a card cannot pay when its trial ends
    settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY = "sk_test_x", "pk_test_x"
    plan = make_plan()
    shared = User.objects.create_user(email="shared@example.com")
    gone = make_account("Gone Ltd", legal_name="Gone Ltd", address="1 Old Road", billing_email="ap@gone.example")
    accounts_services.membership_invite_many(
        account=gone, emails=["shared@example.com", "x@gone.example"], on=date(2026, 10, 1)
    )
    expire_by_cancel(gone, plan, on=date(2026, 11, 1), end=date(2026, 12, 1))
    trial = make_account("Trial Co", payment_gateway=Account.Gateway.STRIPE)
    services.subscription_create(
        account=trial, plan=make_plan("t", trial_days=14), cycle="monthly", on=date(2026, 11, 1), trial=True
    )
    services.billing_run(on=date(2026, 11, 15), accounts=[trial])
    still = make_account("Still Here")
    accounts_services.membership_invite(account=still, email="shared@example.com", on=date(2026, 10, 1))
    services.subscription_create(account=still, plan=plan, cycle="monthly", on=date(2027, 11, 1))
    recent = make_account("Recent")
    expire_by_cancel(recent, plan, on=date(2027, 11, 1), end=date(2027, 12, 1))
    return {"gone": gone, "trial": trial, "still": still, "recent": recent, "shared": shared}


def state() -> dict:
    return {
        "accounts": sorted(Account.objects.values_list("pk", "name", "billing_email", "legal_name")),
        "memberships": Membership.objects.count(),
        "users": sorted(User.objects.values_list("email", flat=True)),
        "subscriptions": Subscription.objects.count(),
        "seat_changes": SeatChange.objects.count(),
        "invoices": sorted(Invoice.objects.values_list("number", "account_id", "total")),
        "credit_notes": CreditNote.objects.count(),
    }


def purge(*args) -> str:
    out = io.StringIO()
    call_command("purge_expired", "--on", PURGE_DAY, *args, stdout=out)
    return out.getvalue()


def test_dry_run_lists_and_changes_nothing(world):
    before = state()
    out = purge()
    assert state() == before
    assert f"Gone Ltd (#{world['gone'].pk}), expired 2026-12-01" in out
    assert f"Trial Co (#{world['trial'].pk}), expired 2026-11-15: delete the account" in out
    assert "Still Here" not in out and "Recent" not in out
    assert "Dry run: nothing was deleted" in out


def test_yes_deletes_what_was_listed_and_keeps_invoices(world):
    gone, trial = world["gone"], world["trial"]
    gone_owner, trial_owner = owner_of(gone).email, owner_of(trial).email
    invoices_before = state()["invoices"]
    assert any(account_id == gone.pk for _, account_id, _ in invoices_before)
    out = purge("--yes")
    assert "Deleting: data of 2 account(s)" in out
    # invoices (and the subscription and account rows they refer to) survive
    assert state()["invoices"] == invoices_before
    assert Subscription.objects.filter(account=gone).count() == 1
    gone.refresh_from_db()
    assert (gone.name, gone.legal_name, gone.address, gone.billing_email) == (f"Deleted account #{gone.pk}", "", "", "")
    assert not Membership.objects.filter(account=gone).exists()
    assert not Account.history.filter(id=gone.pk, name="Gone Ltd").exists()
    # users only in purged accounts are gone; the one also in a live account stays
    emails = set(User.objects.values_list("email", flat=True))
    assert gone_owner not in emails and trial_owner not in emails
    assert "shared@example.com" in emails
    assert Membership.objects.filter(account=world["still"], email="shared@example.com").exists()
    # the trial left no documents: the whole account goes
    assert not Account.objects.filter(pk=trial.pk).exists()
    # within retention, or live: untouched
    assert Membership.objects.filter(account=world["recent"]).count() == 1
    assert Account.objects.get(pk=world["recent"].pk).name == "Recent"


def test_a_second_run_finds_nothing(world):
    purge("--yes")
    before = state()
    out = purge("--yes")
    assert "data of 0 account(s)" in out
    assert state() == before


def test_nothing_before_retention_ends(world):
    out = io.StringIO()
    call_command("purge_expired", "--on", "2027-11-30", "--yes", stdout=out)
    # Dec 1 2026 + 365 days is Dec 1 2027; only the trial (Nov 15 2026) is due
    assert "data of 1 account(s)" in out.getvalue()
    assert Account.objects.filter(name="Gone Ltd").exists()
