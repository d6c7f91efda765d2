"""The daily run (SPEC §2.4–2.6): renewals, trial ends, expiries and waiting lines due, then dunning.

Named `daily_run`, not `billing_run`, so that `subscriptions.services.billing_run` stays the service.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, Q
from moneyed import Money

from accounts.models import Account
from accounts.vies import vies_checks_run
from billing import plan as core
from billing.proration import amount_text
from common.dryrun import atomic
from common.lookups import AnyOf
from invoicing.models import Invoice, InvoiceLine
from invoicing.services import pending_requeue
from subscriptions.models import Cycle, Plan, Subscription
from subscriptions.selectors import seats_taken, waiting_lines
from subscriptions.services._common import Status, _expire, _issue
from subscriptions.services.dunning import dunning_run
from subscriptions.services.renewal import Claimed, Renewal, period_of, renewals_write
from subscriptions.services.terms import plan_change_apply_scheduled
from subscriptions.signals import daily_run_finished

RUN_CHUNK = 500


def _has_payment_method(account: Account) -> bool:
    if account.payment_gateway == Account.Gateway.BANK_TRANSFER:
        return True
    from invoicing.gateways import has_payment_method

    return has_payment_method(account)


def _advance(sub: Subscription, *, on: date) -> list[Invoice]:
    """Move one subscription through every period boundary up to `on` (renewals, trial ends, expiry)."""
    issued = []
    while sub.status != Status.EXPIRED and sub.period_end <= on:
        boundary = sub.period_end
        if sub.status == Status.TRIALING:
            if sub.cancel_at_period_end:
                _expire(sub, on=boundary, reason="trial canceled; it ended unpaid")
                break
            if not _has_payment_method(sub.account):
                _expire(sub, on=boundary, reason="trial ended without a way to pay")
                break
            sub.status = Status.ACTIVE
            sub.anchor = boundary
            offer = sub.plan.trial_offer if sub.trial_offer_accepted and sub.cycle == Cycle.MONTHLY else None
            extra = [core.Discount(label="Trial offer", amount=offer)] if offer is not None else []
            renewal = Renewal(sub, reason=Invoice.Reason.PURCHASE, discounts=extra, terms_changed=True)
        elif sub.cancel_at_period_end:
            final = _issue(
                sub,
                reason=Invoice.Reason.FINAL,
                on=boundary,
                lines=[],
                waiting=waiting_lines(sub),
                billing_key=f"final:{sub.pk}:{boundary}",
            )
            issued.append(final)
            _expire(sub, on=boundary, reason="canceled; period ended")
            break
        elif sub.pending_cycle or sub.pending_plan_id is not None:
            if sub.pending_plan_id is not None:
                plan_change_apply_scheduled(sub, boundary=boundary)
            if sub.pending_cycle:
                # The anchor day stays: monthly periods after an annual one run Feb 28 → Mar 29 (SPEC §2.4).
                sub.cycle, sub.pending_cycle = sub.pending_cycle, ""
            renewal = Renewal(sub, terms_changed=True)
        else:
            renewal = Renewal(sub)
        issued += renewals_write(renewals=[renewal])
    return [i for i in issued if i is not None]


def _true_up(sub: Subscription, *, on: date) -> list[Invoice]:
    """Waiting lines whose day has come, one invoice per day (SPEC §2.3 `monthly_true_up`)."""
    issued = []
    lines = waiting_lines(sub, until=on)
    for bill_on in sorted({line.bill_on for line in lines}):
        group = [line for line in lines if line.bill_on == bill_on]
        inv = _issue(
            sub,
            reason=Invoice.Reason.TRUE_UP,
            on=bill_on,
            lines=[],
            waiting=group,
            billing_key=f"trueup:{sub.pk}:{bill_on}",
        )
        issued.append(inv)
    return [i for i in issued if i is not None]


def _plain_renewal(sub, *, plan: Plan, on: date) -> bool:
    """A renewal the daily run may write with its chunk: one period boundary by `on`, nothing but a renewal on it.

    `sub` is a subscription or its row as the chunk's claim reads it (`_claim`), `plan` its plan.
    """
    return (
        sub.status not in (Status.TRIALING, Status.EXPIRED)
        and not sub.cancel_at_period_end
        and not sub.pending_cycle
        and sub.pending_plan_id is None
        and sub.period_end <= on
        and plan.price(sub.cycle) is not None
        and period_of(sub.anchor, sub.cycle, sub.period_end).end > on
    )


def _claim(ids: list[int], *, on: date) -> tuple[list[Claimed], dict[int, int]]:
    """Lock the chunk's subscriptions that are not expired (skip_locked) and load its plain renewals.

    One query reads the rows as tuples, with their accounts, plans and seats in use: a plain renewal
    stays a row (`Claimed`) with its account as an instance, and each plan is one instance for the
    chunk (many subscriptions share one).
    Returns the plain renewals, in id order, and the seats in use by account id.
    """
    names = [f.attname for f in Subscription._meta.concrete_fields]
    account_names = [f.attname for f in Account._meta.concrete_fields]
    plan_names = [f.attname for f in Plan._meta.concrete_fields]
    claim = (
        Subscription.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(AnyOf("pk", ids))
        .exclude(status=Status.EXPIRED)
        .annotate(taken=seats_taken(OuterRef("account_id")))
        .order_by("pk")
    )
    related = [f"account__{name}" for name in account_names] + [f"plan__{name}" for name in plan_names]
    rows = list(claim.values_list(*names, *related, "taken", named=True))
    plain, in_use, plans, db = [], {}, {}, claim.db
    cut, cut_plan = len(names), len(names) + len(account_names)
    for row in rows:
        plan = plans.get(row.plan_id)
        if plan is None:
            plan = plans[row.plan_id] = Plan.from_db(db, plan_names, row[cut_plan:-1])
        if _plain_renewal(row, plan=plan, on=on):
            account = Account.from_db(db, account_names, row[cut:cut_plan])
            plain.append(Claimed(db, names, row[:cut], plan=plan, account=account))
            in_use[row.account_id] = row.taken
    return plain, in_use


@dataclass
class RunSummary:
    on: date
    subscriptions: int = 0
    renewed: int = 0
    expired: int = 0
    issued: int = 0
    amounts: dict = field(default_factory=dict)
    locked: int = 0

    def count(self, invoices: list[Invoice]) -> None:
        for inv in invoices:
            self.issued += 1
            self.renewed += inv.reason == Invoice.Reason.RENEWAL
            self.amounts[inv.currency] = self.amounts.get(inv.currency, 0) + inv.total.amount

    def totals(self) -> dict[str, str]:
        return {k: amount_text(Money(v, k)) for k, v in sorted(self.amounts.items())}

    def text(self) -> str:
        """The run in one line, as `run_billing` prints it and the beat's task logs it."""
        amounts = "; ".join(f"{currency} {amount}" for currency, amount in self.totals().items()) or "nothing"
        return (
            f"{self.on}: {self.renewed} subscriptions renewed, {self.issued} invoices issued ({amounts}), "
            f"{self.expired} expired, {self.locked} accounts locked."
        )

    def as_dict(self) -> dict:
        """For a task's result (JSON): amounts as strings."""
        return {
            "on": self.on.isoformat(),
            **{name: getattr(self, name) for name in ("subscriptions", "renewed", "expired", "issued", "locked")},
            "amounts": {currency: str(amount) for currency, amount in self.amounts.items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> "RunSummary":
        counts = {name: data[name] for name in ("subscriptions", "renewed", "expired", "issued", "locked")}
        amounts = {currency: Decimal(amount) for currency, amount in data["amounts"].items()}
        return cls(on=date.fromisoformat(data["on"]), amounts=amounts, **counts)

    def add(self, other: "RunSummary") -> None:
        """Count in what another share of the same run did (e.g. `renewals_run` with `part`, `parts`)."""
        for name in ("subscriptions", "renewed", "expired", "issued", "locked"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for currency, amount in other.amounts.items():
            self.amounts[currency] = self.amounts.get(currency, 0) + amount


def _run_one(pk: int, *, on: date, summary: RunSummary) -> None:
    """Everything but a plain renewal, one subscription per transaction: trial ends, expiries, switches, true-ups."""
    with atomic():
        sub = (
            Subscription.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("plan", "account")
            .filter(pk=pk)
            .exclude(status=Status.EXPIRED)
            .first()
        )
        if sub is None:
            return
        summary.subscriptions += 1
        issued = _advance(sub, on=on)
        summary.expired += sub.status == Status.EXPIRED
        if sub.status != Status.EXPIRED:
            issued += _true_up(sub, on=on)
        summary.count(issued)


def subscriptions_due(*, on: date):
    """What the day's run bills: subscriptions whose period ended by `on`, or with a waiting line due."""
    waiting_due = InvoiceLine.objects.filter(subscription=OuterRef("pk"), invoice__isnull=True, bill_on__lte=on)
    return Subscription.objects.exclude(status=Status.EXPIRED).filter(Q(period_end__lte=on) | Exists(waiting_due))


def renewals_run(*, on: date, accounts=None, progress=None, part: int = 0, parts: int = 1) -> RunSummary:
    """The daily run's billing: renewals, trial ends, expiries and waiting lines due by `on` (SPEC §2.4).

    Subscriptions are claimed in chunks with `select_for_update(skip_locked=True)`
    and re-read under the lock, so two runs at once (or the same day twice) bill
    everything exactly once; unique billing keys back that up. Plain renewals of a
    chunk are renewed together in one transaction (`renewals_write`); everything else
    goes one subscription per transaction. `progress(done, total)` is told after each chunk.
    With `parts` > 1, only the subscriptions whose id leaves `part` divided by `parts`:
    processes given parts 0 … parts − 1 share the run without ever waiting on one another's chunks.
    First, the VAT IDs of the renewing accounts whose VIES evidence would not hold are checked.
    """
    summary = RunSummary(on=on)
    due = subscriptions_due(on=on)
    if accounts is not None:
        due = due.filter(account__in=accounts)
    if parts > 1:
        due = due.alias(part=F("pk") % parts).filter(part=part)
    # Reverse charge needs a fresh VIES answer: ask before billing, outside any transaction.
    vies_checks_run(on=on, accounts=due.values("account_id"))
    total = due.count() if progress is not None else 0
    done, last = 0, 0
    while ids := list(due.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:RUN_CHUNK]):
        last = ids[-1]
        with atomic():
            plain, in_use = _claim(ids, on=on)
            if plain:
                summary.subscriptions += len(plain)
                renewed = renewals_write(renewals=[Renewal(sub) for sub in plain], in_use=in_use)
                summary.count([inv for inv in renewed if inv is not None])
        bulk = {sub.pk for sub in plain}
        for pk in ids:
            if pk not in bulk:
                _run_one(pk, on=on, summary=summary)
        done += len(ids)
        if progress is not None:
            progress(done, max(total, done))
        if len(ids) < RUN_CHUNK:
            break  # a short chunk was the last: no need to ask once more (one query less, issue 15)
    return summary


def billing_run(*, on: date, accounts=None, progress=None) -> RunSummary:
    """The daily run: renewals, trial ends, expiries, waiting lines (`renewals_run`), then dunning (SPEC §2.5)."""
    summary = renewals_run(on=on, accounts=accounts, progress=progress)
    from invoicing.stripe_services import card_charges_retry

    card_charges_retry(on=on, accounts=accounts)  # failed cards again on days 1, 3, 5, before the lock (issue 8)
    summary.locked = dunning_run(on=on, accounts=accounts)["locked"]
    # The safety sweep: PDFs, emails, receipts, card charges and refunds still pending (SPEC §2.6, issue 14);
    # documents up to yesterday's: today's were queued at their own commit and their tasks retry on their own.
    pending_requeue(on=on - timedelta(days=1), accounts=accounts)
    if accounts is None:
        daily_run_finished.send(sender=billing_run, on=on)  # e.g. the revenue snapshot of the day (issue 21)
    return summary
