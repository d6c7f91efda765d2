"""What a change would cost, computed by the change itself (SPEC §3, issue 6).

`preview(service, **kwargs)` runs any service inside a transaction, copies
out the invoices, waiting lines, credit notes and refunds it wrote, and rolls
everything back — numbers allocated in there too. `confirm(service,
expected=..., **kwargs)` runs the same service for real and keeps the result
only if it is exactly what the preview showed. There is no billing arithmetic
here: every amount is one the service wrote. Side effects (PDFs, emails,
Stripe) run from `transaction.on_commit` (STYLE habit 6), so a rolled-back
preview sends nothing.
"""

import copy
import hashlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from django.db import connection, models, transaction
from django.db.models import BigIntegerField, Exists, Min, OuterRef, Q, Subquery
from django.db.models.expressions import RawSQL
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from moneyed import Money

from billing.calendar import Period
from billing.proration import zero
from common.dryrun import aside, dry_run
from common.errors import Refused
from common.locales import page_locale
from invoicing.formatting import day, line_explain, money
from invoicing.models import CreditNote, Invoice, InvoiceLine, Payment, Refund
from invoicing.selectors import invoice_outstanding
from subscriptions.models import SeatAddBilling, SeatRemoval, Subscription
from subscriptions.selectors import seat_state, subscription_period


@dataclass(frozen=True)
class LinePreview:
    description: str
    explanation: str
    kind: str
    quantity: int
    amount: Money
    bill_on: date | None = None


@dataclass(frozen=True)
class InvoicePreview:
    reason: str
    issued_on: date
    due_on: date
    lines: tuple[LinePreview, ...]
    subtotal: Money
    discount: Money
    discount_label: str
    tax: Money
    total: Money
    credit_applied: Money
    amount_due: Money
    status: str
    number: str = field(default="", compare=False)
    tax_rate: Decimal = Decimal(0)
    tax_included: bool = False  # the plan's prices include tax: `tax` is part of `total`


@dataclass(frozen=True)
class CreditNotePreview:
    reason: str
    issued_on: date
    lines: tuple[LinePreview, ...]
    total: Money
    number: str = field(default="", compare=False)
    to_balance: Money | None = None  # what joins the credit balance
    taken_off: Money | None = None  # what comes off what is left to pay on the open invoice it corrects
    invoice_number: str = ""


@dataclass(frozen=True)
class RefundPreview:
    invoice_number: str
    amount: Money
    on: date


@dataclass(frozen=True)
class PaymentPreview:
    invoice_number: str
    amount: Money
    on: date
    method: str


@dataclass(frozen=True)
class InvoiceChange:
    """An issued invoice of the account whose status or amount left to pay the change moves."""

    number: str
    total: Money
    status_before: str
    status_after: str
    left_before: Money
    left_after: Money


@dataclass(frozen=True)
class Seats:
    """Seats in use and paid seats of the account's live subscription, if any."""

    in_use: int
    paid: int | None
    status: str | None
    seat_removal: str | None = None
    period: Period | None = None
    seat_add_billing: str | None = None
    minimum_invoice: Money | None = None

    @property
    def period_end(self) -> date | None:
        return self.period.end if self.period is not None else None


@dataclass
class Preview:
    """What a service call would write; `refused` is the message if the rules say no."""

    invoices: list[InvoicePreview] = field(default_factory=list)
    waiting: list[LinePreview] = field(default_factory=list)
    credit_notes: list[CreditNotePreview] = field(default_factory=list)
    refunds: list[RefundPreview] = field(default_factory=list)
    payments: list[PaymentPreview] = field(default_factory=list)
    changed_invoices: list[InvoiceChange] = field(default_factory=list)
    locked_before: bool = False
    locked_after: bool = False
    seats_before: Seats | None = None
    seats_after: Seats | None = None
    refused: str = ""
    refused_field: str | None = None
    value: object = field(default=None, compare=False, repr=False)  # what the service returned (confirm only)

    @property
    def is_free(self) -> bool:
        return not (self.invoices or self.waiting or self.credit_notes or self.refunds or self.payments)

    def fingerprint(self) -> str:
        """Identifies what the preview shows; the confirmation must produce the same."""
        text = repr(
            (
                self.invoices,
                self.waiting,
                self.credit_notes,
                self.refunds,
                self.payments,
                self.changed_invoices,
                self.refused,
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()[:24]


class _Rollback(Exception):
    def __init__(self, preview):
        self.preview = preview


def _line(line, locale: str, bill_on: date | None = None) -> LinePreview:
    return LinePreview(
        description=line.description,
        explanation=line_explain(line, locale),
        kind=getattr(line, "kind", "credit"),
        quantity=line.quantity,
        amount=line.amount,
        bill_on=bill_on,
    )


def invoice_preview(invoice: Invoice, locale: str = "en_US", lines=None) -> InvoicePreview:
    """An issued invoice as the same dataclass a preview shows, to compare the two; `lines` when already read."""
    lines = invoice.lines.all() if lines is None else lines
    return InvoicePreview(
        reason=invoice.get_reason_display(),
        issued_on=invoice.issued_on,
        due_on=invoice.due_on,
        lines=tuple(_line(x, locale) for x in sorted(lines, key=lambda x: (x.position, x.pk))),
        subtotal=invoice.subtotal,
        discount=invoice.discount,
        discount_label=invoice.discount_label,
        tax=invoice.tax,
        total=invoice.total,
        credit_applied=invoice.credit_applied,
        amount_due=invoice.amount_due,
        status=invoice.status,
        number=invoice.number or "",
        tax_rate=invoice.tax_rate,
        tax_included=invoice.tax_included,
    )


def credit_note_preview(note: CreditNote, locale: str = "en_US") -> CreditNotePreview:
    to_balance = sum((entry.amount for entry in note.credit_entries.all()), zero(note.currency))
    return CreditNotePreview(
        reason=note.get_reason_display(),
        issued_on=note.issued_on,
        lines=tuple(_line(x, locale) for x in note.lines.all()),
        total=note.total,
        number=note.number or "",
        to_balance=to_balance,
        taken_off=note.total - to_balance,
        invoice_number=note.invoice.number if note.invoice_id else "",
    )


def _account_of(kwargs: dict):
    """The account a service call is about, to scope what is captured."""
    for key in ("account", "subscription", "membership", "invoice"):
        obj = kwargs.get(key)
        if obj is not None:
            return obj if key == "account" else obj.account
    for obj in kwargs.get("memberships") or ():
        return obj.account
    accounts = kwargs.get("accounts")
    if accounts is not None and len(accounts) == 1:
        return next(iter(accounts))
    return None


def _seats(sub, in_use: int, locked_on) -> tuple[Seats, bool]:
    """The account's seats and whether it is locked, from what `selectors.seat_state` read."""
    seats = Seats(
        in_use=in_use,
        paid=sub.paid_seats if sub else None,
        status=sub.status if sub else None,
        seat_removal=sub.plan.seat_removal if sub else None,
        period=subscription_period(sub) if sub else None,
        seat_add_billing=sub.plan.seat_add_billing(sub.cycle) if sub else None,
        minimum_invoice=sub.plan.minimum_invoice if sub else None,
    )
    return seats, locked_on is not None


_MARKED = (Invoice, InvoiceLine, CreditNote, Refund, Payment)


def _highest(model: type[models.Model]) -> str:
    """SQL for the highest id of `model`'s rows (table and column names from the model: no input)."""
    quote = connection.ops.quote_name
    return f"SELECT MAX({quote(model._meta.pk.column)}) FROM {quote(model._meta.db_table)}"  # noqa: S608


def _marks() -> dict:
    """The highest id of each kind of row a service may write, in one query: what is above is new."""
    columns = ", ".join(f"({_highest(m)})" for m in _MARKED)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns}")
        row = cursor.fetchone()
    return {model: mark or 0 for model, mark in zip(_MARKED, row, strict=True)}


class _Opening(NamedTuple):
    marks: dict
    state: tuple  # the account's seats and whether it is locked (`_seats`)
    day: date | None  # `next_billing_day` of the subscription asked about
    owes: bool  # whether the account has an open invoice (`_owed` has something to read)
    ahead: tuple | None = None  # the next billing day of the live subscription and the account's first waiting day


def _opening(account, subscription: Subscription | None = None, *, ahead: bool = False) -> _Opening:
    """`_marks()`, the account's seats and lock, `next_billing_day(subscription)` if given, and whether it has
    an open invoice: in one query when the account has a live subscription (all ride along
    `selectors.seat_state`), else in two or three. With `ahead`, also what `_bill_next` starts from."""
    if account is None:
        day = next_billing_day(subscription) if subscription is not None else None
        return _Opening(_marks(), (None, False), day, owes=False)
    also = {
        f"mark_{i}": RawSQL(_highest(m), (), output_field=BigIntegerField())  # noqa: S611 (no input)
        for i, m in enumerate(_MARKED)
    }
    also["owes"] = Exists(Invoice.objects.filter(account=OuterRef("account_id"), status=Invoice.Status.OPEN))
    waiting = InvoiceLine.objects.filter(invoice__isnull=True).order_by("bill_on").values("bill_on")
    if subscription is not None:
        also["first_waiting"] = Subquery(waiting.filter(subscription=subscription.pk)[:1])
    if ahead:
        also["own_waiting"] = Subquery(waiting.filter(subscription=OuterRef("pk"))[:1])
        also["any_waiting"] = Subquery(waiting.filter(subscription__account=OuterRef("account_id"))[:1])
    sub, in_use, locked_on = seat_state(account, also=also)
    if sub is None:
        marks, owes = _marks(), True
    else:
        marks, owes = {model: getattr(sub, f"mark_{i}") or 0 for i, model in enumerate(_MARKED)}, sub.owes
    day = None
    if subscription is not None:
        first = sub.first_waiting if sub is not None else _first_waiting(subscription)
        day = _billing_day(subscription, first)
    # The live subscription is the newest one (one live at most, and none is bought beside it, SPEC §2.1):
    # none live, nothing more is billed.
    next_days = (_billing_day(sub, sub.own_waiting), sub.any_waiting) if ahead and sub is not None else None
    return _Opening(marks, _seats(sub, in_use, locked_on), day, owes, next_days)


def _issued(marks: dict, account, locale: str) -> Preview:
    """The invoices of `account` written since `marks`, and nothing else: a next invoice, as a page shows it."""
    invoices = Invoice.objects.filter(pk__gt=marks[Invoice], account=account).prefetch_related("lines")
    return Preview(invoices=[invoice_preview(inv, locale) for inv in invoices.order_by("issued_on", "pk")])


def _owed(account) -> dict:
    """The account's open invoices: number → (status, total, left to pay), to see what a change settles."""
    if account is None:
        return {}
    invoices = Invoice.objects.filter(account=account, status=Invoice.Status.OPEN)
    return {inv.pk: (inv.number, inv.status, inv.total, invoice_outstanding(inv)) for inv in invoices}


def _invoice_changes(owed: dict) -> list[InvoiceChange]:
    changes = []
    for inv in Invoice.objects.filter(pk__in=owed).order_by("issued_on", "pk"):
        number, status, total, left = owed[inv.pk]
        left_after = invoice_outstanding(inv) if inv.status == Invoice.Status.OPEN else zero(inv.currency)
        if (inv.status, left_after) != (status, left):
            changes.append(InvoiceChange(number, total, status, inv.status, left, left_after))
    return changes


def _capture(marks: dict, account, locale: str, now: _Opening | None = None) -> Preview:
    """What was written since `marks`. The marks again say which kinds of row are new: only those are read.

    The marks again and the seats after are one query (`_opening`; `now` when the caller has read it).
    """
    now = now or _opening(account)
    seats_after, locked_after = now.state
    new = {model for model, mark in now.marks.items() if mark > marks[model]}
    scope = {"account": account} if account is not None else {}
    invoices, lines, notes, refunds, payments = [], [], [], [], []
    if Invoice in new:
        invoices = list(Invoice.objects.filter(pk__gt=marks[Invoice], **scope).order_by("issued_on", "pk"))
    if invoices or InvoiceLine in new:
        # The new invoices' lines (some waited from before the marks) and the new waiting lines, in one query.
        waiting = Q(pk__gt=marks[InvoiceLine], invoice__isnull=True)
        if account is not None:
            waiting &= Q(subscription__account=account)
        lines = list(
            InvoiceLine.objects.filter(Q(invoice__in=[inv.pk for inv in invoices]) | waiting).order_by("bill_on", "pk")
        )
    if CreditNote in new:
        notes = (
            CreditNote.objects.filter(pk__gt=marks[CreditNote], **scope)
            .select_related("invoice")
            .prefetch_related("lines", "credit_entries")
            .order_by("issued_on", "pk")
        )
    if Refund in new:
        refunds = Refund.objects.filter(pk__gt=marks[Refund]).select_related("invoice").order_by("pk")
        refunds = refunds.filter(invoice__account=account) if account is not None else refunds
    if Payment in new:
        payments = Payment.objects.filter(pk__gt=marks[Payment]).select_related("invoice").order_by("pk")
        payments = payments.filter(invoice__account=account) if account is not None else payments
    by_invoice = defaultdict(list)
    for line in lines:
        by_invoice[line.invoice_id].append(line)
    return Preview(
        invoices=[invoice_preview(inv, locale, lines=by_invoice[inv.pk]) for inv in invoices],
        waiting=[_line(w, locale, bill_on=w.bill_on) for w in by_invoice[None]],
        credit_notes=[credit_note_preview(n, locale) for n in notes],
        refunds=[RefundPreview(r.invoice.number or "", r.amount, r.on) for r in refunds],
        payments=[PaymentPreview(p.invoice.number or "", p.amount, p.on, p.get_method_display()) for p in payments],
        seats_after=seats_after,
        locked_after=locked_after,
    )


def _detached(kwargs: dict) -> dict:
    """Copies of the model instances passed in, so a rolled-back run leaves the caller's objects as they were."""

    def copy_of(value):
        if isinstance(value, models.Model):
            return copy.copy(value)
        if isinstance(value, list | tuple) and value and all(isinstance(v, models.Model) for v in value):
            return [copy.copy(v) for v in value]
        return value

    return {key: copy_of(value) for key, value in kwargs.items()}


def _locale(account) -> str:
    """The locale of the page asking (common.locales.page_locale): the explanations are in its language too."""
    return page_locale(account)


def preview(service: Callable, /, **kwargs) -> Preview:
    """Run `service(**kwargs)`, capture what it wrote, and roll it all back."""
    return _preview(service, kwargs)


def _preview(service: Callable, kwargs: dict, *, settled: bool = True, on_next_of=None) -> Preview:
    """`preview`; without `settled`, only the documents written and the seats after, two queries less.

    (No seats or lock before, no `changed_invoices`: what a page that shows only the documents needs.)
    With `on_next_of` (a subscription), the service runs with `on=next_billing_day(on_next_of)`, read
    with the marks (one query less).
    """
    account = _account_of(kwargs)
    locale = _locale(account)
    try:
        with dry_run(), transaction.atomic():
            opening = _opening(account, on_next_of)
            if on_next_of is not None:
                kwargs = {**kwargs, "on": opening.day}
            before = opening.state if settled else (None, False)
            try:
                result, _now = _run(service, _detached(kwargs), account, locale, opening=opening._replace(state=before))
            except Refused as refused:  # the service's own transaction is rolled back: the seats are as before
                raise _Rollback(Preview(refused=str(refused), refused_field=refused.field, seats_before=before[0]))
            raise _Rollback(result)
    except _Rollback as rollback:
        return rollback.preview


def _run(
    service: Callable,
    kwargs: dict,
    account,
    locale: str,
    opening: _Opening | None = None,
    settled: bool = True,
    ahead: bool = False,
) -> tuple[Preview, _Opening]:
    """`service(**kwargs)` in the current transaction, and what it wrote and (if `settled`) settled.

    `opening` is the account's `_opening` when the caller has read it already. Returns the preview and
    the `_opening` read after the service (with `ahead`, what `_bill_next` starts from).
    """
    marks, (seats, locked), _day, owes, _ahead = opening or _opening(account)
    owed = _owed(account) if settled and owes else {}
    value = service(**kwargs)
    now = _opening(account, ahead=ahead)
    result = _capture(marks, account, locale, now)
    result.seats_before, result.locked_before, result.value = seats, locked, value
    result.changed_invoices = _invoice_changes(owed)
    return result, now


def confirm(service: Callable, /, *, expected: str, **kwargs) -> tuple[bool, Preview]:
    """Run `service(**kwargs)` for real if it writes exactly what the preview with fingerprint `expected` showed.

    Returns (done, what it wrote). When something changed since the preview
    (another change, a new day), nothing is kept and the new preview comes back
    with done=False, to be shown and confirmed again. A Refused propagates.
    """
    account = _account_of(kwargs)
    locale = _locale(account)
    try:
        with transaction.atomic():
            result, _now = _run(service, kwargs, account, locale)
            if result.fingerprint() != expected:
                raise _Rollback(result)
    except _Rollback as rollback:
        return False, rollback.preview
    return True, result


def next_billing_day(subscription: Subscription) -> date:
    """The day the daily run next issues something: the period end, or earlier waiting lines' day."""
    return _billing_day(subscription, _first_waiting(subscription))


def _first_waiting(subscription: Subscription) -> date | None:
    return InvoiceLine.objects.filter(subscription=subscription, invoice__isnull=True).aggregate(d=Min("bill_on"))["d"]


def _billing_day(subscription: Subscription, first_waiting: date | None) -> date:
    return min(d for d in (subscription.period_end, first_waiting) if d is not None)


def next_invoice_preview(
    subscription: Subscription, *, on: date | None = None, documents_only: bool = False
) -> Preview:
    """What the daily `billing_run` will issue on the next billing day (renewal, true-up, trial end).

    `on` is that day (`next_billing_day`) when the caller knows it already. With `documents_only`, the
    preview leaves out what the run settles and the lock before (see `_preview`): for pages that show
    only the invoice.
    """
    from subscriptions.services import billing_run

    run = _issuing_run if documents_only else billing_run
    kwargs = {"on": on, "accounts": [subscription.account]}
    return _preview(run, kwargs, settled=not documents_only, on_next_of=subscription if on is None else None)


def _issuing_run(*, on: date, accounts) -> None:
    """The daily run's part that issues documents (`renewals_run`: renewals, trial ends, expiries, waiting
    lines due, the VIES checks before them), for a preview that shows only what is issued that day.

    What `billing_run` does after it — card retries, dunning, the safety sweep — writes no invoice, line,
    credit note, refund or payment in a dry run (dunning moves a status and a lock only; nothing the daily
    run issues depends on either), so a preview of documents leaves it out (issue 15).
    """
    from subscriptions.services import renewals_run

    renewals_run(on=on, accounts=accounts)


def preview_through(service: Callable, /, *, until: date, **kwargs) -> Preview:
    """`service(**kwargs)` and then the daily run of `until`, all rolled back; the invoices of `until`.

    What a change that waits for a later day (a downgrade scheduled for the period end, SPEC §2.4)
    brings on that day: the renewal on the new plan, as the real run would issue it. Lines waiting
    for an earlier day (a true-up, a held seat charge) are billed on their own day first, as the
    real runs would, so they never show on the later invoice.
    """
    from subscriptions.services import billing_run

    account = _account_of(kwargs)

    def change_then_run(**detached):
        service(**detached)
        earlier = None
        while (earlier := _first_waiting_day(account, after=earlier, before=until)) is not None:
            billing_run(on=earlier, accounts=[account])
        billing_run(on=until, accounts=[account])

    result = preview(change_then_run, **kwargs)
    result.invoices = [inv for inv in result.invoices if inv.issued_on >= until]
    return result


def _bill_next(account, ahead: tuple | None) -> date | None:
    """The daily runs up to the account's next billing day, as they would issue its documents; that day
    (None: nothing more). Only what the runs issue is shown: `_issuing_run`.

    `ahead` is `_opening(account, ahead=True).ahead`: the next billing day and the first waiting day.
    """
    if ahead is None:
        return None
    billed_on, first = ahead
    earlier = first if first is not None and first < billed_on else None
    while earlier is not None:
        _issuing_run(on=earlier, accounts=[account])
        earlier = _first_waiting_day(account, after=earlier, before=billed_on)
    _issuing_run(on=billed_on, accounts=[account])
    return billed_on


def _from(result: Preview, billed_on: date | None) -> Preview:
    """`result` with only the invoices of `billed_on` and later: those of the next billing day."""
    if billed_on is not None:
        result.invoices = [inv for inv in result.invoices if inv.issued_on >= billed_on]
    return result


def preview_next_invoice_after(service: Callable, /, **kwargs) -> tuple[Preview, date | None]:
    """`service(**kwargs)`, then the subscription's next billing day as the daily run would bill it.

    Returns the invoices of that day and the day (None when nothing is billed any more), all rolled
    back: what a change does to the next invoice.
    """
    account = _account_of(kwargs)
    billed_on = None

    def change_then_next(**detached):
        nonlocal billed_on
        service(**detached)
        billed_on = _bill_next(account, _opening(account, ahead=True).ahead)

    result = preview(change_then_next, **kwargs)
    return _from(result, billed_on), billed_on


def preview_with_next_invoice(service: Callable, /, **kwargs) -> tuple[Preview, Preview, date | None]:
    """`preview(service, **kwargs)` and `preview_next_invoice_after(service, **kwargs)` from one dry run.

    The service runs once: what it writes is captured, then the daily runs carry on to the next
    billing day in the same rolled-back transaction. A page that shows both costs one run, not two.
    """
    result, _before, after = preview_with_next_invoices(service, before=False, **kwargs)
    return result, *after


def preview_with_next_invoices(
    service: Callable, /, *, before: bool = True, **kwargs
) -> tuple[Preview, tuple[Preview, date] | None, tuple[Preview, date | None]]:
    """`preview_with_next_invoice`, and with `before` the next invoice without the change, from one dry run.

    Returns (what the service writes, (the next invoice without the change, its day), (the next invoice
    after the change, its day)). The next invoice without the change is `next_invoice_preview(subscription,
    documents_only=True)` of the `subscription` passed in (None without one, or when it has expired): its
    daily run runs first, set aside (`common.dryrun.aside`), and the service then runs on the account as
    it is. The two next invoices show their documents only (no seats, lock or settled invoices).
    """
    account = _account_of(kwargs)
    locale = _locale(account)
    sub = kwargs.get("subscription")
    try:
        with dry_run(), transaction.atomic():
            without = None
            ahead = before and sub is not None and not sub.is_expired
            opening = _opening(account, sub if ahead else None)
            marks, state, on = opening.marks, opening.state, opening.day
            if ahead:
                with aside():
                    try:
                        _issuing_run(on=on, accounts=[sub.account])
                        without = (_issued(marks, sub.account, locale), on)
                    except Refused as refused:
                        without = (Preview(refused=str(refused), refused_field=refused.field), on)
            try:
                result, now = _run(service, _detached(kwargs), account, locale, opening=opening, ahead=True)
            except Refused as refused:
                no = Preview(refused=str(refused), refused_field=refused.field, seats_before=state[0])
                raise _Rollback((no, without, (no, None)))
            try:
                billed_on = _bill_next(account, now.ahead)
            except Refused as refused:
                raise _Rollback((result, without, (Preview(refused=str(refused), refused_field=refused.field), None)))
            after = _from(_issued(marks, account, locale), billed_on)
            raise _Rollback((result, without, (after, billed_on)))
    except _Rollback as rollback:
        return rollback.preview


def _first_waiting_day(account, *, after: date | None, before: date) -> date | None:
    """The first day after `after` and before `before` on which a waiting line of the account is billed."""
    lines = InvoiceLine.objects.filter(subscription__account=account, invoice__isnull=True, bill_on__lt=before)
    if after is not None:
        lines = lines.filter(bill_on__gt=after)
    return lines.aggregate(d=Min("bill_on"))["d"]


# ---------------------------------------------------------------- in words


def _seats_word(n: int) -> str:
    return ngettext("%(n)s seat", "%(n)s seats", n) % {"n": n}


def cost_impact(result: Preview, locale: str = "en_US") -> list[str]:
    """A seat change in words: “+1 seat: $3.50 invoiced now”, “fills a free seat: no charge” …

    In the active language: the page asking is in the reader's.
    """
    if result.refused:
        return [result.refused]
    before, after = result.seats_before, result.seats_after
    words = []
    if before is None or after is None or before.status is None:
        return [_("No subscription yet: no charge.")]
    added = (after.paid or 0) - (before.paid or 0)
    gained = after.in_use - before.in_use
    for inv in result.invoices:
        said = {"seats": _signed(added), "total": money(inv.total, locale), "due": money(inv.amount_due, locale)}
        if inv.amount_due.amount:
            words.append(_("%(seats)s: %(total)s invoiced now (%(due)s due now).") % said)
        else:
            words.append(_("%(seats)s: %(total)s invoiced now (nothing due (paid from credit)).") % said)
    held = after.seat_add_billing == SeatAddBilling.INVOICE_NOW and after.minimum_invoice is not None
    for line in result.waiting:
        said = {"seats": _signed(line.quantity), "amount": money(line.amount, locale)}
        if line.bill_on:
            said["day"] = day(line.bill_on, locale)
        if held:  # under `minimum_invoice` (SPEC §2.4)
            said["minimum"] = money(after.minimum_invoice, locale)
            held_words = (
                _(
                    "%(seats)s: %(amount)s — added to your next invoice on %(day)s, as invoices under %(minimum)s "
                    "are not issued on their own."
                )
                if line.bill_on
                else _(
                    "%(seats)s: %(amount)s — added to your next invoice, as invoices under %(minimum)s "
                    "are not issued on their own."
                )
            )
            words.append(held_words % said)
            continue
        if line.bill_on:
            words.append(_("%(seats)s: added to your next invoice on %(day)s: %(amount)s.") % said)
        else:
            words.append(_("%(seats)s: added to your next invoice: %(amount)s.") % said)
    for note in result.credit_notes:
        said = {"seats": _signed(added), "total": money(note.total, locale)}
        words.append(_("%(seats)s: %(total)s credit, by a credit note issued today.") % said)
    if words:
        return words
    if before.status == Subscription.Status.TRIALING:
        return [_("%(seats)s during the trial: no charge.") % {"seats": _signed(gained)}]
    if gained > 0 and added == 0:
        return [ngettext("Fills a free seat: no charge.", "Fills %(n)s free seats: no charge.", gained) % {"n": gained}]
    if gained < 0 and after.seat_removal == SeatRemoval.KEEP_UNTIL_RENEWAL:
        said = {"seats": _signed(gained), "until": day(after.period.last_day, locale)}
        return [
            ngettext(
                "%(seats)s: no credit. The freed seat stays paid until %(until)s and can be refilled at no charge.",
                "%(seats)s: no credit. The freed seats stay paid until %(until)s and can be refilled at no charge.",
                -gained,
            )
            % said
        ]
    return [_("No change to what you pay.")]


def _signed(n: int) -> str:
    return f"+{_seats_word(n)}" if n > 0 else f"−{_seats_word(-n)}"
