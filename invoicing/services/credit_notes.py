"""Credit notes: numbered credits for removed seats, corrections and support grants (SPEC §2.2, §2.6)."""

from datetime import date, timedelta

from django.utils.translation import gettext
from moneyed import Money

from accounts.models import Account
from accounts.tax import account_tax
from billing import plan as core
from billing.calendar import Period
from billing.proration import zero
from common.dryrun import atomic
from common.errors import Refused
from common.locales import in_invoice_language
from invoicing.models import CreditEntry, CreditNote, CreditNoteLine, Invoice, InvoiceLine
from invoicing.selectors import invoice_creditable, invoice_outstanding
from invoicing.services.delivery import document_queue
from invoicing.services.issuing import buyer_snapshot, prices_include_tax
from invoicing.services.numbering import CREDIT_NOTE_SERIES, number_allocate
from invoicing.services.rows import line_from_core
from invoicing.signals import credit_note_issued, invoice_paid


def _tax_of(account: Account, invoice: Invoice | None, subscription, on: date) -> dict:
    """The corrected invoice's tax treatment; else today's rules, inclusive when the plan's prices are."""
    if invoice is not None:
        return {"tax_rate": invoice.tax_rate, "tax_reason": invoice.tax_reason, "tax_included": invoice.tax_included}
    tax = account_tax(account, on)
    return {"tax_rate": tax.rate, "tax_reason": tax.reason, "tax_included": prices_include_tax(subscription)}


@atomic
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

    Against an `invoice` that is still open, the note first lowers what is left to pay on that
    invoice (as Stripe does); only what exceeds it joins the credit balance. An invoice credited
    down to nothing is settled. `corrects` names, line by line, the invoice line each credit line
    corrects (SPEC §2.6).
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
        # A correction keeps the tax treatment of the invoice it corrects.
        **_tax_of(account, invoice, subscription, on),
        buyer=buyer_snapshot(account),
        created_by=by,
        number=number_allocate(prefix=CREDIT_NOTE_SERIES, on=on),
    )
    CreditNoteLine.objects.bulk_create(
        [
            line_from_core(line, model=CreditNoteLine, credit_note=note, amount=-line.amount, invoice_line=ref)
            for line, ref in pairs
        ]
    )
    to_balance = total - _apply_to_open_invoice(invoice, total, on=on) if invoice is not None else total
    if to_balance.amount > 0:
        CreditEntry.objects.create(
            account=account,
            amount=to_balance,
            on=on,
            memo=f"Credit note {note.number}",
            credit_note=note,
        )
    document_queue(note)
    credit_note_issued.send(sender=CreditNote, credit_note=note)
    return note


def _apply_to_open_invoice(invoice: Invoice, credit: Money, *, on: date) -> Money:
    """Take up to `credit` off what is left to pay on an open invoice; return what was taken off."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if invoice.status != Invoice.Status.OPEN:
        return zero(credit.currency)
    applied = min(credit, invoice_outstanding(invoice))
    if applied.amount <= 0:
        return zero(credit.currency)
    invoice.amount_credited += applied
    fields = ["amount_credited"]
    if invoice_outstanding(invoice).amount <= 0:
        invoice.status, invoice.paid_on = Invoice.Status.PAID, on
        fields += ["status", "paid_on"]
    invoice.save(update_fields=fields)
    if invoice.status == Invoice.Status.PAID:
        invoice_paid.send(sender=Invoice, invoice=invoice, payment=None, on=on)
    return applied


def _credit_core_line(*, description: str, amount: Money, on: date, period: Period | None = None) -> core.Line:
    period = period or Period(on, on + timedelta(days=1))
    return core.Line(core.CREDIT, description[:300], period, 1, -amount, -amount, period.days, period.days)


@atomic
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
    with in_invoice_language(account):
        description = gettext("Credit granted: %(reason)s") % {"reason": reason.strip()}
    line = _credit_core_line(description=description, amount=amount, on=on)
    return credit_note_issue(
        account=account, reason=CreditNote.Reason.GRANT, on=on, lines=[line], memo=reason.strip()[:300], by=by
    )


@atomic
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
        with in_invoice_language(invoice.account):
            description = gettext("Correction of %(number)s") % {"number": invoice.number}
        core_lines = [_credit_core_line(description=description, amount=amount, on=on)]
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
            with in_invoice_language(invoice.account):
                description = gettext("Correction: %(line)s") % {"line": line.description}
            core_lines.append(_credit_core_line(description=description, amount=credit, on=on, period=period))
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
