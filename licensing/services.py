"""Named-user licences and signed activations for on-premise servers (SPEC §2.7), one transaction each."""

import base64
import string
import uuid
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from accounts.models import Account, Membership
from common.clock import today
from common.dryrun import atomic, rows_lock
from common.errors import Refused
from licensing import keys
from licensing.models import Activation, Licence
from licensing.verify import FORMAT, canonical
from subscriptions.models import Subscription
from subscriptions.selectors import live_subscription, plan_entitlements

INSTANCE_ID_CHARS = frozenset(string.ascii_letters + string.digits + "-_.:{}")


def _seat_takers(account: Account):
    return (
        Membership.objects.filter(account=account)
        .exclude(status=Membership.Status.ARCHIVED)
        .exclude(role=Membership.Role.NONE)
        .order_by("created_at", "id")
    )


@atomic
def licence_sync(*, account: Account, on: date | None = None) -> list[Licence]:
    """Licences follow paid seats; a holder who no longer takes a seat gives the licence back,
    and free licences go to members who take a seat without one, longest-standing first (SPEC §2.7).
    """
    rows_lock(Account.objects.filter(pk=account.pk))
    on = on or today(account)
    sub = live_subscription(account)
    target = sub.paid_seats if sub is not None else 0
    takers = list(_seat_takers(account))
    taker_ids = {m.pk for m in takers}
    licences = list(Licence.objects.select_for_update().filter(account=account).order_by("id"))
    for licence in licences:
        if licence.membership_id is not None and licence.membership_id not in taker_ids:
            licence.membership, licence.assigned_on = None, None
            licence.save(update_fields=["membership", "assigned_on"])
    if len(licences) > target:
        # Drop free licences first, then the most recently assigned.
        doomed = sorted(
            licences,
            key=lambda lic: (lic.membership_id is not None, -(lic.assigned_on or date.min).toordinal(), -lic.pk),
        )
        doomed = doomed[: len(licences) - target]
        Licence.objects.filter(pk__in=[lic.pk for lic in doomed]).delete()
        licences = [lic for lic in licences if lic not in doomed]
    if len(licences) < target:  # one INSERT for the new seats' licences (and one for their history rows)
        licences += bulk_create_with_history([Licence(account=account) for _ in range(target - len(licences))], Licence)
    held = {lic.membership_id for lic in licences if lic.membership_id is not None}
    waiting = [m for m in takers if m.pk not in held]
    for licence in licences:
        if licence.membership_id is None and waiting:
            licence.membership, licence.assigned_on = waiting.pop(0), on
            licence.save(update_fields=["membership", "assigned_on"])
    return licences


@atomic
def licence_assign(*, licence: Licence, membership: Membership, on: date | None = None) -> Licence:
    """Give a free licence to a member. A licence is never shared: it moves only once its holder
    has left, and a person holds at most one licence of an account (SPEC §2.7).
    """
    licence = Licence.objects.select_for_update(of=("self",)).select_related("membership").get(pk=licence.pk)
    if membership.account_id != licence.account_id:
        raise Refused("This member belongs to another account.", code="other_account", field="membership")
    if not membership.takes_seat:
        raise Refused(f"{membership.email} takes no seat, so cannot hold a licence.", field="membership")
    if licence.membership_id == membership.pk:
        return licence
    if licence.membership_id is not None and licence.membership.takes_seat:
        raise Refused(
            f"This licence is held by {licence.membership.email}; archive them before moving it.",
            code="licence_held",
            field="membership",
        )
    if Licence.objects.filter(account_id=licence.account_id, membership=membership).exists():
        raise Refused(f"{membership.email} already holds a licence.", code="already_licensed", field="membership")
    licence.membership, licence.assigned_on = membership, on or today(licence.account)
    try:
        with transaction.atomic():
            licence.save(update_fields=["membership", "assigned_on"])
    except IntegrityError:
        raise Refused(f"{membership.email} already holds a licence.", code="already_licensed") from None
    return licence


def _clean_instance_id(instance_id) -> str:
    value = (instance_id or "").strip() if isinstance(instance_id, str) else ""
    if not value or len(value) > 100 or not set(value) <= INSTANCE_ID_CHARS:
        raise Refused(
            "Give the server's instance ID: 1–100 letters, digits or - _ . : { }.",
            code="invalid_instance_id",
            field="instance_id",
        )
    return value


def _expires_on(sub: Subscription) -> date:
    # A renewal may be paid a few days late; a canceled subscription is not renewed, so no grace.
    grace = 0 if sub.cancel_at_period_end else settings.LICENCE_GRACE_DAYS
    return sub.period_end + timedelta(days=grace)


def licence_document(*, subscription: Subscription, instance_id: str, kind: str, now: datetime) -> dict:
    """What a licence says: account, plan, seats, entitlements, licensed users, instance, issued and expiry."""
    account = subscription.account
    holders = (
        Licence.objects.filter(account=account, membership__isnull=False)
        .select_related("membership")
        .order_by("membership_id")
    )
    return {
        "format": FORMAT,
        "serial": uuid.uuid4().hex,
        "subscription_id": subscription.public_id,
        "account": {"id": account.pk, "name": account.name},
        "plan": {
            "code": subscription.plan.code,
            "name": subscription.plan.name,
            "max_instances": subscription.plan.max_instances,
        },
        "status": subscription.status,
        "seats": subscription.paid_seats,
        # Activation refuses locked and expired accounts, so a licence always carries the plan's features.
        "entitlements": plan_entitlements(subscription.plan),
        "licensed_users": [
            {"id": lic.membership_id, "user_id": lic.membership.user_id, "email": lic.membership.email}
            for lic in holders
        ],
        "instance_id": instance_id,
        "kind": kind,
        "issued_at": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "period_end": subscription.period_end.isoformat(),
        "expires_on": _expires_on(subscription).isoformat(),
    }


def licence_sign(licence: dict) -> bytes:
    """The licence file: canonical JSON of licence and its Ed25519 signature, one line."""
    signature = keys.private_key().sign(canonical(licence))
    return canonical({"licence": licence, "signature": base64.b64encode(signature).decode()}) + b"\n"


def _usable(sub: Subscription | None) -> Subscription:
    if sub is None:
        raise Refused("No subscription has this ID.", code="unknown_subscription", field="subscription_id")
    if sub.account.locked_on:
        raise Refused(
            f"{sub.account.name} is locked for an unpaid invoice. An owner, admin or billing admin can pay it "
            "in Settings › Invoices; activation works again at once.",
            code="account_locked",
        )
    if sub.status == Subscription.Status.EXPIRED:
        raise Refused(
            "This subscription has expired. Reactivate it in Settings › Subscription, then activate with the "
            "new subscription ID.",
            code="subscription_expired",
        )
    return sub


@atomic
def activation_activate(
    *,
    subscription_id: str,
    instance_id: str,
    kind: str = Activation.Kind.ONLINE,
    now: datetime | None = None,
) -> tuple[Activation, bytes]:
    """Activate an on-premise server: subscription ID + instance ID → signed licence (SPEC §2.7).

    Re-activating a known instance (e.g. after a renewal) returns a fresh licence; a new instance
    needs a free place under the plan's `max_instances` (empty: unlimited).
    """
    instance_id = _clean_instance_id(instance_id)
    now = now or timezone.now()
    sub = (
        Subscription.objects.select_for_update()
        .select_related("plan", "account")
        .filter(public_id=str(subscription_id or "").strip())
        .first()
    )
    sub = _usable(sub)
    activation = Activation.objects.filter(subscription=sub, instance_id=instance_id).first()
    if activation is None or not activation.is_active:
        limit = sub.plan.max_instances
        in_use = Activation.objects.filter(subscription=sub, deactivated_at__isnull=True).count()
        if limit is not None and in_use >= limit:
            raise Refused(
                f"The {sub.plan.name} plan allows {limit} server{'s' if limit != 1 else ''} and "
                f"{in_use} {'is' if in_use == 1 else 'are'} active. Deactivate one in Settings › Licences first.",
                code="instance_limit",
                field="instance_id",
            )
    if activation is None:
        activation = Activation.objects.create(
            subscription=sub, instance_id=instance_id, kind=kind, first_activated_at=now, last_activated_at=now
        )
    else:
        activation.kind, activation.last_activated_at, activation.deactivated_at = kind, now, None
        activation.times_issued += 1
        activation.save(update_fields=["kind", "last_activated_at", "deactivated_at", "times_issued"])
    licence_sync(account=sub.account)
    document = licence_document(subscription=sub, instance_id=instance_id, kind=kind, now=now)
    return activation, licence_sign(document)


def activation_offline(*, subscription: Subscription, instance_id: str, now: datetime | None = None):
    """An owner, admin or support downloads a signed activation file for an instance (SPEC §2.7)."""
    return activation_activate(
        subscription_id=subscription.public_id, instance_id=instance_id, kind=Activation.Kind.OFFLINE, now=now
    )


@atomic
def activation_deactivate(*, activation: Activation, now: datetime | None = None) -> Activation:
    """Free an instance's place under `max_instances`; its current licence runs until it expires."""
    activation = Activation.objects.select_for_update().get(pk=activation.pk)
    if not activation.is_active:
        raise Refused(f"{activation.instance_id} is already deactivated.")
    activation.deactivated_at = now or timezone.now()
    activation.save(update_fields=["deactivated_at"])
    return activation
