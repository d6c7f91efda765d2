"""Issue 18: credit entries, payments and refunds are append-only on every path; on PostgreSQL raw SQL
cannot rewrite issued invoices, their lines, credit notes, ledger entries or payments either."""

from datetime import date

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from moneyed import Money

from accounts.models import User
from common.errors import Refused
from invoicing import frozen, triggers
from invoicing.models import CreditEntry, CreditNote, Invoice, Payment, Refund
from invoicing.services import invoice_pay
from invoicing.services.payments import invoice_refund
from tests.builders import make_rich_invoice
from tests.subscriptions.test_admin import admin_client  # noqa: F401 (fixture)

MODELS = [CreditEntry, Payment, Refund]
ZERO = Money("0.00", "USD")


@pytest.fixture
def money(db):
    """A paid-then-refunded invoice: a credit entry (the $2 grant used), a payment, a refund."""
    invoice = make_rich_invoice()
    staff = User.objects.create_user(email="clerk@example.com", password=None)
    invoice_pay(invoice=invoice, on=date(2026, 11, 12), by=staff)
    invoice_refund(invoice=invoice, on=date(2026, 11, 13), reason="money back", by=staff)
    assert CreditEntry.objects.exists() and Payment.objects.exists() and Refund.objects.exists()
    return Invoice.objects.get(pk=invoice.pk)


def _amounts(model) -> list:
    return sorted(str(a) for a in model.objects.values_list("amount", flat=True))


@pytest.mark.parametrize("model", MODELS)
def test_save_with_a_new_amount_is_refused(money, model):
    before = _amounts(model)
    row = model.objects.first()
    row.amount = ZERO
    with pytest.raises(Refused, match="never edited or deleted"):
        row.save()
    with pytest.raises(Refused):
        row.save(update_fields=["amount"])
    assert _amounts(model) == before


@pytest.mark.parametrize("model", MODELS)
def test_delete_of_one_row_is_refused(money, model):
    with pytest.raises(Refused, match="never edited or deleted"):
        model.objects.first().delete()
    assert model.objects.count() >= 1


@pytest.mark.parametrize("model", MODELS)
def test_queryset_update_delete_and_bulk_update_are_refused(money, model):
    before, count = _amounts(model), model.objects.count()
    with pytest.raises(Refused):
        model.objects.update(amount=ZERO)
    with pytest.raises(Refused):
        model.objects.all().delete()
    rows = list(model.objects.all())
    for row in rows:
        row.amount = ZERO
    with pytest.raises(Refused):
        model.objects.bulk_update(rows, ["amount"])
    assert _amounts(model) == before and model.objects.count() == count


@pytest.mark.parametrize("model", MODELS)
def test_the_admin_neither_adds_changes_nor_deletes(money, model, admin_client):  # noqa: F811
    row = model.objects.first()
    name = f"admin:invoicing_{model._meta.model_name}"
    assert admin_client.get(reverse(f"{name}_change", args=[row.pk])).status_code == 200  # read-only view
    assert admin_client.post(reverse(f"{name}_change", args=[row.pk]), {"memo": "x"}).status_code == 403
    assert admin_client.post(reverse(f"{name}_delete", args=[row.pk]), {"post": "yes"}).status_code == 403
    assert admin_client.get(reverse(f"{name}_add")).status_code == 403
    assert model.objects.filter(pk=row.pk).exists()


def test_a_refund_learns_its_gateway_id_once(money):
    refund = Refund.objects.get()
    assert Refund.objects.filter(pk=refund.pk, gateway_id="").update(gateway_id="re_1") == 1
    with pytest.raises(Refused):
        Refund.objects.filter(pk=refund.pk).update(gateway_id="re_2")
    refund.refresh_from_db()
    refund.gateway_id = "re_3"
    with pytest.raises(Refused):
        refund.save()
    assert Refund.objects.get().gateway_id == "re_1"


def test_the_recorder_of_a_payment_may_be_purged(money):
    User.objects.get(email="clerk@example.com").delete()  # on_delete=SET_NULL on payment and refund
    assert Payment.objects.get().recorded_by is None and Refund.objects.get().created_by is None


def test_corrections_are_new_entries(money):
    """A payment is corrected by a refund that points at it, never by editing it."""
    refund = Refund.objects.get()
    assert refund.payment == Payment.objects.get() and refund.amount == refund.payment.amount


def test_the_triggers_allow_the_columns_the_orm_allows():
    assert set(triggers.INVOICE_MUTABLE) == frozen.INVOICE_MUTABLE
    assert set(triggers.TRIGGERS["invoicing_creditnote"][2]) - {"?created_by_id"} == frozen.CREDIT_NOTE_MUTABLE
    assert "!gateway_id" in triggers.TRIGGERS["invoicing_refund"][2] and frozen.LEDGER_SET_ONCE[Refund] == {
        "gateway_id"
    }


# ---------------------------------------------------------------- PostgreSQL: raw SQL

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="triggers are PostgreSQL's; run with DATABASE_URL=postgres://…"
)

REFUSED_SQL = [
    "UPDATE invoicing_creditentry SET amount = 0",
    "DELETE FROM invoicing_creditentry",
    "UPDATE invoicing_payment SET amount = 0",
    "DELETE FROM invoicing_payment",
    "UPDATE invoicing_refund SET amount = 0",
    "DELETE FROM invoicing_refund",
    "UPDATE invoicing_invoice SET total = 0",
    "UPDATE invoicing_invoice SET number = 'INV-X'",
    "DELETE FROM invoicing_invoice",
    "UPDATE invoicing_invoiceline SET amount = 0 WHERE invoice_id IS NOT NULL",
    "DELETE FROM invoicing_invoiceline WHERE invoice_id IS NOT NULL",
    "UPDATE invoicing_creditnote SET total = 0",
    "DELETE FROM invoicing_creditnote",
    "UPDATE invoicing_creditnoteline SET amount = 0",
    "DELETE FROM invoicing_creditnoteline",
]


@postgres_only
@pytest.mark.parametrize("sql", REFUSED_SQL)
def test_raw_sql_cannot_rewrite_money(money, sql):
    with pytest.raises(IntegrityError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)


@postgres_only
def test_raw_sql_may_change_what_the_orm_may(money):
    refund = Refund.objects.get()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE invoicing_invoice SET emailed_at = now(), reminders_sent = '[1]', pdf = 'x.pdf'")
        cursor.execute("UPDATE invoicing_creditnote SET emailed_at = now()")
        cursor.execute("UPDATE invoicing_refund SET gateway_id = 're_1' WHERE id = %s", [refund.pk])
        cursor.execute("UPDATE invoicing_payment SET recorded_by_id = NULL")
    assert Refund.objects.get().gateway_id == "re_1"
    with pytest.raises(IntegrityError):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE invoicing_refund SET gateway_id = 're_2'")
    with pytest.raises(IntegrityError):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("UPDATE invoicing_payment SET recorded_by_id = %s", [refund.created_by_id])
    assert CreditNote.objects.exclude(emailed_at=None).exists()
