"""A plan's prices and seat policy in the words a customer reads on the plan cards (issue 17, item 13).

Only words: every amount is the plan's stored price; the rules themselves live in `billing/` and the services.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from invoicing.formatting import money
from subscriptions.models import Cycle, Plan, SeatAddBilling, SeatMode, SeatRemoval, ToMonthly

ADDED = {
    SeatAddBilling.INVOICE_NOW: gettext_lazy("a seat added mid-period is invoiced at once, for the days left"),
    SeatAddBilling.NEXT_INVOICE: gettext_lazy(
        "a seat added mid-period is charged on your next invoice, for the days it was used"
    ),
    SeatAddBilling.MONTHLY_TRUE_UP: gettext_lazy("seats added are charged once a month, for the days left in the year"),
}


@dataclass(frozen=True)
class PlanCard:
    plan: Plan
    prices: list[str]  # “$7.00 per seat a month”, “$70.00 per seat a year”
    terms: list[str]  # the seat policy and other settings, one sentence each
    features: list[str]  # what the plan includes (its `features`, one per line)


def plan_card(plan: Plan, locale: str = "en_US") -> PlanCard:
    """The card of `plan`, in the active language, its prices formatted for `locale`."""
    prices = []
    if plan.monthly_price is not None:
        prices.append(_("%(price)s per seat a month") % {"price": money(plan.monthly_price, locale)})
    if plan.annual_price is not None:
        prices.append(_("%(price)s per seat a year") % {"price": money(plan.annual_price, locale)})
    terms = [_("Prices include VAT.")] if plan.prices_include_tax else []
    if plan.seat_mode == SeatMode.FIXED:
        terms.append(_("You choose how many seats to pay for; invite people into free seats at no charge."))
    else:
        terms.append(_("Seats follow your members: each active or invited member takes one."))
    monthly, annual = plan.seat_add_billing_monthly, plan.seat_add_billing_annual
    if monthly == annual or plan.annual_price is None:
        terms.append(_("Billed monthly or annually; %(added)s.") % {"added": ADDED[monthly]})
    else:
        terms.append(
            _("Monthly: %(monthly)s. Annual: %(annual)s.") % {"monthly": ADDED[monthly], "annual": ADDED[annual]}
        )
    if plan.seat_removal == SeatRemoval.KEEP_UNTIL_RENEWAL:
        terms.append(_("A seat you free stays paid until the renewal and can be refilled at no charge."))
    else:
        terms.append(_("A seat you free is credited for the days left."))
    if plan.annual_price is not None and plan.to_monthly == ToMonthly.SUPPORT_ONLY:
        terms.append(_("Annual to monthly is done by support at the end of the year."))
    if plan.max_seats:
        terms.append(ngettext("Up to %(n)s user.", "Up to %(n)s users.", plan.max_seats) % {"n": plan.max_seats})
    if plan.trial_days:
        terms.append(_("%(days)s-day free trial.") % {"days": plan.trial_days})
    if plan.refund_window_days:
        terms.append(_("%(days)s-day money-back guarantee.") % {"days": plan.refund_window_days})
    features = [line.strip() for line in plan.features.splitlines() if line.strip()]
    return PlanCard(plan, prices, terms, features)


def plan_cards(plans, locale: str = "en_US", *, cycle: str | None = None) -> list[PlanCard]:
    """Cards for `plans`, those priced for `cycle` (when given) only."""
    return [plan_card(p, locale) for p in plans if cycle is None or p.price(cycle or Cycle.MONTHLY) is not None]
