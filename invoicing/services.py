"""Issuing, paying and correcting invoices (SPEC §2.2, §2.6).

Amounts come from the pure core (`billing.plan.invoice_totals`);
these services write them, number them and keep the credit ledger.
"""

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F
from django.utils import timezone
from djmoney.models.fields import CurrencyField, MoneyField
from moneyed import Money

from accounts.models import Account
from billing import plan as core
from billing.calendar import Period
from billing.proration import zero
from common.errors import Refused
from invoicing import gateways
from invoicing.frozen import refuse_frozen_create
from invoicing.models import (
    CreditEntry,
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    NumberSeries,
    Payment,
    Refund,
)
from invoicing.selectors import credit_balance, credit_balances, invoice_outstanding

INVOICE_SERIES = "INV"
CREDIT_NOTE_SERIES = "CN"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SeriesFormat:
    prefix: str
    padding: int = 6
    yearly_reset: bool = True


def series_format(prefix: str) -> SeriesFormat:
    """settings.NUMBER_SERIES may give a series another printed prefix, padding or no yearly reset."""
    custom = getattr(settings, "NUMBER_SERIES", {}).get(prefix, {})
    return SeriesFormat(**{"prefix": prefix, **custom})


def number_allocate(*, prefix: str, on: date) -> str:
    """The next number of a series, gapless: the counter row is locked until the caller commits."""
    return numbers_allocate(prefix=prefix, on=on, count=1)[0]


def numbers_allocate(*, prefix: str, on: date, count: int) -> list[str]:
    """The next `count` numbers of a series in one step, gapless, like `number_allocate`."""
    fmt = series_format(prefix)
    year = on.year if fmt.yearly_reset else 0
    series, _ = NumberSeries.objects.get_or_create(prefix=prefix, year=year)
    NumberSeries.objects.filter(pk=series.pk).select_for_update().update(last_value=F("last_value") + count)
    last = NumberSeries.objects.values_list("last_value", flat=True).get(pk=series.pk)
    middle = f"{year}-" if fmt.yearly_reset else ""
    return [f"{fmt.prefix}-{middle}{value:0{fmt.padding}d}" for value in range(last - count + 1, last + 1)]


def buyer_snapshot(account: Account) -> dict:
    return {
        "name": account.legal_name or account.name,
        "address": account.address,
        "country": account.country,
        "tax_id": account.tax_id,
        "email": account.billing_email,
        "locale": account.locale,
    }


def line_from_core(line: core.Line, **extra) -> InvoiceLine:
    return InvoiceLine(
        kind=line.kind,
        description=line.description,
        period_start=line.period.start,
        period_end=line.period.end,
        quantity=line.quantity,
        unit_price=line.unit_price,
        days=line.days,
        period_days=line.period_days,
        amount=line.amount,
        **extra,
    )


def line_to_core(line: InvoiceLine) -> core.Line:
    return core.Line(
        kind=line.kind,
        description=line.description,
        period=Period(line.period_start, line.period_end),
        quantity=line.quantity,
        unit_price=line.unit_price,
        amount=line.amount,
        days=line.days,
        period_days=line.period_days,
    )


def _due_on(account: Account, on: date) -> date:
    if account.payment_gateway == Account.Gateway.BANK_TRANSFER:
        return on + timedelta(days=settings.BANK_TRANSFER_PAYMENT_TERMS_DAYS)
    return on


@transaction.atomic
def invoice_issue(
    *,
    account: Account,
    subscription,
    reason: str,
    on: date,
    lines: list[core.Line],
    waiting: list[InvoiceLine] = (),
    discounts: list[core.Discount] = (),
    billing_key: str | None = None,
) -> Invoice | None:
    """Write and finalise an invoice of new `lines` plus `waiting` lines (SPEC §2.2, §2.6).

    Lines of zero amount are not written; an invoice with no lines is not issued.
    """
    lines = [line for line in lines if line is not None and line.amount.amount != 0]
    waiting = list(waiting)
    if not lines and not waiting:
        return None
    currency = account.currency
    Account.objects.select_for_update().filter(pk=account.pk).first()
    all_core = lines + [line_to_core(w) for w in waiting]
    totals = core.invoice_totals(
        lines=all_core,
        currency=currency,
        discounts=list(discounts),
        tax_rate=account.tax_rate,
        credit_balance=credit_balance(account),
    )
    invoice = Invoice.objects.create(
        account=account,
        subscription=subscription,
        reason=reason,
        billing_key=billing_key,
        currency=currency,
        issued_on=on,
        due_on=_due_on(account, on),
        tax_rate=account.tax_rate,
        subtotal=totals.subtotal,
        discount=totals.discount,
        discount_label=", ".join(d.label for d in discounts) if totals.discount.amount else "",
        tax=totals.tax,
        total=totals.total,
        credit_applied=totals.credit_applied,
        amount_due=totals.amount_due,
        amount_paid=zero(currency),
    )
    position = 0
    for w in waiting:
        position += 1
        w.invoice, w.position = invoice, position
    if waiting:
        InvoiceLine.objects.bulk_update(waiting, ["invoice", "position"])
    InvoiceLine.objects.bulk_create(
        [
            line_from_core(
                line,
                invoice=invoice,
                subscription=subscription,
                position=position + i + 1,
            )
            for i, line in enumerate(lines)
        ]
    )
    invoice_finalize(invoice=invoice, totals=totals)
    return invoice


def invoice_finalize(*, invoice: Invoice, totals: core.Totals) -> Invoice:
    """Draft → open: number, buyer snapshot, credit ledger; paid at once when nothing is due."""
    invoice.number = number_allocate(prefix=INVOICE_SERIES, on=invoice.issued_on)
    invoice.buyer = buyer_snapshot(invoice.account)
    invoice.status = Invoice.Status.OPEN
    for entry in _credit_entries(invoice, totals):
        entry.save()
    if invoice.amount_due.amount == 0:
        invoice.status = Invoice.Status.PAID
        invoice.paid_on = invoice.issued_on
    invoice.save(update_fields=["number", "buyer", "status", "paid_on"])
    document_queue(invoice)
    if invoice.status == Invoice.Status.OPEN:
        gateways.collect_on_commit(invoice)  # e.g. a card charge, only once this transaction commits
    return invoice


def _credit_entries(invoice: Invoice, totals: core.Totals) -> list[CreditEntry]:
    """The ledger entries of a finalised invoice: credit it used, or credit its negative total adds."""
    entries = []
    if totals.credit_applied.amount:
        entries.append(
            CreditEntry(
                account=invoice.account,
                amount=-totals.credit_applied,
                on=invoice.issued_on,
                memo=f"Applied to {invoice.number}",
                invoice=invoice,
            )
        )
    if totals.credit_added.amount:
        entries.append(
            CreditEntry(
                account=invoice.account,
                amount=totals.credit_added,
                on=invoice.issued_on,
                memo=f"Credit from {invoice.number}",
                invoice=invoice,
            )
        )
    return entries


def _attach_waiting(lines: list[InvoiceLine]) -> None:
    """Put waiting lines on their (draft) invoices in one statement.

    `bulk_update` would build a CASE per line and cost more than the invoices themselves;
    `invoice_id IS NULL` keeps to lines that are still waiting, as the frozen guard asks.
    """
    if not lines:
        return
    table = connection.ops.quote_name(InvoiceLine._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET invoice_id = %s, position = %s WHERE id = %s AND invoice_id IS NULL",  # noqa: S608
            [(line.invoice_id, line.position, line.pk) for line in lines],
        )


# Fields whose database value is the instance's own value: bulk_create's per-value preparation
# (pre_save, get_db_prep_save) returns it unchanged, so `rows_insert` reads it directly.
_PLAIN_FIELDS = (
    models.BooleanField,
    models.CharField,
    models.DateField,
    models.DateTimeField,
    models.DecimalField,
    models.IntegerField,
    models.PositiveIntegerField,
    models.TextField,
    CurrencyField,
)


def _column_reader(field: models.Field):
    """The function giving `field`'s database value of an unsaved instance, as `bulk_create` writes it."""
    automatic = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    if (type(field) in _PLAIN_FIELDS and not automatic) or isinstance(field, models.ForeignKey):
        return lambda obj, name=field.attname: obj.__dict__[name]
    if type(field) is MoneyField:
        return lambda obj, name=field.attname: getattr(obj.__dict__[name], "amount", obj.__dict__[name])
    return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), connection)


_columns: dict[type[models.Model], list[tuple[str, object]]] = {}


def _columns_of(model: type[models.Model]) -> list[tuple[str, object]]:
    if model not in _columns:
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        _columns[model] = [(f.column, _column_reader(f)) for f in fields]
    return _columns[model]


def rows_insert(objs: list[models.Model]) -> None:
    """`bulk_create(objs)` for the daily run: the same rows (and no signals), each object given its id.

    On PostgreSQL the ids are taken from the table's sequence in one statement and the rows
    written with COPY, in the caller's transaction; `bulk_create`'s per-value preparation
    costs more than the insert itself. Elsewhere, `bulk_create`.
    """
    if not objs:
        return
    model = type(objs[0])
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs)
        return
    refuse_frozen_create(objs)  # the guard DocumentQuerySet.bulk_create applies
    meta, quote = model._meta, connection.ops.quote_name
    columns = _columns_of(model)
    names = ", ".join(quote(c) for c in [meta.pk.column] + [c for c, _ in columns])
    readers = [read for _, read in columns]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [quote(meta.db_table), meta.pk.column, len(objs)],
        )
        ids = sorted(pk for (pk,) in cursor.fetchall())
        with cursor.copy(f"COPY {quote(meta.db_table)} ({names}) FROM STDIN") as copy:
            for obj, pk in zip(objs, ids, strict=True):
                copy.write_row([pk] + [read(obj) for read in readers])
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, connection.alias


@dataclass
class InvoiceDraft:
    """One invoice for `invoice_issue_many`: the arguments `invoice_issue` takes."""

    account: Account
    subscription: object
    reason: str
    on: date
    lines: list[core.Line]
    waiting: list[InvoiceLine] = field(default_factory=list)
    discounts: list[core.Discount] = field(default_factory=list)
    billing_key: str | None = None


@transaction.atomic
def invoice_issue_many(*, drafts: list[InvoiceDraft]) -> list[Invoice | None]:
    """`invoice_issue` for many invoices at once, for the daily run (SPEC §2.2, §2.6).

    The same lines, totals, numbers, ledger entries and after-commit delivery as one
    `invoice_issue` per draft, in draft order, written with a few statements per batch.
    Returns the invoice of each draft, or None where it had no lines. No creation row is
    written to the invoices' history (it would copy the row itself, and cost more than
    the invoice); every later change is recorded as usual.
    """
    live = []
    for d in drafts:
        lines = [line for line in d.lines if line is not None and line.amount.amount != 0]
        live.append((d, lines) if lines or d.waiting else None)
    todo = [x for x in live if x is not None]
    if not todo:
        return [None] * len(drafts)
    accounts = {d.account.pk: d.account for d, _ in todo}
    list(Account.objects.select_for_update().filter(pk__in=sorted(accounts)).order_by("pk").values_list("pk"))
    balances = credit_balances(accounts.values())
    invoices, all_totals = [], []
    for d, lines in todo:
        account, currency = d.account, d.account.currency
        totals = core.invoice_totals(
            lines=lines + [line_to_core(w) for w in d.waiting],
            currency=currency,
            discounts=list(d.discounts),
            tax_rate=account.tax_rate,
            credit_balance=balances[account.pk],
        )
        balances[account.pk] = balances[account.pk] - totals.credit_applied + totals.credit_added
        paid = totals.amount_due.amount == 0
        invoices.append(
            Invoice(
                account=account,
                subscription=d.subscription,
                reason=d.reason,
                billing_key=d.billing_key,
                currency=currency,
                issued_on=d.on,
                due_on=_due_on(account, d.on),
                tax_rate=account.tax_rate,
                subtotal=totals.subtotal,
                discount=totals.discount,
                discount_label=", ".join(x.label for x in d.discounts) if totals.discount.amount else "",
                tax=totals.tax,
                total=totals.total,
                credit_applied=totals.credit_applied,
                amount_due=totals.amount_due,
                amount_paid=zero(currency),
                buyer=buyer_snapshot(account),
                paid_on=d.on if paid else None,
            )
        )
        all_totals.append(totals)
    by_year: dict[int, list[Invoice]] = {}
    for inv in invoices:
        by_year.setdefault(inv.issued_on.year, []).append(inv)
    for group in by_year.values():
        for inv, number in zip(
            group, numbers_allocate(prefix=INVOICE_SERIES, on=group[0].issued_on, count=len(group)), strict=True
        ):
            inv.number = number
    # Written as drafts, so their lines can be added; then opened (or paid) in one statement each.
    rows_insert(invoices)
    waiting, new_lines, entries = [], [], []
    for inv, (d, lines), totals in zip(invoices, todo, all_totals, strict=True):
        for position, w in enumerate(d.waiting, start=1):
            w.invoice, w.position = inv, position
            waiting.append(w)
        new_lines += [
            line_from_core(line, invoice=inv, subscription=d.subscription, position=len(d.waiting) + i + 1)
            for i, line in enumerate(lines)
        ]
        entries += _credit_entries(inv, totals)
    _attach_waiting(waiting)
    rows_insert(new_lines)
    rows_insert(entries)
    for status in (Invoice.Status.OPEN, Invoice.Status.PAID):
        chosen = [inv for inv in invoices if (inv.paid_on is not None) == (status == Invoice.Status.PAID)]
        Invoice.objects.filter(pk__in=[inv.pk for inv in chosen]).update(status=status)
        for inv in chosen:
            inv.status = status
    for inv in invoices:
        document_queue(inv)
        # Bank transfer collects nothing (gateways.bank_transfer); other gateways charge after commit.
        if inv.status == Invoice.Status.OPEN and gateways.gateway_for(inv.account).code != "bank_transfer":
            gateways.collect_on_commit(inv)
    issued = iter(invoices)
    return [next(issued) if x is not None else None for x in live]


@transaction.atomic
def credit_note_issue(
    *,
    account: Account,
    reason: str,
    on: date,
    lines: list[core.Line],
    subscription=None,
    invoice: Invoice | None = None,
    memo: str = "",
    by=None,
    corrects: list[InvoiceLine | None] = (),
) -> CreditNote | None:
    """A numbered credit note; its total (positive) goes to the credit balance (SPEC §2.3).

    `corrects` names, line by line, the invoice line each credit line corrects (SPEC §2.6).
    """
    pairs = [
        (line, ref)
        for line, ref in zip(lines, list(corrects) or [None] * len(lines), strict=True)
        if line is not None and line.amount.amount != 0
    ]
    lines = [line for line, _ in pairs]
    if not lines:
        return None
    currency = account.currency
    total = -sum((line.amount for line in lines), zero(currency))
    if total.amount <= 0:
        raise Refused("A credit note must credit a positive amount.")
    note = CreditNote.objects.create(
        account=account,
        subscription=subscription,
        invoice=invoice,
        reason=reason,
        memo=memo,
        currency=currency,
        issued_on=on,
        total=total,
        buyer=buyer_snapshot(account),
        created_by=by,
        number=number_allocate(prefix=CREDIT_NOTE_SERIES, on=on),
    )
    CreditNoteLine.objects.bulk_create(
        [
            CreditNoteLine(
                credit_note=note,
                description=line.description,
                period_start=line.period.start,
                period_end=line.period.end,
                quantity=line.quantity,
                unit_price=line.unit_price,
                days=line.days,
                period_days=line.period_days,
                amount=-line.amount,
                invoice_line=ref,
            )
            for line, ref in pairs
        ]
    )
    CreditEntry.objects.create(
        account=account,
        amount=total,
        on=on,
        memo=f"Credit note {note.number}",
        credit_note=note,
    )
    document_queue(note)
    return note


@transaction.atomic
def invoice_pay(
    *,
    invoice: Invoice,
    on: date,
    amount: Money | None = None,
    method: str = Payment.Method.BANK_TRANSFER,
    reference: str = "",
    gateway_id: str = "",
    by=None,
) -> Payment:
    """Record a payment; paid in full → paid, and the account unlocks at once (SPEC §2.5)."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != Invoice.Status.OPEN:
        raise Refused(f"{invoice.number} is {invoice.get_status_display().lower()}, not open.")
    outstanding = invoice_outstanding(invoice)
    amount = amount if amount is not None else outstanding
    if amount.currency.code != invoice.currency:
        raise Refused(
            f"{invoice.number} is in {invoice.currency}, not {amount.currency.code}.",
            field="amount",
        )
    if amount.amount <= 0:
        raise Refused("A payment must be a positive amount.", field="amount")
    payment = Payment.objects.create(
        invoice=invoice,
        amount=amount,
        on=on,
        method=method,
        reference=reference,
        gateway_id=gateway_id,
        recorded_by=by,
    )
    invoice.amount_paid += amount
    if invoice.amount_paid >= invoice.amount_due:
        invoice.status = Invoice.Status.PAID
        invoice.paid_on = on
        extra = invoice.amount_paid - invoice.amount_due
        if extra.amount > 0:
            CreditEntry.objects.create(
                account=invoice.account,
                amount=extra,
                on=on,
                memo=f"Overpayment of {invoice.number}",
                invoice=invoice,
            )
    invoice.save(update_fields=["amount_paid", "status", "paid_on"])
    from subscriptions.services import account_after_payment

    account_after_payment(account=invoice.account, on=on)
    return payment


@transaction.atomic
def invoice_net_paid(invoice: Invoice) -> Money:
    """What was paid on `invoice` and not refunded."""
    return invoice.amount_paid - sum((r.amount for r in invoice.refunds.all()), zero(invoice.currency))


def invoice_refund(*, invoice: Invoice, on: date, reason: str, by=None) -> Refund | None:
    """Refund what was paid on `invoice` and not yet refunded."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    amount = invoice_net_paid(invoice)
    if amount.amount <= 0:
        return None
    payment = invoice.payments.order_by("-on", "-id").first()
    refund = Refund.objects.create(
        invoice=invoice,
        payment=payment,
        amount=amount,
        on=on,
        reason=reason,
        created_by=by,
    )
    gateways.refund_on_commit(refund)  # card payments go back through Stripe after commit
    return refund


def _reverse_credit(invoice: Invoice, *, on: date, memo: str) -> None:
    """Give back the credit an invoice used (and take back any it added): the ledger nets to zero for it."""
    entries = list(CreditEntry.objects.filter(invoice=invoice))
    net = sum((e.amount for e in entries), zero(invoice.currency))
    if net.amount:
        CreditEntry.objects.create(account=invoice.account, amount=-net, on=on, memo=memo, invoice=invoice)


def _close_open(invoice: Invoice, *, status: str, on: date, verb: str, reason: str = "", by=None) -> Invoice:
    invoice = Invoice.objects.select_for_update().select_related("account").get(pk=invoice.pk)
    if invoice.status != Invoice.Status.OPEN:
        status = invoice.get_status_display().lower()
        raise Refused(f"{invoice.number} is {status}; only an open invoice can be {verb}.")
    if invoice_net_paid(invoice).amount:
        raise Refused(f"{invoice.number} is partly paid; refund or credit it instead.")
    invoice.status = status
    # The history says who closed it and why (issue 7); without a reason the admin's staff_reason applies.
    if reason.strip():
        invoice._change_reason = reason.strip()[:100]
    if by is not None:
        invoice._history_user = by
    invoice.save(update_fields=["status"])
    from subscriptions.services import account_after_payment

    account_after_payment(account=invoice.account, on=on)
    return invoice


@transaction.atomic
def invoice_void(*, invoice: Invoice, on: date, reason: str = "", by=None) -> Invoice:
    """Open → void: the invoice was issued by mistake. The credit it used goes back to the balance (SPEC §2.6)."""
    invoice = _close_open(invoice, status=Invoice.Status.VOID, on=on, verb="voided", reason=reason, by=by)
    _reverse_credit(invoice, on=on, memo=f"{invoice.number} voided")
    return invoice


@transaction.atomic
def invoice_mark_uncollectible(*, invoice: Invoice, on: date, reason: str = "", by=None) -> Invoice:
    """Open → uncollectible: written off; it no longer makes the account past due or locked (SPEC §2.6)."""
    return _close_open(
        invoice, status=Invoice.Status.UNCOLLECTIBLE, on=on, verb="marked uncollectible", reason=reason, by=by
    )


def _credit_core_line(*, description: str, amount: Money, on: date, period: Period | None = None) -> core.Line:
    period = period or Period(on, on + timedelta(days=1))
    return core.Line(core.CREDIT, description[:300], period, 1, -amount, -amount, period.days, period.days)


@transaction.atomic
def credit_grant(*, account: Account, amount: Money, reason: str, on: date, by=None) -> CreditNote:
    """Support grants credit: a numbered credit note of reason “grant” whose total joins the balance (SPEC §2.2)."""
    if not account.currency:
        raise Refused(f"{account.name} has no billing currency yet; it is set by the first subscription.")
    if amount.currency.code != account.currency:
        raise Refused(f"{account.name} is billed in {account.currency}, not {amount.currency.code}.", field="amount")
    if amount.amount <= 0:
        raise Refused("Credit must be a positive amount.", field="amount")
    if not reason.strip():
        raise Refused("Say why the credit is granted.", field="reason")
    line = _credit_core_line(description=f"Credit granted: {reason.strip()}", amount=amount, on=on)
    return credit_note_issue(
        account=account, reason=CreditNote.Reason.GRANT, on=on, lines=[line], memo=reason.strip()[:300], by=by
    )


def invoice_creditable(invoice: Invoice) -> Money:
    """What is left to credit on an invoice: its charges less the credit notes already issued against it."""
    credited = sum((n.total for n in invoice.credit_notes.all()), zero(invoice.currency))
    return max(invoice.total - credited, zero(invoice.currency))


@transaction.atomic
def invoice_credit(
    *,
    invoice: Invoice,
    on: date,
    reason: str,
    lines: list[InvoiceLine | tuple[InvoiceLine, Money]] = (),
    amount: Money | None = None,
    by=None,
) -> CreditNote:
    """Correct an issued invoice by a credit note for chosen lines or an amount (SPEC §2.6: never edit it).

    A line is credited in full, or by the amount given with it as `(line, amount)`; each credit-note
    line points at the invoice line it corrects, and no line is credited beyond its amount.
    """
    invoice = Invoice.objects.select_for_update().select_related("account").get(pk=invoice.pk)
    if invoice.status in (Invoice.Status.DRAFT, Invoice.Status.VOID):
        raise Refused(f"{invoice} is {invoice.get_status_display().lower()}; there is nothing to credit.")
    if not reason.strip():
        raise Refused("Say why the invoice is credited.", field="reason")
    if bool(lines) == (amount is not None):
        raise Refused("Choose lines or an amount to credit.", field="amount")
    corrects = []
    if amount is not None:
        if amount.currency.code != invoice.currency or amount.amount <= 0:
            raise Refused(f"Give a positive amount in {invoice.currency}.", field="amount")
        core_lines = [_credit_core_line(description=f"Correction of {invoice.number}", amount=amount, on=on)]
    else:
        wanted = [item if isinstance(item, tuple) else (item, None) for item in lines]
        foreign = [line for line, _ in wanted if line.invoice_id != invoice.pk or line.amount.amount <= 0]
        if foreign:
            raise Refused("Only charge lines of this invoice can be credited.", field="lines")
        core_lines = []
        for line, credit in wanted:
            credited = sum((c.amount for c in CreditNoteLine.objects.filter(invoice_line=line)), zero(invoice.currency))
            left_on_line = line.amount - credited
            credit = left_on_line if credit is None else credit
            if credit.currency.code != invoice.currency or credit.amount <= 0 or credit > left_on_line:
                raise Refused(f"At most {left_on_line} is left to credit on “{line.description}”.", field="lines")
            period = Period(line.period_start, line.period_end)
            core_lines.append(
                _credit_core_line(description=f"Correction: {line.description}", amount=credit, on=on, period=period)
            )
            corrects.append(line)
    total = -sum((line.amount for line in core_lines), zero(invoice.currency))
    left = invoice_creditable(invoice)
    if total > left:
        raise Refused(f"At most {left} is left to credit on {invoice.number}.", field="amount")
    return credit_note_issue(
        account=invoice.account,
        subscription=invoice.subscription,
        invoice=invoice,
        reason=CreditNote.Reason.CORRECTION,
        on=on,
        lines=core_lines,
        memo=reason.strip()[:300],
        by=by,
        corrects=corrects,
    )


# ---------------------------------------------------------------- documents: PDF and email after commit


def document_queue(document: Invoice | CreditNote) -> None:
    """Render, store and email an issued document once its transaction commits (SPEC §2.6, STYLE habit 6).

    A rolled-back change sends nothing. With settings.INVOICE_RENDER_ON_FINALIZE off, finalisation
    leaves the document to `invoice_deliver_pending`; with settings.DOCUMENT_WORKER on, to the
    `deliver_documents` worker (`documents_deliver`).
    """
    if settings.INVOICE_RENDER_ON_FINALIZE and not settings.DOCUMENT_WORKER:
        transaction.on_commit(partial(document_deliver, model=type(document), pk=document.pk), robust=True)


def document_deliver(*, model: type[Invoice] | type[CreditNote], pk: int) -> bool:
    """Store the PDF of one issued document, then email it; a failure is logged and retried by the next run.

    The PDF is stored (and committed) before sending, so a retry sends the same file; the row lock
    and the `emailed_at` check make two runs at once send it once.
    """
    from invoicing import documents, emails

    try:
        document = model.objects.select_related("account").filter(pk=pk, emailed_at__isnull=True).first()
        if document is None:
            return False
        content = documents.document_pdf(document)
        with transaction.atomic():
            document = model.objects.select_for_update().filter(pk=pk, emailed_at__isnull=True).first()
            if document is None:
                return False
            emails.document_send(document, content)
            document.emailed_at = timezone.now()
            document.save(update_fields=["emailed_at"])
    except Exception:
        log.exception("Could not deliver %s %s; it stays pending and the next round retries it.", model.__name__, pk)
        return False
    return True


def documents_pending(*, on: date | None = None, accounts=None) -> list[tuple[type[Invoice] | type[CreditNote], int]]:
    """Issued invoices and credit notes not yet emailed (issued by `on`, if given), oldest first."""
    pending = [
        Invoice.objects.filter(number__isnull=False, emailed_at__isnull=True).exclude(
            status__in=[Invoice.Status.DRAFT, Invoice.Status.VOID]
        ),
        CreditNote.objects.filter(number__isnull=False, emailed_at__isnull=True),
    ]
    found = []
    for qs in pending:
        if on is not None:
            qs = qs.filter(issued_on__lte=on)
        if accounts is not None:
            qs = qs.filter(account__in=accounts)
        found += [(qs.model, pk) for pk in qs.order_by("issued_on", "pk").values_list("pk", flat=True)]
    return found


def invoice_deliver_pending(*, on: date, accounts=None) -> int:
    """The daily run's retry: every issued invoice and credit note not yet emailed gets its PDF and email.

    Returns how many were queued; they are delivered when the caller's transaction commits.
    With settings.DOCUMENT_WORKER on, nothing: the `deliver_documents` worker sends them.
    """
    if settings.DOCUMENT_WORKER:
        return 0
    pending = documents_pending(on=on, accounts=accounts)
    for model, pk in pending:
        transaction.on_commit(partial(document_deliver, model=model, pk=pk), robust=True)
    return len(pending)


@dataclass
class Delivered:
    sent: int = 0
    failed: int = 0


def documents_deliver(*, workers: int = 1) -> Delivered:
    """The `deliver_documents` worker: render, store and email every pending document, in `workers`
    processes at once (WeasyPrint is CPU-bound, about 0.14 s a page). Each document goes to one
    process; `document_deliver`'s row lock and `emailed_at` check still send it once should
    another worker reach it too. A failure is logged, counted and left pending for the next round.
    """
    pending = documents_pending()
    if workers <= 1 or len(pending) <= 1:
        results = [document_deliver(model=model, pk=pk) for model, pk in pending]
    else:
        from common.processes import map_in_processes

        chunk = max(1, len(pending) // (workers * 4))
        results = map_in_processes(_deliver_one, pending, workers=workers, chunksize=chunk)
    still = set(documents_pending()) & set(pending)
    return Delivered(sent=sum(1 for r in results if r), failed=len(still))


def _deliver_one(item: tuple[type[Invoice] | type[CreditNote], int]) -> bool:
    model, pk = item
    return document_deliver(model=model, pk=pk)
