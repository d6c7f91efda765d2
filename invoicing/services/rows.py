"""Rows as the services write them: a core line as a line row (the one mapper), and
`rows_of`/`rows_write`, the daily run's row writer (COPY on PostgreSQL), with the columns it writes named per table."""

import functools
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NamedTuple

from django.db import connection, models
from django.utils import timezone
from moneyed import Money

from billing import plan as core
from billing.calendar import Period
from billing.proration import currency_of
from common.lookups import AnyOf
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


class Waiting(NamedTuple):
    """A waiting line as issuing puts it on an invoice: its row's id and what it charges (no instance)."""

    pk: int
    line: core.Line


def waiting_of(lines: Iterable[InvoiceLine]) -> list[Waiting]:
    return [Waiting(line.pk, line_to_core(line)) for line in lines]


WAITING_FIELDS = ("id", "subscription_id", "kind", "description", "period_start", "period_end", "quantity")
WAITING_FIELDS += ("unit_price", "unit_price_currency", "amount", "amount_currency", "days", "period_days")


def waiting_by_subscription(subscription_ids: list[int]) -> dict[int, list[Waiting]]:
    """The lines waiting for an invoice (SPEC §2.3) of many subscriptions, by billing day, read as rows."""
    lines = InvoiceLine.objects.filter(AnyOf("subscription_id", subscription_ids), invoice__isnull=True)
    found: dict[int, list[Waiting]] = {}
    for pk, sub_id, kind, text, start, end, quantity, unit, unit_code, amount, code, days, of in lines.order_by(
        "bill_on", "id"
    ).values_list(*WAITING_FIELDS):
        unit_price, amount = Money(unit, currency_of(unit_code)), Money(amount, currency_of(code))
        line = core.Line(kind, text, Period(start, end), quantity, unit_price, amount, days, of)
        found.setdefault(sub_id, []).append(Waiting(pk, line))
    return found


@dataclass(frozen=True)
class Columns:
    """The columns `rows_write` writes to one table, besides the id, named one by one.

    `plain`: a field by its attribute name (a foreign key by its `_id`);
    `money`: a MoneyField, written as its amount and its `<name>_currency` column.
    A test checks that they are exactly the table's columns.
    """

    plain: tuple[str, ...]
    money: tuple[str, ...] = ()


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
            "buyer",
            "pdf",
            "reminders_sent",
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


def rows_register(model: type[models.Model], *, plain: tuple[str, ...], money=()) -> None:
    """Name the columns of another app's table, so that `rows_write` can write its rows."""
    COLUMNS[model] = Columns(plain=tuple(plain), money=tuple(money))
    _tables.pop(model, None)


MONEY = object()  # a money field's default in `_Table.spec`: written as its amount and its currency
NOW = object()  # a `default=timezone.now` field's: one now for all the rows `rows_of` builds together


@dataclass(frozen=True)
class _Table:
    """What `rows_of` and `rows_write` know of one table: its column names (id first), the field behind
    each column, and each field `rows_of` reads with its default (or MONEY, NOW)."""

    names: list[str]
    fields: list[models.Field]
    spec: list[tuple[str, Callable | object]]


_tables: dict[type[models.Model], _Table] = {}


def _table(model: type[models.Model]) -> _Table:
    if model not in _tables:
        columns, meta = COLUMNS.get(model), model._meta
        if columns is None:
            raise LookupError(f"rows_write does not know the columns of {meta.label}; name them with rows_register.")
        fields, spec = [meta.pk], [("id", lambda: None)]
        for name in columns.plain:
            field = meta.get_field(name)
            fields.append(field)
            spec.append((name, NOW if field.default is timezone.now else field.get_default))
        for name in columns.money:
            fields += [meta.get_field(name), meta.get_field(f"{name}_currency")]
            spec.append((name, MONEY))
        _tables[model] = _Table([f.column for f in fields], fields, spec)
    return _tables[model]


def row_of(model: type[models.Model], values: dict) -> tuple:
    """The row `rows_write` writes for field `values`: `rows_of` of one."""
    return rows_of(model, [values])[0]


def rows_of(model: type[models.Model], values: Iterable[dict]) -> list[tuple]:
    """The rows `rows_write` writes for each of `values` (field values: a foreign key by its `_id`, the id
    under "id", a money field as its `Money`): every column `rows_register` names for `model`, in order,
    a missing one at the field's default, the same now for all of them (one transaction writes them)."""
    spec, now = _table(model).spec, timezone.now()
    rows = []
    for given in values:
        row = []
        for key, default in spec:
            if default is MONEY:
                money = given[key]
                row += [money.amount, money.currency.code]
            elif key in given:
                row.append(given[key])
            else:
                row.append(now if default is NOW else default())
        rows.append(tuple(row))
    return rows


def rows_write(model: type[models.Model], rows: list[tuple]) -> None:
    """Rows built by `rows_of` straight into `model`'s table, in the caller's transaction: the daily
    run's writer for rows it never needs as instances (no signals, no `save()`, no frozen guard: the
    rows are the caller's own new ones). `bulk_create`'s per-value preparation costs more than the
    insert itself.

    COPY on PostgreSQL; one `executemany` INSERT elsewhere, each value adapted as the field would.
    Rows whose id is None are given theirs by the database.
    """
    table = _table(model)
    if not rows:
        return
    names, adapters = table.names, [_adapter(field) for field in table.fields]
    if rows[0][0] is None:  # the database gives the ids
        names, adapters, rows = names[1:], adapters[1:], [row[1:] for row in rows]
    adapt = [(i, a) for i, a in enumerate(adapters) if a is not None]
    if adapt:
        rows = [_adapted(row, adapt) for row in rows]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(c) for c in names)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        cursor.executemany(
            f"INSERT INTO {quote(model._meta.db_table)} ({columns}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(names))})",
            rows,
        )


def rows_update(model: type[models.Model], names: tuple[str, ...], rows: list[tuple], *, still_null: str = "") -> None:
    """Give many rows of `model` each its own values, in the caller's transaction: (id, value of each of
    `names`, by attribute name) per row. One `UPDATE … FROM unnest` on PostgreSQL, one `executemany`
    UPDATE elsewhere; `bulk_update` builds a CASE per row and field and costs more than the writes.
    With `still_null` (a field's attribute name), only rows where it is still NULL change (a waiting line
    not on an invoice yet). No signals, no `save()`, no history: for the services' bookkeeping columns.
    """
    if not rows:
        return
    meta, quote = model._meta, connection.ops.quote_name
    fields = [meta.pk, *(meta.get_field(name) for name in names)]
    table = quote(meta.db_table)
    null = quote(meta.get_field(still_null).column) if still_null else None
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            columns = [quote(f.column) for f in fields]
            arrays = ", ".join(f"%s::{f.cast_db_type(connection)}[]" for f in fields)
            assignments = ", ".join(f"{c} = new.{c}" for c in columns[1:])
            cursor.execute(
                f"UPDATE {table} AS target SET {assignments} FROM unnest({arrays}) AS new({', '.join(columns)}) "  # noqa: S608
                f"WHERE target.{columns[0]} = new.{columns[0]}" + (f" AND target.{null} IS NULL" if null else ""),
                [list(column) for column in zip(*rows, strict=True)],
            )
            return
        adapt = [(i, a) for i, a in enumerate(_adapter(f) for f in fields[1:]) if a is not None]
        assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields[1:])
        cursor.executemany(
            f"UPDATE {table} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
            + (f" AND {null} IS NULL" if null else ""),
            [(*(_adapted(row[1:], adapt) if adapt else row[1:]), row[0]) for row in rows],
        )


def _adapted(row: tuple, adapt: list[tuple[int, Callable]]) -> list:
    row = list(row)
    for i, a in adapt:
        row[i] = a(row[i])
    return row


def _adapter(field: models.Field) -> Callable | None:
    """How a value of `field` is handed to the driver, where the driver would not take it as it is."""
    if isinstance(field, models.JSONField):  # as its text, which COPY and SQLite take alike
        dumps = functools.partial(json.dumps, cls=field.encoder) if field.encoder else json.dumps
        return lambda value: None if value is None else dumps(value)
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
