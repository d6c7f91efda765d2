"""Dry runs: a preview runs the real services, and this says to everything with an outside effect to hold back.

`preview()` (subscriptions.previews) runs a service inside `dry_run()` and rolls it back. The few places
that reach outside the database consult `is_dry_run()` — task enqueueing (`common.background`), the
payment gateways (card charges, refunds), PDF rendering and storing, email — and do nothing; invoice
numbering hands out provisional numbers without taking the number-series lock (`provisional_number`).
Nor does a dry run spend anything on what it rolls back: the services' `atomic` opens no savepoint of its
own in it, `rows_lock` and `for_update` lock no row, and `common.history` records no history.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import TypeVar

from django.db import transaction

T = TypeVar("T")

_state: ContextVar[dict | None] = ContextVar("prorata_dry_run", default=None)


@contextmanager
def dry_run() -> Iterator[None]:
    """Everything run inside is a rehearsal: no outside call, no PDF, no email, no task, no number consumed."""
    token = _state.set({"numbers": {}} if _state.get() is None else _state.get())
    try:
        yield
    finally:
        _state.reset(token)


def is_dry_run() -> bool:
    return _state.get() is not None


def read_once(key: tuple, read: Callable[[], T]) -> T:
    """`read()`; in a dry run, once per dry run for `key`: for rows no dry run writes (the tax rates, the
    number series' counters), which the change and the daily runs after it would otherwise read again."""
    state = _state.get()
    if state is None:
        return read()
    reads = state.setdefault("reads", {})
    if key not in reads:
        reads[key] = read()
    return reads[key]


@contextmanager
def aside() -> Iterator[None]:
    """A part of a dry run rolled back on its own, at its end (a savepoint): what runs after it finds the
    database, and the provisional numbers to hand out, as they were before it (issue 15). Two queries: one
    dry run that tries two things costs less than two dry runs. Inside a transaction only.

    A service's block (`atomic`) that fails in it has no savepoint of its own and so marks the whole
    transaction for rollback; rolled back to before the part, it is whole again, and the dry run goes on.
    """
    state = _state.get()
    numbers = dict(state["numbers"])
    sid = transaction.savepoint()
    try:
        yield
    finally:
        transaction.set_rollback(False)  # what marked it for rollback is undone just below
        transaction.savepoint_rollback(sid)
        state["numbers"] = numbers


def provisional_offset(series: str, count: int) -> int:
    """How many numbers of `series` this dry run has already handed out; reserves `count` more."""
    numbers = _state.get()["numbers"]
    start = numbers.get(series, 0)
    numbers[series] = start + count
    return start


def atomic(func=None):
    """`transaction.atomic()` for the services and the daily run's blocks: a transaction (or savepoint) of its
    own when run for real; inside a dry run no savepoint of its own (two queries less a block, issue 15).

    Use it bare as a decorator (`@atomic`) or call it for a `with` block (`with atomic():`); whether it is
    a dry run is asked each time the block is entered. An error in it still rolls the whole dry run back:
    the previews that run it catch nothing they go on querying after. A block that catches a database
    error and goes on querying (an `IntegrityError` on a unique key, then a lookup) keeps
    `transaction.atomic()`; one that only turns it into a `Refused` may use this.
    """
    if func is None:
        return transaction.atomic(savepoint=not is_dry_run())

    @wraps(func)
    def wrapped(*args, **kwargs):
        with transaction.atomic(savepoint=not is_dry_run()):
            return func(*args, **kwargs)

    return wrapped


def rows_lock(queryset) -> None:
    """Lock the rows of `queryset` to the end of the transaction (`SELECT … FOR UPDATE`), for a change that
    must not run beside another of the same rows. A dry run locks nothing: a preview rolls back, and waits
    on no one (Settings › Subscription beside a billing run, issue 15)."""
    if not is_dry_run():
        list(queryset.select_for_update().order_by("pk").values_list("pk", flat=True))


def for_update(queryset):
    """`queryset.select_for_update()` — read rows to change them, locked to the end of the transaction —
    except in a dry run, which reads them as they are and waits on no one (see `rows_lock`)."""
    return queryset if is_dry_run() else queryset.select_for_update()
