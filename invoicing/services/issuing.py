"""Issuing invoices (SPEC §2.2, §2.6): one path, for one invoice or the daily run's batches.

Amounts come from the pure core (`billing.plan.invoice_totals`); issuing writes them, numbers
the invoices, keeps the credit ledger and leaves delivery and collection to after commit.
"""

from dataclasses import dataclass, field, fields
from datetime import date, timedelta

from django.conf import settings
from moneyed import Money

from accounts.models import Account
from accounts.tax import account_tax, tax_rates_on
from billing import plan as core
from billing.proration import zero
from billing.tax import TaxTreatment
from common.dryrun import atomic, rows_lock
from common.lookups import AnyOf
from invoicing import gateways
from invoicing.models import CreditEntry, Invoice, InvoiceLine
from invoicing.selectors import credit_balances
from invoicing.services.delivery import documents_queue
from invoicing.services.numbering import INVOICE_SERIES, numbers_allocate
from invoicing.services.rows import Waiting, ids_next, line_values, rows_of, rows_update, rows_write, waiting_of
from invoicing.signals import invoices_issued


def buyer_snapshot(account: Account) -> dict:
    """The billing profile a document keeps, frozen when it is issued."""
    return {
        "name": account.legal_name or account.name,
        "address": account.address,
        "postcode": account.postcode,
        "city": account.city,
        "country": account.country,
        "tax_id": account.tax_id,
        "email": account.billing_email,
        "locale": account.locale,
        "language": account.invoice_language,
    }


def prices_include_tax(subscription) -> bool:
    """Whether the invoice's lines are tax-inclusive: its plan says so (a plan setting)."""
    return bool(subscription is not None and subscription.plan.prices_include_tax)


def _due_on(account: Account, on: date) -> date:
    if account.payment_gateway == Account.Gateway.BANK_TRANSFER:
        return on + timedelta(days=settings.BANK_TRANSFER_PAYMENT_TERMS_DAYS)
    return on


@dataclass
class InvoiceDraft:
    """One invoice for `invoice_issue_many`: the arguments `invoice_issue` takes."""

    account: Account
    subscription: object
    reason: str
    on: date
    lines: list[core.Line]
    waiting: list[Waiting] = field(default_factory=list)
    discounts: list[core.Discount] = field(default_factory=list)
    billing_key: str | None = None


@atomic
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

    Lines of zero amount are not written; an invoice with no lines is not issued. It is
    `invoice_issue_many` of one draft, except that the invoice's history records its creation.
    """
    draft = InvoiceDraft(
        account=account,
        subscription=subscription,
        reason=reason,
        on=on,
        lines=lines,
        waiting=waiting_of(waiting),
        discounts=list(discounts),
        billing_key=billing_key,
    )
    return _issue([draft])[0]


@atomic
def invoice_issue_many(*, drafts: list[InvoiceDraft]) -> list["Issued | None"]:
    """`invoice_issue` for many invoices at once, for the daily run (SPEC §2.2, §2.6).

    The same lines, totals, numbers, ledger entries and after-commit delivery as one
    `invoice_issue` per draft, in draft order, written as rows (`rows_write`: COPY on PostgreSQL,
    one INSERT per table elsewhere), each once and in its final state, with no model instance.
    Returns what was issued for each draft (`Issued`), or None where it had no lines. No creation
    row is written to the invoices' history (it would copy the row itself, and cost more than
    the invoice); every later change is recorded as usual.

    The invoices' ids are taken first; their lines go in while the invoices do not exist yet (the
    deferred foreign key is checked at commit). Then the invoices are numbered and written open (or
    paid), and the ledger entries, whose memos name the numbers: the number series stays locked
    only from numbering to commit, so that runs sharing the day overlap on everything else.
    """
    live, todo = _drafts_with_lines(drafts)
    if not todo:
        return [None] * len(drafts)
    priced = _priced(todo)
    ids = ids_next(Invoice, len(todo))
    _write_lines(ids, todo)
    numbers = _numbers([d.on for d, _ in todo])
    invoices = [
        {"id": pk, "number": number, **_invoice_values(d, totals, tax)}
        for pk, number, (d, _), (tax, totals) in zip(ids, numbers, todo, priced, strict=True)
    ]
    rows_write(Invoice, rows_of(Invoice, invoices))
    _write_entries(invoices, priced)
    issued = [Issued.of(values, d) for values, (d, _) in zip(invoices, todo, strict=True)]
    _after_issue(issued)
    found = iter(issued)
    return [next(found) if x is not None else None for x in live]


def _drafts_with_lines(drafts: list[InvoiceDraft]):
    """Each draft with its lines of non-zero amount (None where it has neither those nor waiting lines),
    and the drafts that have."""
    live = []
    for d in drafts:
        lines = [line for line in d.lines if line is not None and line.amount.amount != 0]
        live.append((d, lines) if lines or d.waiting else None)
    return live, [x for x in live if x is not None]


def _priced(todo) -> list[tuple[TaxTreatment, core.Totals]]:
    """The tax treatment and totals of each draft (the pure core), under the accounts' row locks, each
    account's credit balance carried from one of its invoices to the next."""
    accounts = {d.account.pk: d.account for d, _ in todo}
    rows_lock(Account.objects.filter(AnyOf("pk", accounts)))  # none in a preview: it waits on no one
    balances = credit_balances(accounts.values())
    priced, rates = [], {}
    for d, lines in todo:
        account = d.account
        if d.on not in rates:
            rates[d.on] = tax_rates_on(d.on)
        tax = account_tax(account, d.on, rates=rates[d.on])
        totals = core.invoice_totals(
            lines=lines + [w.line for w in d.waiting],
            currency=account.currency,
            discounts=list(d.discounts),
            tax_rate=tax.rate,
            credit_balance=balances[account.pk],
            tax_included=prices_include_tax(d.subscription),
        )
        balances[account.pk] = balances[account.pk] - totals.credit_applied + totals.credit_added
        priced.append((tax, totals))
    return priced


def _after_issue(invoices: list) -> None:
    """What follows an issue, after commit: the event, the PDF and email, and the charge of a card."""
    invoices_issued.send(sender=Invoice, invoices=invoices)
    documents_queue([(Invoice, inv.pk) for inv in invoices])
    # Bank transfer collects nothing (gateways.bank_transfer); other gateways charge after commit.
    gateways.collect_many_on_commit(
        [
            inv
            for inv in invoices
            if inv.status == Invoice.Status.OPEN and gateways.gateway_for(inv.account).code != "bank_transfer"
        ]
    )


def _issue(drafts: list[InvoiceDraft]) -> list[Invoice | None]:
    """One invoice as a model instance, saved, so that its history has its creation and finalisation:
    numbered, written as a draft so that its lines can be added (the frozen guard), then opened (or paid)."""
    live, todo = _drafts_with_lines(drafts)
    if not todo:
        return [None] * len(drafts)
    priced = _priced(todo)
    invoices, final = [], []
    for (d, _), (tax, totals), number in zip(todo, priced, _numbers([d.on for d, _ in todo]), strict=True):
        values = _invoice_values(d, totals, tax)
        final.append(values["status"])
        inv = Invoice(**{**values, "number": number, "status": Invoice.Status.DRAFT})
        inv.account, inv.subscription = d.account, d.subscription
        inv.save()
        invoices.append(inv)
    _write_lines([inv.pk for inv in invoices], todo)
    _write_entries(
        [{"id": i.pk, "account_id": i.account_id, "number": i.number, "issued_on": i.issued_on} for i in invoices],
        priced,
    )
    for inv, status in zip(invoices, final, strict=True):
        inv.status = status
        inv.save(update_fields=["status"])
    _after_issue(invoices)
    issued = iter(invoices)
    return [next(issued) if x is not None else None for x in live]


@dataclass(slots=True)
class Issued:
    """An invoice the batch path wrote, as what follows the issue reads it (the run's summary, the
    `invoices_issued` receivers, delivery, collection): the daily run builds no model instance for it."""

    pk: int
    number: str
    status: str
    reason: str
    account: Account
    subscription: object
    currency: str
    issued_on: date
    due_on: date
    paid_on: date | None
    total: Money
    amount_due: Money
    amount_paid: Money

    @classmethod
    def of(cls, values: dict, d: InvoiceDraft) -> "Issued":
        return cls(
            account=d.account,
            subscription=d.subscription,
            pk=values["id"],
            **{name: values[name] for name in ISSUED_FIELDS},
        )

    @property
    def account_id(self) -> int:
        return self.account.pk

    @property
    def subscription_id(self) -> int | None:
        return getattr(self.subscription, "pk", None)


# What `Issued.of` copies from the invoice's field values (the rest it takes from the draft).
ISSUED_FIELDS = tuple(f.name for f in fields(Issued) if f.name not in ("pk", "account", "subscription"))


def _invoice_values(d: InvoiceDraft, totals: core.Totals, tax: TaxTreatment) -> dict:
    """The draft's invoice, as field values: its totals, the buyer as it is today, open or, when
    nothing is due, paid."""
    account, currency = d.account, d.account.currency
    paid_on = d.on if totals.amount_due.amount == 0 else None
    return {
        "account_id": account.pk,
        "subscription_id": getattr(d.subscription, "pk", None),
        "status": Invoice.Status.PAID if paid_on is not None else Invoice.Status.OPEN,
        "reason": d.reason,
        "billing_key": d.billing_key,
        "currency": currency,
        "issued_on": d.on,
        "due_on": _due_on(account, d.on),
        "tax_rate": tax.rate,
        "tax_reason": tax.reason,
        "tax_included": totals.tax_included,
        "subtotal": totals.subtotal,
        "discount": totals.discount,
        "discount_label": ", ".join(x.label for x in d.discounts) if totals.discount.amount else "",
        "tax": totals.tax,
        "total": totals.total,
        "credit_applied": totals.credit_applied,
        "amount_due": totals.amount_due,
        "amount_paid": zero(currency),
        "amount_credited": zero(currency),
        "buyer": buyer_snapshot(account),
        "paid_on": paid_on,
    }


def _write_lines(ids: list[int], todo) -> None:
    """Each draft's waiting lines put on its invoice (id in `ids`), first, then its new lines as rows. The
    invoices are the caller's own new ones: written as drafts, or not yet (their foreign key is deferred)."""
    # `invoice_id IS NULL`: only lines still waiting, as the frozen guard asks
    attached = [(w.pk, pk, i) for pk, (d, _) in zip(ids, todo, strict=True) for i, w in enumerate(d.waiting, 1)]
    rows_update(InvoiceLine, ("invoice_id", "position"), attached, still_null="invoice_id")
    rows_write(
        InvoiceLine,
        rows_of(InvoiceLine, (v for pk, (d, lines) in zip(ids, todo, strict=True) for v in _line_values(pk, d, lines))),
    )


def _write_entries(invoices: list[dict], priced) -> None:
    """The credit-ledger entries of the numbered invoices (id, account_id, number, issued_on each)."""
    rows_write(
        CreditEntry,
        rows_of(
            CreditEntry,
            (v for invoice, (_, totals) in zip(invoices, priced, strict=True) for v in _entry_values(invoice, totals)),
        ),
    )


def _line_values(invoice_id: int, d: InvoiceDraft, lines: list[core.Line]) -> list[dict]:
    """The new lines of a draft as rows of its invoice, after its waiting lines."""
    subscription_id = getattr(d.subscription, "pk", None)
    return [
        line_values(line, invoice_id=invoice_id, subscription_id=subscription_id, position=len(d.waiting) + i)
        for i, line in enumerate(lines, start=1)
    ]


def _entry_values(invoice: dict, totals: core.Totals) -> list[dict]:
    """The ledger entries of a finalised invoice: credit it used, or credit its negative total adds."""
    common = {"account_id": invoice["account_id"], "on": invoice["issued_on"], "invoice_id": invoice["id"]}
    entries = []
    if totals.credit_applied.amount:
        entries.append({**common, "amount": -totals.credit_applied, "memo": f"Applied to {invoice['number']}"})
    if totals.credit_added.amount:
        entries.append({**common, "amount": totals.credit_added, "memo": f"Credit from {invoice['number']}"})
    return entries


def _numbers(days: list[date]) -> list[str]:
    """Gapless numbers for invoices issued on `days`, in that order, one block per year of issue."""
    by_year: dict[int, list[int]] = {}
    for i, day in enumerate(days):
        by_year.setdefault(day.year, []).append(i)
    numbers = [""] * len(days)
    for places in by_year.values():
        block = numbers_allocate(prefix=INVOICE_SERIES, on=days[places[0]], count=len(places))
        for i, number in zip(places, block, strict=True):
            numbers[i] = number
    return numbers
