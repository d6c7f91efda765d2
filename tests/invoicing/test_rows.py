"""The rows services write: one mapper from a core line, and the row writer's column lists."""

from datetime import date

import pytest

from billing import plan as core
from billing.calendar import Period
from invoicing.models import CreditNoteLine, InvoiceLine, Payment
from invoicing.services import line_from_core, row_of, rows_update, rows_write
from invoicing.services.rows import COLUMNS, _table
from subscriptions.models import SeatChange
from tests.builders import usd, world

HALF_NOVEMBER = Period(date(2026, 11, 16), date(2026, 12, 1))
# 1 seat removed for 15 of 30 days: 7.00 × 15/30 = 3.50 back
CREDIT = core.Line(core.CREDIT, "1 seat removed", HALF_NOVEMBER, 1, usd("7.00"), usd("-3.50"), 15, 30)


def test_every_table_rows_write_writes_has_every_column_named_once():
    assert SeatChange in COLUMNS  # named by subscriptions when it is ready
    for model in COLUMNS:
        names = _table(model).names
        table = [f.column for f in model._meta.concrete_fields]
        assert sorted(names) == sorted(table), model
        assert len(_table(model).fields) == len(names)  # the field behind each column


def test_a_table_without_named_columns_is_refused_before_anything_is_written():
    with pytest.raises(LookupError, match="rows_register"):
        rows_write(Payment, [row_of(Payment, {"on": date(2026, 11, 1), "amount": usd("1.00")})])


def test_one_mapper_makes_invoice_and_credit_note_lines():
    invoice_line = line_from_core(CREDIT, bill_on=date(2026, 12, 1))
    credit_line = line_from_core(CREDIT, model=CreditNoteLine, amount=-CREDIT.amount)
    shown = ["description", "period_start", "period_end", "quantity", "unit_price", "days", "period_days"]
    assert isinstance(invoice_line, InvoiceLine) and isinstance(credit_line, CreditNoteLine)
    assert [getattr(invoice_line, f) for f in shown] == [getattr(credit_line, f) for f in shown]
    # on an invoice the credit is −3.50 of kind credit; a credit note stores what it credits, +3.50
    assert (invoice_line.kind, invoice_line.amount, invoice_line.bill_on) == ("credit", usd("-3.50"), date(2026, 12, 1))
    assert credit_line.amount == usd("3.50")


@pytest.mark.django_db
def test_rows_update_gives_each_row_its_values_and_keeps_to_rows_still_waiting():
    w = world(on=date(2026, 11, 1), people=1)
    issued = InvoiceLine.objects.get(invoice__subscription=w.sub)  # on the purchase invoice: frozen
    waiting = [line_from_core(CREDIT, subscription=w.sub, bill_on=date(2026, 12, d)) for d in (1, 2)]
    for line in waiting:
        line.save()
    rows = [(waiting[0].pk, 7, date(2026, 12, 5)), (waiting[1].pk, 8, None), (issued.pk, 9, None)]
    rows_update(InvoiceLine, ("position", "bill_on"), rows, still_null="invoice_id")
    found = dict(InvoiceLine.objects.values_list("pk", "position"))
    assert (found[waiting[0].pk], found[waiting[1].pk], found[issued.pk]) == (7, 8, issued.position)
    assert InvoiceLine.objects.get(pk=waiting[0].pk).bill_on == date(2026, 12, 5)
    assert InvoiceLine.objects.get(pk=waiting[1].pk).bill_on is None
