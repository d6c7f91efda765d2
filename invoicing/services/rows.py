"""Rows as the services write them: a core line as a line row (the one mapper), and
`rows_insert`, the daily run's COPY writer, with the columns it writes named per table."""

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter

from django.db import connection, models

from billing import plan as core
from billing.calendar import Period
from invoicing.frozen import refuse_frozen_create
from invoicing.models import CreditEntry, DocumentLine, Invoice, InvoiceLine


def line_from_core(line: core.Line, *, model: type[DocumentLine] = InvoiceLine, **extra) -> DocumentLine:
    """The row of `model` (an invoice or credit-note line) that stores a core line and how it was computed.

    `extra` gives the row's own fields (its invoice or credit note, position, subscription, `bill_on`)
    or replaces one: a credit-note line stores the amount credited, as a positive amount.
    """
    values = {
        "description": line.description,
        "period_start": line.period.start,
        "period_end": line.period.end,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "days": line.days,
        "period_days": line.period_days,
        "amount": line.amount,
    }
    if model is InvoiceLine:
        values["kind"] = line.kind  # a credit note's lines are all credits
    return model(**{**values, **extra})


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


@dataclass(frozen=True)
class Columns:
    """The columns `rows_insert` writes to one table, besides the id, named one by one.

    `plain`: written as the instance holds them (numbers, text, dates, a foreign key by its `_id`);
    `money`: a MoneyField, written as its amount and its `<name>_currency` column;
    `prepared`: written through the field, as `bulk_create` prepares them (JSON, files).
    A test checks that they are exactly the table's columns.
    """

    plain: tuple[str, ...]
    money: tuple[str, ...] = ()
    prepared: tuple[str, ...] = ()


COLUMNS: dict[type[models.Model], Columns] = {
    Invoice: Columns(
        plain=(
            "created_at",
            "account_id",
            "subscription_id",
            "number",
            "status",
            "reason",
            "billing_key",
            "currency",
            "issued_on",
            "due_on",
            "tax_rate",
            "tax_reason",
            "tax_included",
            "discount_label",
            "paid_on",
            "emailed_at",
        ),
        money=(
            "subtotal",
            "discount",
            "tax",
            "total",
            "credit_applied",
            "amount_due",
            "amount_paid",
            "amount_credited",
        ),
        prepared=("buyer", "pdf", "reminders_sent"),
    ),
    InvoiceLine: Columns(
        plain=(
            "invoice_id",
            "subscription_id",
            "position",
            "kind",
            "description",
            "period_start",
            "period_end",
            "quantity",
            "days",
            "period_days",
            "bill_on",
        ),
        money=("unit_price", "amount"),
    ),
    CreditEntry: Columns(
        plain=("created_at", "account_id", "on", "memo", "invoice_id", "credit_note_id"),
        money=("amount",),
    ),
}


def rows_register(model: type[models.Model], *, plain: tuple[str, ...], money=(), prepared=()) -> None:
    """Name the columns of another app's table, so that `rows_insert` can write its rows."""
    COLUMNS[model] = Columns(plain=tuple(plain), money=tuple(money), prepared=tuple(prepared))
    _writers.pop(model, None)


def _money_amount(name: str) -> Callable:
    def read(obj):
        value = getattr(obj, name)
        return getattr(value, "amount", value)

    return read


def _prepared(field: models.Field) -> Callable:
    return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), connection)


_writers: dict[type[models.Model], tuple[list[str], list[Callable]]] = {}


def _writer(model: type[models.Model]) -> tuple[list[str], list[Callable]]:
    """The table's column names (id first) and, for each but the id, how to read its value from an instance."""
    if model not in _writers:
        columns, meta = COLUMNS.get(model), model._meta
        if columns is None:
            raise LookupError(f"rows_insert does not know the columns of {meta.label}; name them with rows_register.")
        names, readers = [meta.pk.column], []
        for name in columns.plain:
            names.append(meta.get_field(name).column)
            readers.append(attrgetter(name))
        for name in columns.money:
            currency = f"{name}_currency"
            names += [meta.get_field(name).column, meta.get_field(currency).column]
            readers += [_money_amount(name), attrgetter(currency)]
        for name in columns.prepared:
            field = meta.get_field(name)
            names.append(field.column)
            readers.append(_prepared(field))
        _writers[model] = names, readers
    return _writers[model]


def rows_insert(objs: list[models.Model]) -> None:
    """`bulk_create(objs)` for the daily run: the same rows (and no signals), each object given its id
    (unless `ids_reserve` gave it one).

    On PostgreSQL the ids are taken from the table's sequence in one statement and the rows
    written with COPY, in the caller's transaction; `bulk_create`'s per-value preparation
    costs more than the insert itself. Elsewhere, `bulk_create`.
    """
    if not objs:
        return
    model = type(objs[0])
    names, readers = _writer(model)
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objs)
        return
    refuse_frozen_create(objs)  # the guard DocumentQuerySet.bulk_create applies
    if objs[0].pk is None:
        ids_reserve(objs)
    meta, quote = model._meta, connection.ops.quote_name
    with connection.cursor() as cursor:
        columns = ", ".join(quote(name) for name in names)
        with cursor.copy(f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN") as copy:
            for obj in objs:
                copy.write_row([obj.pk] + [read(obj) for read in readers])
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias


def ids_reserve(objs: list[models.Model]) -> None:
    """Give each unsaved object its id from the table's sequence, in one statement (PostgreSQL), before
    `rows_insert` writes them: rows that point to them can be written first. The objects stay unsaved."""
    meta, quote = objs[0]._meta, connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [quote(meta.db_table), meta.pk.column, len(objs)],
        )
        ids = sorted(pk for (pk,) in cursor.fetchall())
    for obj, pk in zip(objs, ids, strict=True):
        obj.pk = pk
