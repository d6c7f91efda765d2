"""What-if for support: this account's seat history replayed under another plan (SPEC §3).

The replay is a scenario (SPEC §4) built from the seat ledger and run through
the real services by `subscriptions.scenario.run_scenario`, inside
`subscriptions.previews.preview`, so nothing is saved and no number is used.
"""

from dataclasses import dataclass
from datetime import date

from moneyed import Money

from subscriptions.models import Plan, SeatMode, Subscription
from subscriptions.previews import InvoicePreview, invoice_preview, preview
from subscriptions.scenario import run_scenario


@dataclass
class WhatIf:
    plan: Plan
    events: list[dict]
    actual: list[InvoicePreview]
    replay: list[InvoicePreview]
    actual_total: Money
    replay_total: Money
    refused: str


def _total(invoices: list[InvoicePreview], currency: str) -> Money:
    return sum((inv.total for inv in invoices), Money(0, currency))


def seat_history_events(subscription: Subscription, plan: Plan, *, until: date) -> list[dict]:
    """The subscription's seat ledger (SeatChange) as scenario events that buy `plan` instead."""
    changes = list(subscription.seat_changes.order_by("on", "id"))
    first = changes[0].seats_in_use if changes else 1
    start = subscription.started_on.isoformat()
    first_cycle = subscription.history.order_by("history_date", "history_id").values_list("cycle", flat=True).first()
    fixed = plan.seat_mode == SeatMode.FIXED
    events = []
    if first > 1:
        events.append({"on": start, "do": "invite", "count": first - 1})
    subscribe = {"on": start, "do": "subscribe", "plan": plan.code, "cycle": first_cycle or subscription.cycle}
    bought = first
    if fixed:
        subscribe["seats"] = bought
    if subscription.minimum_seats:
        subscribe["minimum_seats"] = subscription.minimum_seats
    events.append(subscribe)
    current = first
    for change in changes[1:]:
        if change.on > until:
            break
        delta, on = change.seats_in_use - current, change.on.isoformat()
        if delta > 0:
            if fixed and change.seats_in_use > bought:
                bought = change.seats_in_use
                events.append({"on": on, "do": "set_seats", "seats": bought})
            events.append({"on": on, "do": "invite", "count": delta})
        elif delta < 0:
            events.append({"on": on, "do": "archive", "count": -delta})
        current = change.seats_in_use
    events.append({"on": max(until, subscription.started_on).isoformat(), "do": "advance"})
    return events


def subscription_what_if(*, subscription: Subscription, plan: Plan, until: date) -> WhatIf:
    """The invoices issued so far beside those `plan` would have produced for the same seats; nothing is saved."""
    account = subscription.account
    events = seat_history_events(subscription, plan, until=until)
    scenario = {
        "account": {
            "name": f"What-if for {account.name}",
            "timezone": account.timezone,
            "tax_rate": str(account.tax_rate),
            "auto_pay": True,
        },
        "events": events,
    }
    replay = preview(run_scenario, data=scenario)
    actual = [invoice_preview(inv, account.locale) for inv in subscription.invoices.order_by("issued_on", "id")]
    return WhatIf(
        plan=plan,
        events=events,
        actual=actual,
        replay=replay.invoices,
        actual_total=_total(actual, account.currency or plan.currency),
        replay_total=_total(replay.invoices, plan.currency),
        refused=replay.refused,
    )
