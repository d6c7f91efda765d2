"""What-if for support: this account's seat history replayed under another plan (SPEC §3).

The replay is a scenario (SPEC §4) built from the seat ledger and run through
the real services by `subscriptions.scenario.run_scenario`, inside
`subscriptions.previews.preview`, so nothing is saved and no number is used.
"""

from dataclasses import dataclass
from datetime import date

from moneyed import Money

from accounts.tax import account_tax
from subscriptions.models import Plan, SeatMode, Subscription
from subscriptions.previews import InvoicePreview, invoice_preview, preview
from subscriptions.scenario import run_scenario
from subscriptions.services.seats import MINIMUM_SET


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
    """The subscription's seat ledger (SeatChange) as scenario events that buy `plan` instead.

    Replayed as they happened: the trial and its offer, the seats bought (fixed plans) or in use,
    the minimum commitment from the day support set it, and coupons from the day they were
    redeemed. Under the subscription's own plan the replay gives back the invoices it was issued.
    """
    changes = list(subscription.seat_changes.order_by("on", "id"))
    first = changes[0] if changes else None
    in_use = first.seats_in_use if first else 1
    start = subscription.started_on.isoformat()
    first_cycle, first_minimum = (
        subscription.history.order_by("history_date", "history_id").values_list("cycle", "minimum_seats").first()
    ) or (None, 0)
    fixed = plan.seat_mode == SeatMode.FIXED
    events = []
    if in_use > 1:
        events.append({"on": start, "do": "invite", "count": in_use - 1})
    subscribe = {"on": start, "do": "subscribe", "plan": plan.code, "cycle": first_cycle or subscription.cycle}
    if first is not None and first.reason == "trial started" and plan.trial_days:
        subscribe["trial"] = True
    bought = max(first.bought_seats if first else 0, in_use)
    if fixed:
        subscribe["seats"] = bought
    if first_minimum:
        subscribe["minimum_seats"] = first_minimum  # the minimum it started with; later ones on their day
    redemptions = list(subscription.redemptions.select_related("coupon").order_by("redeemed_on", "id"))
    if redemptions and redemptions[0].redeemed_on == subscription.started_on:
        subscribe["coupon"] = redemptions.pop(0).coupon.code
    events.append(subscribe)
    later = [
        {"on": r.redeemed_on.isoformat(), "do": "apply_coupon", "coupon": r.coupon.code}
        for r in redemptions
        if r.redeemed_on <= until
    ]
    current = in_use
    for change in changes[1:]:
        if change.on > until:
            break
        delta, on = change.seats_in_use - current, change.on.isoformat()
        if change.reason.startswith(MINIMUM_SET):
            later.append({"on": on, "do": "set_minimum_seats", "seats": int(change.reason[len(MINIMUM_SET) :])})
        if change.reason == "trial offer accepted" and plan.trial_offer:
            later.append({"on": on, "do": "accept_trial_offer"})
        if fixed and max(change.bought_seats, change.seats_in_use) > bought:
            bought = max(change.bought_seats, change.seats_in_use)
            later.append({"on": on, "do": "set_seats", "seats": bought})
        if delta > 0:
            later.append({"on": on, "do": "invite", "count": delta})
        elif delta < 0:
            later.append({"on": on, "do": "archive", "count": -delta})
        current = change.seats_in_use
    events += sorted(later, key=lambda event: event["on"])  # stable: same-day events keep their order
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
            "tax_rate": str(account_tax(account, until).rate),
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
