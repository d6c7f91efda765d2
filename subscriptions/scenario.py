"""The scenario runner of SPEC §4: a JSON story of events, replayed day by day through the services.

It has no arithmetic of its own: every event is a service call, and every
day in between is a `billing_run` for the scenario's account.
"""

import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from moneyed import Money

from accounts import services as accounts_services
from accounts.models import Account, Membership, User
from billing.proration import amount_text
from common.errors import Refused
from invoicing.models import CreditNote, Invoice, Refund
from invoicing.selectors import credit_balance
from invoicing.services import invoice_pay
from subscriptions import services
from subscriptions.models import Coupon, Cycle, Plan, Subscription
from subscriptions.selectors import (
    account_status,
    latest_subscription,
    live_subscription,
    seats_in_use,
)


class ScenarioError(Exception):
    """Malformed input; the message names the event at fault."""


EVENTS = {
    "subscribe",
    "invite",
    "archive",
    "reactivate",
    "set_seats",
    "set_minimum_seats",
    "switch_cycle",
    "change_plan",
    "undo_change_plan",
    "apply_coupon",
    "accept_trial_offer",
    "cancel",
    "undo_cancel",
    "request_refund",
    "pay",
    "advance",
}


def _money(value, currency: str, where: str) -> Money | None:
    if value is None:
        return None
    try:
        return Money(Decimal(str(value)), currency)
    except (InvalidOperation, ValueError):
        raise ScenarioError(f"{where}: {value!r} is not an amount") from None


def _date(value, where: str) -> date:
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ScenarioError(f"{where}: 'on' must be a date like 2026-11-01, not {value!r}") from None


def _plan(data: dict, n: int) -> Plan:
    where = f"plans[{n}]"
    try:
        code, currency = data["code"], data["currency"]
    except (KeyError, TypeError):
        raise ScenarioError(f"{where}: 'code' and 'currency' are required") from None
    if data.get("monthly") is None and data.get("annual") is None:
        raise ScenarioError(f"{where}: give a 'monthly' or an 'annual' price")
    add = data.get("seat_add_billing") or {}
    plan = Plan(
        code=code,
        name=data.get("name", code),
        currency=currency,
        monthly_price=_money(data.get("monthly"), currency, where),
        annual_price=_money(data.get("annual"), currency, where),
        seat_mode=data.get("seat_mode", "auto"),
        seat_add_billing_monthly=add.get("monthly", "invoice_now"),
        seat_add_billing_annual=add.get("annual", "invoice_now"),
        seat_removal=data.get("seat_removal", "keep_until_renewal"),
        to_monthly=data.get("to_monthly", "support_only"),
        downgrade=data.get("downgrade", "now"),
        minimum_invoice=_money(data.get("minimum_invoice"), currency, where),
        switch_documents=data.get("switch_documents", "one_invoice"),
        max_seats=data.get("max_seats"),
        trial_days=data.get("trial_days", 0),
        trial_offer=_money(data.get("trial_offer"), currency, where),
        refund_window_days=data.get("refund_window_days", 0),
        grace_days=data.get("grace_days", 14),
    )
    try:
        plan.full_clean(exclude=["code"])
    except Exception as exc:
        raise ScenarioError(f"{where}: {exc}") from None
    existing = Plan.objects.filter(code=code).first()
    if existing is not None:
        plan.pk = existing.pk
    plan.save()
    return plan


def _coupon(data: dict, n: int) -> Coupon:
    where = f"coupons[{n}]"
    if not isinstance(data, dict) or "code" not in data:
        raise ScenarioError(f"{where}: 'code' is required")
    cycles = data.get("cycles") or list(Cycle.values)
    amount_off = data.get("amount_off")
    coupon = Coupon(
        code=data["code"],
        name=data.get("name", data["code"]),
        percent_off=Decimal(str(data["percent_off"])) if data.get("percent_off") is not None else None,
        amount_off=_money(amount_off, data.get("currency", "USD"), where),
        duration_periods=data.get("duration_periods", 1) if "forever" != data.get("duration") else None,
        new_customers_only=bool(data.get("new_customers_only", False)),
        valid_monthly="monthly" in cycles,
        valid_annual="annual" in cycles,
        max_redemptions=data.get("max_redemptions"),
        redeem_by=date.fromisoformat(data["redeem_by"]) if data.get("redeem_by") else None,
    )
    if coupon.percent_off is None and coupon.amount_off is None:
        raise ScenarioError(f"{where}: give 'percent_off' or 'amount_off'")
    existing = Coupon.objects.filter(code=coupon.code).first()
    if existing is not None:
        coupon.pk = existing.pk
    coupon.save()
    return coupon


@dataclass
class Run:
    account: Account
    owner: User
    auto_pay: bool
    invited: int = 0

    def sub(self) -> Subscription:
        sub = live_subscription(self.account)
        if sub is None:
            raise Refused("There is no subscription.")
        return sub

    def members(self):
        return Membership.objects.filter(account=self.account).exclude(role=Membership.Role.OWNER)

    def pay_open(self, on: date) -> None:
        if not self.auto_pay:
            return
        for inv in Invoice.objects.filter(account=self.account, status=Invoice.Status.OPEN).order_by("issued_on", "id"):
            invoice_pay(invoice=inv, on=on, reference="auto-pay")

    def day(self, on: date) -> None:
        services.billing_run(on=on, accounts=[self.account])
        self.account.refresh_from_db()
        self.pay_open(on)


def _need(event: dict, key: str, n: int, kind=int):
    if key not in event:
        raise ScenarioError(f"event {n} ({event.get('do')}): '{key}' is required")
    value = event[key]
    if kind is int and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ScenarioError(f"event {n} ({event.get('do')}): '{key}' must be a whole number")
    if kind is str and not isinstance(value, str):
        raise ScenarioError(f"event {n} ({event.get('do')}): '{key}' must be text")
    return value


def _do(run: Run, event: dict, n: int, on: date) -> None:
    do = event["do"]
    owner = run.owner
    if do == "subscribe":
        code = _need(event, "plan", n, str)
        plan = Plan.objects.filter(code=code).first()
        if plan is None:
            raise Refused(f"There is no plan “{code}”.")
        services.subscription_create(
            account=run.account,
            plan=plan,
            cycle=_need(event, "cycle", n, str),
            on=on,
            seats=event.get("seats"),
            coupon=event.get("coupon"),
            trial=bool(event.get("trial")),
            minimum_seats=event.get("minimum_seats") or 0,
            by=owner,
        )
    elif do == "invite":
        count = _need(event, "count", n)
        emails = [f"member{run.invited + i + 1}@{run.account.slug}.example" for i in range(count)]
        accounts_services.membership_invite_many(account=run.account, emails=emails, by=owner, on=on)
        run.invited += count
    elif do == "archive":
        count = _need(event, "count", n)
        people = list(run.members().exclude(status=Membership.Status.ARCHIVED).order_by("-created_at", "-id")[:count])
        if len(people) < count:
            raise Refused(f"There are only {len(people)} members to archive.")
        accounts_services.membership_archive_many(memberships=people, by=owner, on=on)
    elif do == "reactivate":
        count = _need(event, "count", n)
        people = list(run.members().filter(status=Membership.Status.ARCHIVED).order_by("-archived_on", "-id")[:count])
        if len(people) < count:
            raise Refused(f"There are only {len(people)} archived members.")
        accounts_services.membership_reactivate_many(memberships=people, by=owner, on=on)
    elif do == "set_seats":
        services.subscription_set_seats(subscription=run.sub(), seats=_need(event, "seats", n), on=on, by=owner)
    elif do == "set_minimum_seats":
        services.subscription_set_minimum_seats(subscription=run.sub(), seats=_need(event, "seats", n), on=on)
    elif do == "switch_cycle":
        services.subscription_switch_cycle(
            subscription=run.sub(),
            cycle=_need(event, "cycle", n, str),
            on=on,
            by=owner,
            by_support=event.get("by") == "support",
        )
    elif do == "change_plan":
        code = _need(event, "plan", n, str)
        plan = Plan.objects.filter(code=code).first()
        if plan is None:
            raise Refused(f"There is no plan “{code}”.")
        services.subscription_change_plan(subscription=run.sub(), plan=plan, on=on, by=owner)
    elif do == "undo_change_plan":
        services.subscription_undo_plan_change(subscription=run.sub(), on=on, by=owner)
    elif do == "apply_coupon":
        services.subscription_apply_coupon(subscription=run.sub(), code=_need(event, "coupon", n, str), on=on, by=owner)
    elif do == "accept_trial_offer":
        services.subscription_accept_trial_offer(subscription=run.sub(), on=on, by=owner)
    elif do == "cancel":
        services.subscription_cancel(subscription=run.sub(), on=on, by=owner)
    elif do == "undo_cancel":
        services.subscription_undo_cancel(subscription=run.sub(), on=on, by=owner)
    elif do == "request_refund":
        services.subscription_request_refund(subscription=run.sub(), on=on, by=owner)
    elif do == "pay":
        for inv in Invoice.objects.filter(account=run.account, status=Invoice.Status.OPEN).order_by("issued_on", "id"):
            invoice_pay(invoice=inv, on=on, reference="scenario")


def _amount(m: Money) -> str:
    return amount_text(m)


def _output(run: Run, errors: list) -> dict:
    account = run.account
    account.refresh_from_db()
    invoices = Invoice.objects.filter(account=account).order_by("issued_on", "id").prefetch_related("lines")
    out = {
        "invoices": [
            {
                "number": inv.number,
                "issued_on": inv.issued_on.isoformat(),
                "status": inv.status,
                "currency": inv.currency,
                "lines": [
                    {
                        "kind": line.kind,
                        "description": line.description,
                        "period": [
                            line.period_start.isoformat(),
                            line.period_end.isoformat(),
                        ],
                        "quantity": line.quantity,
                        "unit_price": _amount(line.unit_price),
                        "amount": _amount(line.amount),
                    }
                    for line in inv.lines.all()
                ],
                "subtotal": _amount(inv.subtotal),
                "discount": _amount(inv.discount),
                "tax": _amount(inv.tax),
                "total": _amount(inv.total),
                "credit_applied": _amount(inv.credit_applied),
                "amount_due": _amount(inv.amount_due),
            }
            for inv in invoices
        ],
        "credit_notes": [
            {
                "number": cn.number,
                "issued_on": cn.issued_on.isoformat(),
                "total": _amount(cn.total),
            }
            for cn in CreditNote.objects.filter(account=account).order_by("issued_on", "id")
        ],
        "refunds": [
            {
                "invoice": r.invoice.number,
                "on": r.on.isoformat(),
                "amount": _amount(r.amount),
            }
            for r in Refund.objects.filter(invoice__account=account).select_related("invoice").order_by("on", "id")
        ],
        "errors": errors,
        "account": {
            "status": account_status(account),
            "credit_balance": _amount(credit_balance(account)),
        },
    }
    sub = latest_subscription(account)
    if sub is not None:
        out["subscription"] = {
            "status": sub.status,
            "plan": sub.plan.code,
            "cycle": sub.cycle,
            "paid_seats": sub.paid_seats,
            "seats_in_use": seats_in_use(account),
            "current_period": [
                sub.period_start.isoformat(),
                sub.period_end.isoformat(),
            ],
            "scheduled_change": (
                {"plan": sub.pending_plan.code, "on": sub.period_end.isoformat()}
                if sub.pending_plan_id and not sub.is_expired
                else None
            ),
        }
    else:
        out["subscription"] = None
    return out


def run_scenario(data: dict) -> dict:
    """Replay a scenario; the caller decides whether the transaction commits."""
    if not isinstance(data, dict):
        raise ScenarioError("the scenario must be a JSON object")
    events = data.get("events")
    if not isinstance(events, list) or not events:
        raise ScenarioError("'events' must be a non-empty list")
    for n, p in enumerate(data.get("plans") or []):
        _plan(p, n)
    for n, c in enumerate(data.get("coupons") or []):
        _coupon(c, n)
    spec = data.get("account") or {}
    dated = []
    for n, event in enumerate(events):
        if not isinstance(event, dict) or event.get("do") not in EVENTS:
            raise ScenarioError(f"event {n}: 'do' must be one of {', '.join(sorted(EVENTS))}")
        dated.append(_date(event.get("on"), f"event {n} ({event['do']})"))
        if n and dated[n] < dated[n - 1]:
            raise ScenarioError(f"event {n} ({event['do']}): events must be in date order")
    name = spec.get("name", "Acme")
    owner = User.objects.create_user(email=f"owner-{User.objects.count() + 1}@scenario.example", password=None)
    try:
        tax_rate = Decimal(str(spec.get("tax_rate", "0")))
    except InvalidOperation:
        raise ScenarioError(f"account: tax_rate {spec.get('tax_rate')!r} is not a number") from None
    account = accounts_services.account_create(
        name=name,
        owner=owner,
        timezone=spec.get("timezone", "UTC"),
        tax_rate=tax_rate,
        on=dated[0],
    )
    run = Run(account=account, owner=owner, auto_pay=bool(spec.get("auto_pay", True)))
    errors = []
    clock = dated[0]
    for n, (event, on) in enumerate(zip(events, dated, strict=True)):
        while clock <= on:
            run.day(clock)
            clock += timedelta(days=1)
        try:
            with transaction.atomic():
                _do(run, event, n, on)
        except Refused as exc:
            errors.append({"event": n, "message": exc.message})
        run.account.refresh_from_db()
        run.pay_open(on)
    return _output(run, errors)


def load(path: str) -> dict:
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"{path}: {exc}") from None
