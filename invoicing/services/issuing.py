"""Issuing invoices (SPEC §2.2, §2.6): one path, for one invoice or the daily run's batches.

Amounts come from the pure core (`billing.plan.invoice_totals`); issuing writes them, numbers
the invoices, keeps the credit ledger and leaves delivery and collection to after commit.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import connection, transaction

from accounts.models import Account
from accounts.tax import account_tax, tax_rates_on
from billing import plan as core
from billing.proration import zero
from billing.tax import TaxTreatment
from invoicing import gateways
from invoicing.models import CreditEntry, Invoice, InvoiceLine
from invoicing.selectors import credit_balances
from invoicing.services.delivery import documents_queue
from invoicing.services.numbering import INVOICE_SERIES, numbers_allocate
from invoicing.services.rows import ids_reserve, line_from_core, line_to_core, rows_insert
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
    waiting: list[InvoiceLine] = field(default_factory=list)
    discounts: list[core.Discount] = field(default_factory=list)
    billing_key: str | None = None


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

    Lines of zero amount are not written; an invoice with no lines is not issued. It is
    `invoice_issue_many` of one draft, except that the invoice's history records its creation.
    """
    draft = InvoiceDraft(
        account=account,
        subscription=subscription,
        reason=reason,
        on=on,
        lines=lines,
        waiting=list(waiting),
        discounts=list(discounts),
        billing_key=billing_key,
    )
    return _issue([draft], recorded=True)[0]


@transaction.atomic
def invoice_issue_many(*, drafts: list[InvoiceDraft]) -> list[Invoice | None]:
    """`invoice_issue` for many invoices at once, for the daily run (SPEC §2.2, §2.6).

    The same lines, totals, numbers, ledger entries and after-commit delivery as one
    `invoice_issue` per draft, in draft order, written with a few statements per batch.
    Returns the invoice of each draft, or None where it had no lines. No creation row is
    written to the invoices' history (it would copy the row itself, and cost more than
    the invoice); every later change is recorded as usual.
    """
    return _issue(drafts, recorded=False)


def _issue(drafts: list[InvoiceDraft], *, recorded: bool) -> list[Invoice | None]:
    """The one way invoices are issued. `recorded`: written by `save()`, so their history has
    their creation and finalisation; otherwise in bulk (`rows_insert`), with no history row."""
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
    invoices, all_totals, rates = [], [], {}
    for d, lines in todo:
        account = d.account
        if d.on not in rates:
            rates[d.on] = tax_rates_on(d.on)
        tax = account_tax(account, d.on, rates=rates[d.on])
        totals = core.invoice_totals(
            lines=lines + [line_to_core(w) for w in d.waiting],
            currency=account.currency,
            discounts=list(d.discounts),
            tax_rate=tax.rate,
            credit_balance=balances[account.pk],
            tax_included=prices_include_tax(d.subscription),
        )
        balances[account.pk] = balances[account.pk] - totals.credit_applied + totals.credit_added
        invoices.append(_invoice_of(d, totals, tax))
        all_totals.append(totals)
    if recorded or connection.vendor != "postgresql":
        _write_drafts_then_open(invoices, todo, all_totals, recorded=recorded)
    else:
        _write_lines_then_invoices(invoices, todo, all_totals)
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
    issued = iter(invoices)
    return [next(issued) if x is not None else None for x in live]


def _write_drafts_then_open(invoices, todo, all_totals, *, recorded: bool) -> None:
    """Numbered, written as drafts so that their lines can be added (the frozen guard), then opened (or paid)."""
    _number(invoices)
    if recorded:
        for inv in invoices:
            inv.save()
    else:
        rows_insert(invoices)
    _attach_waiting(_waiting_of(invoices, todo))
    rows_insert(_lines_of(invoices, todo))
    rows_insert(_entries_of(invoices, all_totals))
    _open(invoices, recorded=recorded)


def _write_lines_then_invoices(invoices, todo, all_totals) -> None:
    """The daily run on PostgreSQL: each row written once, in its final state, and the number series
    locked only from numbering to commit, so that runs sharing the day overlap on everything else.

    The invoices' ids are taken first; their lines go in while the invoices do not exist yet (the
    append-only trigger and the frozen guard let lines onto a draft or a missing invoice; the deferred
    foreign key is checked at commit). Then the invoices are numbered and written open (or paid), and
    the ledger entries, whose memos name the numbers.
    """
    ids_reserve(invoices)
    _attach_waiting(_waiting_of(invoices, todo))
    rows_insert(_lines_of(invoices, todo))
    _number(invoices)
    for inv in invoices:
        inv.status = _final_status(inv)
    rows_insert(invoices)
    rows_insert(_entries_of(invoices, all_totals))


def _waiting_of(invoices, todo) -> list[InvoiceLine]:
    """The waiting lines of each draft, put on its invoice (unsaved), first."""
    waiting = []
    for inv, (d, _lines) in zip(invoices, todo, strict=True):
        for position, w in enumerate(d.waiting, start=1):
            w.invoice, w.position = inv, position
            waiting.append(w)
    return waiting


def _lines_of(invoices, todo) -> list[InvoiceLine]:
    """The new lines of each draft as rows of its invoice, after its waiting lines."""
    return [
        line_from_core(line, invoice=inv, subscription=d.subscription, position=len(d.waiting) + i + 1)
        for inv, (d, lines) in zip(invoices, todo, strict=True)
        for i, line in enumerate(lines)
    ]


def _entries_of(invoices, all_totals) -> list[CreditEntry]:
    return [entry for inv, totals in zip(invoices, all_totals, strict=True) for entry in _credit_entries(inv, totals)]


def _final_status(invoice: Invoice) -> str:
    return Invoice.Status.PAID if invoice.paid_on is not None else Invoice.Status.OPEN


def _invoice_of(d: InvoiceDraft, totals: core.Totals, tax: TaxTreatment) -> Invoice:
    """The draft's invoice, unsaved, with its totals and the buyer as they are today; paid when nothing is due."""
    account, currency = d.account, d.account.currency
    return Invoice(
        account=account,
        subscription=d.subscription,
        reason=d.reason,
        billing_key=d.billing_key,
        currency=currency,
        issued_on=d.on,
        due_on=_due_on(account, d.on),
        tax_rate=tax.rate,
        tax_reason=tax.reason,
        tax_included=totals.tax_included,
        subtotal=totals.subtotal,
        discount=totals.discount,
        discount_label=", ".join(x.label for x in d.discounts) if totals.discount.amount else "",
        tax=totals.tax,
        total=totals.total,
        credit_applied=totals.credit_applied,
        amount_due=totals.amount_due,
        amount_paid=zero(currency),
        amount_credited=zero(currency),
        buyer=buyer_snapshot(account),
        paid_on=d.on if totals.amount_due.amount == 0 else None,
    )


def _number(invoices: list[Invoice]) -> None:
    """Gapless numbers in the invoices' order, one block per year of issue."""
    by_year: dict[int, list[Invoice]] = {}
    for inv in invoices:
        by_year.setdefault(inv.issued_on.year, []).append(inv)
    for group in by_year.values():
        numbers = numbers_allocate(prefix=INVOICE_SERIES, on=group[0].issued_on, count=len(group))
        for inv, number in zip(group, numbers, strict=True):
            inv.number = number


def _open(invoices: list[Invoice], *, recorded: bool) -> None:
    """Draft → open, or paid when nothing is due; one statement per status for a batch."""
    for inv in invoices:
        inv.status = _final_status(inv)
        if recorded:
            inv.save(update_fields=["status"])
    if not recorded:
        for status in (Invoice.Status.OPEN, Invoice.Status.PAID):
            Invoice.objects.filter(pk__in=[inv.pk for inv in invoices if inv.status == status]).update(status=status)


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
