"""Work spread over forked processes, each on its own database connection (the daily run, the document worker)."""

import multiprocessing
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor

from django.db import connections


def map_in_processes(fn: Callable, items: Iterable, *, workers: int, chunksize: int = 1) -> list:
    """`[fn(item) for item in items]`, computed by `workers` forked processes.

    The parent's connections are closed first, so no child shares a socket with it or with
    another child; each opens its own on first use. `fn` must be a module-level function.
    """
    connections.close_all()
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        return list(pool.map(fn, items, chunksize=chunksize))
