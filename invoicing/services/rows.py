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


def line_values(line: core.Line, **extra) -> dict:
    """The field values of the row that stores a core line and how it was computed, with `extra`:
    the row's own fields (its invoice or credit note, position, subscription, `bill_on`)."""
    return {
        "kind": line.kind,
        "description": line.description,
        "period_start": line.period.start,
        "period_end": line.period.end,
        "quantity": line.quantity,
        "unit_price": line.unit_price,
        "days": line.days,
        "period_days": line.period_days,
        "amount": line.amount,
        **extra,
    }


def line_from_core(line: core.Line, *, model: type[DocumentLine] = InvoiceLine, **extra) -> DocumentLine:
    """The row of `model` (an invoice or credit-note line) that stores a core line and how it was computed.

    `extra` gives the row's own fields or replaces one: a credit-note line stores the amount
    credited, as a positive amount.
    """
    values = line_values(line, **extra)
    if model is not InvoiceLine:
        del values["kind"]  # a credit note's lines are all credits
    return model(**values)


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
    written with COPY (`rows_write`), in the caller's transaction; `bulk_create`'s per-value
    preparation costs more than the insert itself. Elsewhere, `bulk_create`.
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
    _copy(model._meta.db_table, names, ([obj.pk] + [read(obj) for read in readers] for obj in objs))
    for obj in objs:
        obj._state.adding, obj._state.db = False, connection.alias


def row_of(model: type[models.Model], values: dict) -> tuple:
    """The row `rows_write` writes for field `values` (a foreign key by its `_id`, the id under "id", a
    money field as its `Money`): every column `rows_register` names for `model`, in order, a missing
    one at the field's default."""
    row = []
    for key, default in _row_spec(model):
        if default is MONEY:
            money = values[key]
            row += [money.amount, str(money.currency)]
        else:
            row.append(values[key] if key in values else default())
    return tuple(row)


def rows_write(model: type[models.Model], rows: list[tuple]) -> None:
    """Rows built by `row_of` straight into `model`'s table, in the caller's transaction: the daily
    run's writer for rows it never needs as instances (no signals, no `save()`, no frozen guard: the
    rows are the batch's own).

    COPY on PostgreSQL; one `executemany` INSERT elsewhere, each value adapted as the field would.
    Rows whose id is None are given theirs by the database.
    """
    if not rows:
        return
    names, _readers = _writer(model)
    adapters = [_adapter(field) for field in _fields(model)]
    if rows[0][0] is None:  # the database gives the ids
        names, adapters, rows = names[1:], adapters[1:], [row[1:] for row in rows]
    adapt = [(i, a) for i, a in enumerate(adapters) if a is not None]
    if adapt:
        rows = [_adapted(row, adapt) for row in rows]
    if connection.vendor == "postgresql":
        _copy(model._meta.db_table, names, rows)
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in names)}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(names))})",
            rows,
        )


def _fields(model: type[models.Model]) -> list[models.Field]:
    """The field behind each column `_writer` names (a money field's currency column by its own field)."""
    meta, columns = model._meta, COLUMNS[model]
    fields = [meta.pk, *(meta.get_field(name) for name in columns.plain)]
    for name in columns.money:
        fields += [meta.get_field(name), meta.get_field(f"{name}_currency")]
    return fields + [meta.get_field(name) for name in columns.prepared]


MONEY = object()  # in `_row_spec`: a money field, written as its amount and its currency


def _row_spec(model: type[models.Model]) -> list[tuple[str, Callable | object]]:
    """Each field `row_of` reads, in column order, with its default (or MONEY)."""
    if model not in _specs:
        meta, columns = model._meta, COLUMNS[model]
        spec = [("id", lambda: None)]
        spec += [(name, meta.get_field(name).get_default) for name in columns.plain]
        spec += [(name, MONEY) for name in columns.money]
        spec += [(name, meta.get_field(name).get_default) for name in columns.prepared]
        _specs[model] = spec
    return _specs[model]


_specs: dict[type[models.Model], list[tuple[str, Callable]]] = {}


def _adapted(row: tuple, adapt: list[tuple[int, Callable]]) -> list:
    row = list(row)
    for i, a in adapt:
        row[i] = a(row[i])
    return row


def _adapter(field: models.Field) -> Callable | None:
    """How a value of `field` is handed to the driver, where the driver would not take it as it is."""
    if isinstance(field, models.JSONField):
        ops, encoder = connection.ops, field.encoder
        return lambda value: None if value is None else ops.adapt_json_value(value, encoder)
    if isinstance(field, models.FileField):
        return lambda value: str(value or "")
    if connection.vendor == "postgresql":
        return None
    if isinstance(field, models.UUIDField):
        return lambda value: field.get_db_prep_save(value, connection)
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return connection.ops.adapt_datefield_value
    return None


def _copy(table: str, columns: list[str], rows) -> None:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


def ids_next(model: type[models.Model], count: int) -> list[int]:
    """`count` ids for rows of `model` that `rows_write` will write with their id, so that rows pointing
    to them can be written first: from the table's sequence on PostgreSQL; on SQLite, after the
    highest id ever given (the caller's transaction holds the write lock: `transaction_mode=IMMEDIATE`)."""
    meta, quote = model._meta, connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [quote(meta.db_table), meta.pk.column, count],
            )
            return sorted(pk for (pk,) in cursor.fetchall())
        cursor.execute(
            f"SELECT MAX(n) FROM (SELECT MAX({quote(meta.pk.column)}) AS n FROM {quote(meta.db_table)} "  # noqa: S608
            "UNION ALL SELECT seq FROM sqlite_sequence WHERE name = %s)",
            [meta.db_table],
        )
        last = cursor.fetchone()[0] or 0
    return list(range(last + 1, last + 1 + count))


def ids_reserve(objs: list[models.Model]) -> None:
    """Give each unsaved object its id (`ids_next`), before `rows_insert` writes them: rows that point
    to them can be written first. The objects stay unsaved."""
    for obj, pk in zip(objs, ids_next(type(objs[0]), len(objs)), strict=True):
        obj.pk = pk
