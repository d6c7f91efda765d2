"""A plan's prices and seat policy in the words a customer reads on the plan cards (issue 17, item 13).

Only words: every amount is the plan's stored price; the rules themselves live in `billing/` and the services.
"""

from dataclasses import dataclass

from invoicing.formatting import money
from subscriptions.models import Cycle, Plan, SeatAddBilling, SeatMode, SeatRemoval, ToMonthly

ADDED = {
    SeatAddBilling.INVOICE_NOW: "a seat added mid-period is invoiced at once, for the days left",
    SeatAddBilling.NEXT_INVOICE: "a seat added mid-period is charged on your next invoice, for the days it was used",
    SeatAddBilling.MONTHLY_TRUE_UP: "seats added are charged once a month, for the days left in the year",
}


@dataclass(frozen=True)
class PlanCard:
    plan: Plan
    prices: list[str]  # “$7.00 per seat a month”, “$70.00 per seat a year”
    terms: list[str]  # the seat policy and other settings, one sentence each
    features: list[str]  # what the plan includes (its `features`, one per line)


def plan_card(plan: Plan, locale: str = "en_US") -> PlanCard:
    prices = []
    if plan.monthly_price is not None:
        prices.append(f"{money(plan.monthly_price, locale)} per seat a month")
    if plan.annual_price is not None:
        prices.append(f"{money(plan.annual_price, locale)} per seat a year")
    terms = []
    if plan.seat_mode == SeatMode.FIXED:
        terms.append("You choose how many seats to pay for; invite people into free seats at no charge.")
    else:
        terms.append("Seats follow your members: each active or invited member takes one.")
    monthly, annual = plan.seat_add_billing_monthly, plan.seat_add_billing_annual
    if monthly == annual or plan.annual_price is None:
        terms.append(f"Billed monthly or annually; {ADDED[monthly]}.")
    else:
        terms.append(f"Monthly: {ADDED[monthly]}. Annual: {ADDED[annual]}.")
    if plan.seat_removal == SeatRemoval.KEEP_UNTIL_RENEWAL:
        terms.append("A seat you free stays paid until the renewal and can be refilled at no charge.")
    else:
        terms.append("A seat you free is credited for the days left.")
    if plan.annual_price is not None and plan.to_monthly == ToMonthly.SUPPORT_ONLY:
        terms.append("Annual to monthly is done by support at the end of the year.")
    if plan.max_seats:
        terms.append(f"Up to {plan.max_seats} user{'s' if plan.max_seats != 1 else ''}.")
    if plan.trial_days:
        terms.append(f"{plan.trial_days}-day free trial.")
    if plan.refund_window_days:
        terms.append(f"{plan.refund_window_days}-day money-back guarantee.")
    features = [line.strip() for line in plan.features.splitlines() if line.strip()]
    return PlanCard(plan, prices, terms, features)


def plan_cards(plans, locale: str = "en_US", *, cycle: str | None = None) -> list[PlanCard]:
    """Cards for `plans`, those priced for `cycle` (when given) only."""
    return [plan_card(p, locale) for p in plans if cycle is None or p.price(cycle or Cycle.MONTHLY) is not None]
