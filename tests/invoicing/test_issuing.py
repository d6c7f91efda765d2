"""One issuing path (SPEC §2.2, §2.6): `invoice_issue` is `invoice_issue_many` of one draft."""

from datetime import date
from decimal import Decimal

import pytest

from billing import plan as core
from billing.calendar import Period
from invoicing.models import CreditEntry, Invoice
from invoicing.selectors import credit_balance
from invoicing.services import InvoiceDraft, credit_note_issue, invoice_issue, invoice_issue_many
from tests.builders import make_account, usd

pytestmark = pytest.mark.django_db

NOV = Period(date(2026, 11, 1), date(2026, 12, 1))
ON = date(2026, 11, 1)


def account(name="Acme"):
    a = make_account(name)
    a.currency = "USD"
    a.save(update_fields=["currency"])
    return a


def charge(amount, kind=core.SUBSCRIPTION) -> core.Line:
    return core.Line(kind, f"{kind} line", NOV, 1, usd(abs(Decimal(amount))), usd(amount), 30, 30)


def draft(acct, *lines, on=ON) -> InvoiceDraft:
    return InvoiceDraft(account=acct, subscription=None, reason="renewal", on=on, lines=list(lines))


def test_a_batch_uses_an_accounts_credit_in_draft_order_and_skips_empty_drafts():
    acct = account()
    credit_note_issue(account=acct, reason="grant", on=ON, lines=[charge("-5.00", core.CREDIT)])
    issued = invoice_issue_many(
        drafts=[draft(acct, charge("3.00")), draft(acct, charge("0.00")), draft(acct, charge("3.00"))]
    )
    first, empty, second = (None if i is None else Invoice.objects.get(pk=i.pk) for i in issued)
    # 5.00 credit: the first uses 3.00 (nothing due, paid), the second the 2.00 left (1.00 due)
    assert empty is None
    assert (first.number, first.credit_applied, first.amount_due, first.status) == (
        "INV-2026-000001",
        usd("3.00"),
        usd("0.00"),
        "paid",
    )
    assert (second.number, second.credit_applied, second.amount_due, second.status) == (
        "INV-2026-000002",
        usd("2.00"),
        usd("1.00"),
        "open",
    )
    assert credit_balance(acct) == usd("0.00")
    assert [e.amount for e in CreditEntry.objects.filter(invoice__isnull=False).order_by("id")] == [
        usd("-3.00"),
        usd("-2.00"),
    ]


def test_a_batch_across_new_year_numbers_each_invoice_in_its_years_series():
    a, b = account("Acme"), account("Beta")
    late, early = invoice_issue_many(
        drafts=[draft(a, charge("7.00"), on=date(2026, 12, 31)), draft(b, charge("7.00"), on=date(2027, 1, 1))]
    )
    assert (late.number, early.number) == ("INV-2026-000001", "INV-2027-000001")


def test_one_invoice_records_its_creation_in_history_and_a_batch_does_not():
    one = invoice_issue(account=account("Acme"), subscription=None, reason="seats", on=ON, lines=[charge("7.00")])
    [batched] = invoice_issue_many(drafts=[draft(account("Beta"), charge("7.00"))])
    # drafted, then opened; the daily run's batches skip the history row of each creation (README, Benchmarks)
    assert list(one.history.order_by("history_id").values_list("history_type", "status")) == [
        ("+", "draft"),
        ("~", "open"),
    ]
    assert not Invoice.history.filter(id=batched.pk).exists()
    assert Invoice.objects.get(pk=batched.pk).status == "open"
