"""Dry runs: a preview runs the real services, and this says to everything with an outside effect to hold back.

`preview()` (subscriptions.previews) runs a service inside `dry_run()` and rolls it back. The few places
that reach outside the database consult `is_dry_run()` — task enqueueing (`common.background`), the
payment gateways (card charges, refunds), PDF rendering and storing, email — and do nothing; invoice
numbering hands out provisional numbers without taking the number-series lock (`provisional_number`).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import transaction

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


def provisional_offset(series: str, count: int) -> int:
    """How many numbers of `series` this dry run has already handed out; reserves `count` more."""
    numbers = _state.get()["numbers"]
    start = numbers.get(series, 0)
    numbers[series] = start + count
    return start


def atomic():
    """`transaction.atomic()` for a block of the daily run: one transaction when run for real, and inside a
    dry run no savepoint of its own (two queries less a block, issue 15). An error in it still rolls the
    whole dry run back: the preview that runs it catches nothing it goes on querying after.
    """
    return transaction.atomic(savepoint=not is_dry_run())
