"""Named users, activation and instance limits (SPEC §2.7)."""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from accounts.models import Membership
from accounts.services import (
    membership_archive,
    membership_change_role,
    membership_invite,
    membership_reactivate,
    membership_remove_invitation,
)
from common.errors import Refused
from invoicing.services import invoice_pay
from licensing import keys
from licensing.models import Activation, Licence
from licensing.selectors import licensed_membership_ids
from licensing.services import (
    activation_activate,
    activation_deactivate,
    activation_offline,
    licence_assign,
    licence_sync,
)
from licensing.verify import LicenceExpired, verify_licence
from subscriptions.models import Subscription
from subscriptions.services import billing_run, subscription_cancel

from .conftest import DAY

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC)


def holders(account):
    return sorted(
        Licence.objects.filter(account=account, membership__isnull=False).values_list("membership__email", flat=True)
    )


def test_one_licence_per_paid_seat_held_by_the_members(subscription, account):
    assert subscription.paid_seats == 2
    assert Licence.objects.filter(account=account).count() == 2
    assert holders(account) == ["ana@example.com", "owner@example.com"]


def test_invite_adds_a_licence_for_the_new_member(subscription, account):
    membership_invite(account=account, email="ben@example.com", on=DAY)
    assert Licence.objects.filter(account=account).count() == 3
    assert "ben@example.com" in holders(account)


def test_archived_members_licence_moves_to_the_next_member_without_one(subscription, account):
    # keep_until_renewal: the freed seat stays paid, so the licence stays and waits for someone.
    ana = account.memberships.get(email="ana@example.com")
    membership_archive(membership=ana, on=DAY)
    assert holders(account) == ["owner@example.com"]
    assert Licence.objects.filter(account=account, membership__isnull=True).count() == 1
    ben = membership_invite(account=account, email="ben@example.com", on=DAY)
    assert holders(account) == ["ben@example.com", "owner@example.com"]
    assert Licence.objects.filter(account=account).count() == 2  # the free seat was refilled, no new licence
    assert ben.pk in licensed_membership_ids(account)


def test_role_none_and_withdrawn_invitation_give_the_licence_back(subscription, account):
    ana = account.memberships.get(email="ana@example.com")
    membership_change_role(membership=ana, role=Membership.Role.NONE, on=DAY)
    assert "ana@example.com" not in holders(account)
    ben = membership_invite(account=account, email="ben@example.com", on=DAY)
    membership_remove_invitation(membership=ben, on=DAY)
    assert holders(account) == ["owner@example.com"]


def test_reactivated_member_gets_a_licence_again(subscription, account):
    ana = account.memberships.get(email="ana@example.com")
    membership_archive(membership=ana, on=DAY)
    membership_reactivate(membership=ana, on=DAY)
    assert holders(account) == ["ana@example.com", "owner@example.com"]


def test_a_person_cannot_hold_two_licences_of_one_account(subscription, account):
    owner = account.memberships.get(role="owner")
    free = Licence.objects.filter(account=account).exclude(membership=owner).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Licence.objects.filter(pk=free.pk).update(membership=owner)


def test_licence_moves_only_once_its_holder_left(subscription, account):
    ana = account.memberships.get(email="ana@example.com")
    anas = Licence.objects.get(membership=ana)
    ben = Membership.objects.create(account=account, email="ben@example.com", role="none", status="active")
    with pytest.raises(Refused, match="takes no seat"):
        licence_assign(licence=anas, membership=ben)
    membership_archive(membership=ana, on=DAY)
    anas.refresh_from_db()
    assert anas.membership is None
    membership_change_role(membership=ben, role="member", on=DAY)  # takes a seat; licence goes to ben
    assert Licence.objects.get(membership=ben)
    other_account_member = Membership(account_id=account.pk + 999, email="x@example.com")
    with pytest.raises(Refused):
        licence_assign(licence=Licence.objects.get(membership=ben), membership=other_account_member)


def test_held_licence_cannot_be_taken(subscription, account):
    ana = account.memberships.get(email="ana@example.com")
    owner = account.memberships.get(role="owner")
    Licence.objects.filter(membership=owner).update(membership=None)
    with pytest.raises(Refused, match=r"held by ana@example\.com"):
        licence_assign(licence=Licence.objects.get(membership=ana), membership=owner)
    with pytest.raises(Refused, match="already holds"):
        licence_assign(licence=Licence.objects.get(membership__isnull=True), membership=ana)
    assert licence_assign(licence=Licence.objects.get(membership__isnull=True), membership=owner).membership == owner


def test_online_activation_signs_the_current_licence(subscription, account):
    activation, signed = activation_activate(subscription_id=subscription.public_id, instance_id="srv-1", now=NOW)
    licence = verify_licence(signed, keys.public_key_pem(), today=DAY)
    assert licence["subscription_id"] == subscription.public_id
    assert licence["account"] == {"id": account.pk, "name": "Acme"}
    assert licence["plan"]["code"] == "team"
    assert licence["seats"] == 2
    assert sorted(u["email"] for u in licence["licensed_users"]) == ["ana@example.com", "owner@example.com"]
    assert licence["instance_id"] == "srv-1"
    assert licence["issued_at"] == "2026-11-15T12:00:00Z"
    # Period [Nov 15, Dec 15) + 7 days' grace: works through Dec 21.
    assert licence["period_end"] == "2026-12-15"
    assert licence["expires_on"] == "2026-12-22"
    with pytest.raises(LicenceExpired):
        verify_licence(signed, keys.public_key_pem(), today=date(2026, 12, 22))
    assert activation.kind == "online"


def test_canceled_subscription_gets_no_grace(subscription):
    subscription_cancel(subscription=subscription, on=DAY)
    _, signed = activation_activate(subscription_id=subscription.public_id, instance_id="srv-1", now=NOW)
    assert json.loads(signed)["licence"]["expires_on"] == "2026-12-15"


def test_reactivation_after_renewal_returns_a_fresh_licence(subscription, account):
    _, first = activation_activate(subscription_id=subscription.public_id, instance_id="srv-1", now=NOW)
    invoice_pay(invoice=subscription.invoices.get(), on=DAY)
    billing_run(on=date(2026, 12, 15), accounts=[account])
    _, second = activation_activate(
        subscription_id=subscription.public_id, instance_id="srv-1", now=NOW + timedelta(days=30)
    )
    assert json.loads(first)["licence"]["expires_on"] == "2026-12-22"
    assert json.loads(second)["licence"]["expires_on"] == "2027-01-22"
    assert Activation.objects.get().times_issued == 2


def test_instance_limit_follows_the_plan(subscription, plan):
    activation, _ = activation_activate(subscription_id=subscription.public_id, instance_id="srv-1")
    with pytest.raises(Refused, match="allows 1 server") as refused:
        activation_activate(subscription_id=subscription.public_id, instance_id="srv-2")
    assert refused.value.code == "instance_limit"
    activation_activate(subscription_id=subscription.public_id, instance_id="srv-1")  # the same server again
    activation_deactivate(activation=activation)
    activation_offline(subscription=subscription, instance_id="srv-2")
    assert Activation.objects.filter(deactivated_at__isnull=True).get().instance_id == "srv-2"
    plan.max_instances = None
    plan.save()
    for n in range(3, 6):
        activation_activate(subscription_id=subscription.public_id, instance_id=f"srv-{n}")
    assert Activation.objects.filter(deactivated_at__isnull=True).count() == 4


def test_unknown_locked_and_expired_are_refused(subscription, account):
    with pytest.raises(Refused) as refused:
        activation_activate(subscription_id="sub_nope", instance_id="srv-1")
    assert refused.value.code == "unknown_subscription"
    with pytest.raises(Refused) as refused:
        activation_activate(subscription_id=subscription.public_id, instance_id="bad id with spaces")
    assert refused.value.code == "invalid_instance_id"
    account.locked_on = DAY
    account.save()
    with pytest.raises(Refused, match="locked") as refused:
        activation_activate(subscription_id=subscription.public_id, instance_id="srv-1")
    assert refused.value.code == "account_locked"
    account.locked_on = None
    account.save()
    subscription.status = "expired"
    subscription.save()
    with pytest.raises(Refused, match="expired") as refused:
        activation_activate(subscription_id=subscription.public_id, instance_id="srv-1")
    assert refused.value.code == "subscription_expired"
    assert not Activation.objects.exists()


def test_verify_licence_command(subscription, tmp_path, capsys):
    _, signed = activation_activate(subscription_id=subscription.public_id, instance_id="srv-1")
    path = tmp_path / "licence.json"
    path.write_bytes(signed)
    call_command("verify_licence", str(path))
    assert json.loads(capsys.readouterr().out)["instance_id"] == "srv-1"
    path.write_bytes(signed.replace(b'"seats":2', b'"seats":9'))
    with pytest.raises(CommandError, match="Invalid licence"):
        call_command("verify_licence", str(path))


def test_licence_keygen_writes_once(tmp_path, settings):
    settings.LICENCE_SIGNING_KEY = ""
    env = tmp_path / ".env"
    env.write_text("DEBUG=1")
    call_command("licence_keygen", env_file=str(env))
    call_command("licence_keygen", env_file=str(env))
    lines = env.read_text().splitlines()
    assert lines[0] == "DEBUG=1"
    assert len([x for x in lines if x.startswith("LICENCE_SIGNING_KEY=")]) == 1
    settings.LICENCE_SIGNING_KEY = lines[1].split("=", 1)[1]
    assert keys.public_key_pem().startswith("-----BEGIN PUBLIC KEY-----")


def test_licence_count_follows_paid_seats_down_at_renewal(subscription, account):
    membership_archive(membership=account.memberships.get(email="ana@example.com"), on=DAY)
    assert Licence.objects.filter(account=account).count() == 2  # the seat stays paid until renewal
    invoice_pay(invoice=subscription.invoices.get(), on=DAY)
    billing_run(on=date(2026, 12, 15), accounts=[account])
    subscription.refresh_from_db()
    assert subscription.paid_seats == 1
    assert holders(account) == ["owner@example.com"]
    assert Licence.objects.filter(account=account).count() == 1


def test_fewer_paid_seats_drop_free_licences_then_the_newest_holder(subscription, account):
    ben = membership_invite(account=account, email="ben@example.com", on=DAY)
    Licence.objects.filter(account=account).update(assigned_on=DAY)
    Licence.objects.filter(membership=ben).update(assigned_on=date(2026, 11, 20))
    membership_archive(membership=account.memberships.get(email="ana@example.com"), on=DAY)
    assert Licence.objects.filter(account=account).count() == 3  # one free
    Subscription.objects.filter(pk=subscription.pk).update(paid_seats=1)  # as if support cut seats
    licence_sync(account=account)
    assert holders(account) == ["owner@example.com"]
