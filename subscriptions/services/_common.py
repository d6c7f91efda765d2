"""Helpers the subscription services share: prices, labels, the row lock, the seat ledger, issuing."""

from collections.abc import Iterable
from datetime import date
from functools import lru_cache

from django.utils import translation
from django.utils.translation import gettext, gettext_noop, ngettext, pgettext_lazy

from accounts.models import Account
from accounts.tax import account_tax
from billing import plan as core
from common.dryrun import for_update
from common.errors import Refused
from common.locales import in_invoice_language, invoice_language
from invoicing.formatting import day as fmt_day
from invoicing.models import Invoice, InvoiceLine
from invoicing.services import invoice_issue, line_to_core
from subscriptions.models import Plan, SeatChange, Subscription
from subscriptions.selectors import coupon_discount, seats_in_use, waiting_lines

Status = Subscription.Status


CYCLE_WORDS = {"monthly": pgettext_lazy("cycle", "monthly"), "annual": pgettext_lazy("cycle", "annual")}


def _price(plan: Plan, cycle: str):
    price = plan.price(cycle)
    if price is None:
        raise Refused(
            gettext("The %(plan)s plan has no %(cycle)s price.")
            % {"plan": plan.name, "cycle": CYCLE_WORDS.get(cycle, cycle)},
            field="cycle",
        )
    return price


def _label(plan_name: str, cycle: str) -> str:
    words = CYCLE_WORDS.get(cycle, cycle)
    return gettext("%(plan)s (%(cycle)s)") % {"plan": plan_name, "cycle": words}


def _seats(n: int) -> str:
    return ngettext("%(n)s seat", "%(n)s seats", n) % {"n": n}


PLAN_LINE = gettext_noop("%(plan)s · %(seats)s")
UNUSED_LINE = gettext_noop("Unused time on %(plan)s · %(seats)s")
ADDED_LINE = gettext_noop("%(plan)s · %(seats)s added")
REMOVED_LINE = gettext_noop("%(plan)s · %(seats)s removed")
SEATS_REMOVED = gettext_noop("%(seats)s removed")


def _describe(account: Account, template: str, plan: Plan, cycle: str, seats: int) -> str:
    """A line's description (“Team (monthly) · 2 seats”) in the account's invoice language."""
    return _described(invoice_language(account), template, plan.name, cycle, seats)


@lru_cache(maxsize=4096)
def _described(language: str, template: str, plan_name: str, cycle: str, seats: int) -> str:
    """`_describe`'s text, worked out once for each of its words: a day's renewals share a few thousand at most."""
    with translation.override(language):
        return gettext(template) % {"plan": _label(plan_name, cycle), "seats": _seats(seats)}


def _seats_removed(account: Account, seats: int) -> str:
    """A seat credit note's memo (“2 seats removed”) in the account's invoice language."""
    with in_invoice_language(account):
        return gettext(SEATS_REMOVED) % {"seats": _seats(seats)}


def _lock(sub: Subscription) -> Subscription:
    return for_update(Subscription.objects).select_related("plan", "account").get(pk=sub.pk)


def _lock_live(account: Account) -> Subscription | None:
    """The account's live subscription (`selectors.live_subscription`), read under the same lock as `_lock`."""
    live = for_update(Subscription.objects).select_related("plan", "account")
    return live.filter(account=account).exclude(status=Status.EXPIRED).first()


def _check_paid_up(sub: Subscription) -> None:
    """A locked or past-due account settles what it owes before it buys more (issue 17, item 9).

    Cancelling, undoing a cancellation and giving seats back stay open to it.
    """
    if sub.account.locked_on or sub.status == Status.PAST_DUE:
        raise Refused(
            gettext(
                "%(account)s has an invoice unpaid past its due date. Pay it first "
                "(Settings › Invoices); then you can change the subscription."
            )
            % {"account": sub.account.name},
            code="unpaid",
        )


def _ledger(sub: Subscription, *, on: date, reason: str, by=None, in_use: int | None = None) -> None:
    SeatChange.objects.create(
        subscription=sub,
        on=on,
        reason=reason[:200],
        seats_in_use=seats_in_use(sub.account) if in_use is None else in_use,
        paid_seats=sub.paid_seats,
        bought_seats=sub.bought_seats,
        by=by,
    )


def _check_max_seats(plan: Plan, seats: int) -> None:
    if plan.max_seats is not None and seats > plan.max_seats:
        raise Refused(
            ngettext(
                "The %(plan)s plan allows at most %(n)s user.",
                "The %(plan)s plan allows at most %(n)s users.",
                plan.max_seats,
            )
            % {"plan": plan.name, "n": plan.max_seats},
            code="max_seats",
            field="seats",
        )


def _check_pending_max_seats(sub: Subscription, seats: int) -> None:
    """Seats beyond the `max_seats` of a plan the subscription is scheduled to move to are refused now."""
    pending = sub.pending_plan
    if pending is not None and pending.max_seats is not None and seats > pending.max_seats:
        raise Refused(
            ngettext(
                "Your change to the %(plan)s plan on %(day)s allows at most %(n)s user; undo that change to add more.",
                "Your change to the %(plan)s plan on %(day)s allows at most %(n)s users; undo that change to add more.",
                pending.max_seats,
            )
            % {"plan": pending.name, "day": fmt_day(sub.period_end), "n": pending.max_seats},
            code="max_seats",
            field="seats",
        )


def _check_currency(account: Account, plan: Plan) -> None:
    if account.currency and account.currency != plan.currency:
        raise Refused(
            gettext("%(account)s is billed in %(currency)s; the %(plan)s plan is in %(plan_currency)s.")
            % {
                "account": account.name,
                "currency": account.currency,
                "plan": plan.name,
                "plan_currency": plan.currency,
            },
            code="currency_mismatch",
            field="plan",
        )


def _charged_seats(sub: Subscription, in_use: int) -> int:
    return core.seats_to_charge(
        seat_mode=sub.plan.seat_mode,
        seats_in_use=in_use,
        bought_seats=sub.bought_seats,
        minimum_seats=sub.minimum_seats,
    )


def _held(sub: Subscription) -> list[InvoiceLine]:
    """Lines held back by `minimum_invoice` join the next invoice issued for any reason (SPEC §2.4).

    Under a plan without a minimum nothing is held, and waiting lines keep their billing day.
    """
    return waiting_lines(sub) if sub.plan.minimum_invoice is not None else []


def _below_minimum(sub: Subscription, lines: list[core.Line], waiting: list[InvoiceLine], *, on: date) -> bool:
    """Would an invoice of `lines` and `waiting` total less than the plan's `minimum_invoice`? (SPEC §2.4)"""
    if sub.plan.minimum_invoice is None:
        return False
    totals = core.invoice_totals(
        lines=[*lines, *(line_to_core(w) for w in waiting)],
        currency=sub.account.currency,
        discounts=[d for d in [coupon_discount(sub)] if d is not None],
        tax_rate=account_tax(sub.account, on).rate,
        tax_included=sub.plan.prices_include_tax,
    )
    return core.below_minimum_invoice(totals.total, sub.plan.minimum_invoice)


def _issue(
    sub: Subscription,
    *,
    reason: str,
    on: date,
    lines: Iterable[core.Line],
    waiting: Iterable[InvoiceLine] = (),
    billing_key: str | None = None,
) -> Invoice | None:
    """An invoice for `sub`, less the coupon active in its current period (SPEC §2.5)."""
    return invoice_issue(
        account=sub.account,
        subscription=sub,
        reason=reason,
        on=on,
        lines=list(lines),
        waiting=list(waiting),
        discounts=[d for d in [coupon_discount(sub)] if d is not None],
        billing_key=billing_key,
    )


def _expire(sub: Subscription, *, on: date, reason: str, by=None) -> None:
    """The subscription ends on `on` (SPEC §2.4): nothing renews, the product is blocked."""
    sub.status = Status.EXPIRED
    sub.expired_on = on
    sub.save(update_fields=["status", "expired_on"])
    _ledger(sub, on=on, reason=reason, by=by)
