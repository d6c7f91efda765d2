"""Payload snapshots and the one way an event row is written (inside the caller's transaction), with its
deliveries to the endpoints that want it."""

from datetime import date, datetime
from typing import NamedTuple

from django.utils import timezone

from accounts.models import Account, Membership
from billing.proration import amount_text
from common.clock import today
from invoicing.models import CreditNote, Invoice
from invoicing.services.rows import ids_next, rows_of, rows_write
from licensing.models import Licence
from subscriptions.models import Subscription
from subscriptions.selectors import entitlements_for, product_status, seats_in_use
from webhooks.delivery import deliveries_create
from webhooks.models import Event


def _money(value) -> dict | None:
    return None if value is None else {"amount": amount_text(value), "currency": value.currency.code}


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def subscription_data(sub: Subscription) -> dict:
    """The subscription as the product needs it: plan, cycle, seats, status, period and entitlements."""
    account = sub.account
    status = product_status(account, None if sub.is_expired else sub, on=today(account))
    return {
        "subscription": {
            "id": sub.public_id,
            "plan": {"code": sub.plan.code, "name": sub.plan.name},
            "cycle": sub.cycle,
            "status": sub.status,
            "paid_seats": sub.paid_seats,
            "seats_in_use": seats_in_use(account),
            "current_period": {"start": _day(sub.period_start), "end": _day(sub.period_end)},
            "trial_end": _day(sub.trial_end),
            "cancel_at_period_end": sub.cancel_at_period_end,
            "expired_on": _day(sub.expired_on),
        },
        "account_status": status,
        "entitlements": entitlements_for(status, sub.plan),
    }


def seats_data(sub: Subscription, *, previous: int | None) -> dict:
    return {
        "subscription_id": sub.public_id,
        "paid_seats": sub.paid_seats,
        "previous_paid_seats": previous,
        "seats_in_use": seats_in_use(sub.account),
    }


def invoice_data(inv: Invoice) -> dict:
    sub = inv.subscription if inv.subscription_id else None
    return {
        "invoice": {
            "number": inv.number,
            "status": inv.status,
            "reason": inv.reason,
            "issued_on": _day(inv.issued_on),
            "due_on": _day(inv.due_on),
            "paid_on": _day(inv.paid_on),
            "total": _money(inv.total),
            "amount_due": _money(inv.amount_due),
            "amount_paid": _money(inv.amount_paid),
            "subscription_id": sub.public_id if sub is not None else None,
        }
    }


def credit_note_data(note: CreditNote) -> dict:
    return {
        "credit_note": {
            "number": note.number,
            "reason": note.reason,
            "issued_on": _day(note.issued_on),
            "total": _money(note.total),
            "invoice": note.invoice.number if note.invoice_id else None,
            "subscription_id": note.subscription.public_id if note.subscription_id else None,
        }
    }


def account_data(account: Account, *, on: date | None) -> dict:
    return {"account": {"id": account.pk, "name": account.name, "locked_on": _day(account.locked_on)}, "on": _day(on)}


def licence_data(licence: Licence, membership: Membership) -> dict:
    return {
        "licence": {"id": licence.pk, "assigned_on": _day(licence.assigned_on)},
        "member": {"id": membership.pk, "user_id": membership.user_id, "email": membership.email},
    }


def event_record(type: str, *, account_id: int, payload: dict) -> Event:
    """Write one event; call it inside the transaction of the change, so it commits or rolls back with it."""
    event = Event.objects.create(type=type, account_id=account_id, payload=payload)
    deliveries_create([event])
    return event


class Recorded(NamedTuple):
    """An event `events_record` wrote, as its deliveries need it (no model instance)."""

    pk: int
    type: str
    account_id: int
    created_at: datetime


def events_record(rows: list[tuple[str, int, dict]]) -> list[Recorded]:
    """Many events in one statement (a batch of invoices from the daily run: COPY on PostgreSQL), written
    as rows; one send per endpoint and account."""
    if not rows:
        return []
    now = timezone.now()
    ids = ids_next(Event, len(rows))
    events = [Recorded(pk, type, account_id, now) for pk, (type, account_id, _) in zip(ids, rows, strict=True)]
    rows_write(
        Event,
        rows_of(
            Event,
            (
                {"id": e.pk, "type": e.type, "account_id": e.account_id, "created_at": now, "payload": p}
                for e, (_, _, p) in zip(events, rows, strict=True)
            ),
        ),
    )
    deliveries_create(events)
    return events
