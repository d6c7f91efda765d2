#!/usr/bin/env python
"""Benchmark the daily billing run (issue 3, "Performance").

    .venv/bin/python bench/billing_run.py --subscriptions 20000 [--past-invoices 3] [--workers 1,2]

Creates N subscriptions that all renew on one day — mixed plans and currencies,
1–50 seats, monthly and annual, some with waiting proration lines, coupons,
credit balances, tax and minimum seats — in a temporary SQLite file (or the
empty database named by DATABASE_URL), then times `billing_run` for that day
and prints renewals per second, queries per renewal, the peak memory the run
added, and the honest floor: the time to write the same invoice and line rows,
final, straight into the real tables and commit (COPY on PostgreSQL, one
executemany transaction on SQLite), measured in the same run, with the ratio
on wall clock and on CPU (this process plus, on a local PostgreSQL, its backend
process, read from /proc). The tables are vacuumed and analysed before the clock
starts, as autovacuum keeps a database in service. With --profile, set
BENCH_CALLEES to a regular expression to print what those functions call.

With --workers 1,2 (and redis-server installed) the same run is then fanned out to Celery, as
`run_billing` does with a broker: a redis-server on a free local port is started, and for each count W
N more subscriptions due that day are built, `celery -A config worker -c W` is started, and the clock runs
from the fan-out (one `renewals_part` task per --chunk due subscriptions) until the chunks are done and
the rest of the day's run (`billing_run`) has finished in this process; renewals per second are printed
beside the single-process figure. The workers take the chunks only (their own queue); the documents
and card collections they enqueue wait in Redis, as the single-process run's wait in its broker.
"""

import argparse
import os
import random
import signal
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._workers import celery_worker, start_redis  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

DAY = date(2026, 12, 1)
CHUNK = 2000
QUEUE = "bench-renewals"  # the workers take the renewal chunks only, not the documents the renewals enqueue


def settle(connection) -> None:
    """As a database in service is: its tables vacuumed and analysed (autovacuum's work), so that the
    run does not pay for setting the hint bits of the rows the setup just loaded, nor plan on empty-table
    statistics."""
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--subscriptions", "-n", type=int, default=2000, help="subscriptions due on the day (N)")
    p.add_argument("--past-invoices", type=int, default=3, help="paid invoices each account already has")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--workers", help="comma-separated Celery worker process counts to fan the run out to, e.g. 1,2 (Redis)"
    )
    p.add_argument("--chunk", type=int, default=500, help="with --workers: due subscriptions per renewals_part task")
    p.add_argument("--profile", action="store_true", help="print the top functions of a cProfile of the run")
    p.add_argument(
        "--memory", action="store_true", help="trace the run's Python allocations (tracemalloc; slows the run)"
    )
    return p.parse_args()


class PeakRSS:
    """Samples the resident set size while the run goes, to report the peak it added."""

    def __init__(self):
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.base = self.peak = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _rss(self) -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * self.page

    def _sample(self):
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._rss())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._rss())


class QueryCounter:
    """Counts statements: those through Django's cursor, and COPYs (`invoicing.services.rows_write`)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)

    def count_copies(self):
        import psycopg

        copy = psycopg.Cursor.copy

        def counted(cursor, *args, **kwargs):
            self.count += 1
            return copy(cursor, *args, **kwargs)

        psycopg.Cursor.copy = counted


def cpu_seconds() -> float:
    """CPU time of this process (and of any child process it has waited for)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def catalogue() -> tuple[list, object]:
    """The plans (one per seed vendor's policy, and a yen plan) and the coupon the bench accounts use."""
    from djmoney.money import Money

    from subscriptions.models import Coupon, Plan

    # code, name, currency, monthly, annual, other settings: one plan per seed vendor's policy, and a yen plan
    table = [
        ("per-user", "Per user", "USD", "7.00", "70.00", {}),
        ("two-free", "Two months free", "USD", "10.00", "100.00", {"seat_add_billing_annual": "next_invoice"}),
        ("true-up", "True-up", "EUR", "8.00", "80.00", {"seat_add_billing_annual": "monthly_true_up"}),
        ("named", "Named users", "EUR", "12.00", "120.00", {"seat_mode": "fixed", "seat_removal": "credit_prorated"}),
        ("yen", "Yen", "JPY", "900", "9000", {}),
    ]
    plans = [
        Plan.objects.create(
            code=code,
            name=name,
            currency=cur,
            monthly_price=Money(monthly, cur),
            annual_price=Money(annual, cur),
            **extra,
        )
        for code, name, cur, monthly, annual, extra in table
    ]
    return plans, Coupon.objects.create(code="TWENTY", percent_off=Decimal(20), duration_periods=3)


def build(n: int, past: int, rng: random.Random, catalog: tuple[list, object], start_at: int = 0) -> dict:
    """N accounts (numbered from `start_at`), each with one subscription due on DAY; written in chunks
    so memory stays flat."""
    from djmoney.money import Money

    from accounts.models import Account, Membership
    from invoicing.models import CreditEntry, Invoice, InvoiceLine, NumberSeries
    from subscriptions.models import CouponRedemption, Subscription

    plans, coupon = catalog
    numbers = dict(NumberSeries.objects.filter(prefix="INV").values_list("year", "last_value"))
    minimum = {}
    expected = 0
    for first in range(start_at, start_at + n, CHUNK):
        size = min(CHUNK, start_at + n - first)
        shapes = []
        for i in range(first, first + size):
            plan = plans[rng.randrange(len(plans))]
            cycle = "annual" if rng.random() < 0.3 else "monthly"
            start = DAY - timedelta(days=365) if cycle == "annual" else date(2026, 11, 1)
            shapes.append((i, plan, cycle, start, rng.randint(1, 50)))
            minimum[i] = 10 if rng.random() < 0.1 else 0
        accounts = Account.objects.bulk_create(
            [
                Account(
                    name=f"Bench {i}",
                    slug=f"bench-{i}",
                    currency=plan.currency,
                    tax_rate=rng.choice([Decimal(0), Decimal("0.2"), Decimal("0.19")]),
                )
                for i, plan, *_ in shapes
            ]
        )
        members = []
        for acc, (i, plan, _cycle, _start, seats) in zip(accounts, shapes, strict=True):
            takers = 1 if plan.seat_mode == "fixed" else seats
            members += [
                Membership(
                    account=acc,
                    email=f"m{k}@b{i}.test",
                    role="owner" if k == 0 else "member",
                    status="active" if k == 0 else "invited",
                )
                for k in range(takers)
            ]
        Membership.objects.bulk_create(members, batch_size=5000)
        subs = Subscription.objects.bulk_create(
            [
                Subscription(
                    account=acc,
                    plan=plan,
                    cycle=cycle,
                    anchor=start,
                    period_start=start,
                    period_end=DAY,
                    started_on=start - timedelta(days=31 * past),
                    # In step with the members, as the services keep it: the renewal changes no seats.
                    paid_seats=max(seats, minimum[i]),
                    bought_seats=max(seats, minimum[i]) if plan.seat_mode == "fixed" else 0,
                    minimum_seats=minimum[i],
                )
                for acc, (i, plan, cycle, start, seats) in zip(accounts, shapes, strict=True)
            ]
        )
        invoices, lines, credit, waiting, redemptions = [], [], [], [], []
        for acc, sub, (_i, plan, cycle, start, seats) in zip(accounts, subs, shapes, strict=True):
            price = plan.price(cycle)
            for k in range(past):
                issued = start - timedelta(days=31 * (k + 1))
                year = issued.year
                numbers[year] = numbers.get(year, 0) + 1
                amount = Money(price.amount * seats, plan.currency)
                invoices.append(
                    Invoice(
                        account=acc,
                        subscription=sub,
                        reason="renewal",
                        billing_key=f"bench:{sub.pk}:{k}",
                        number=f"INV-{year}-{numbers[year]:06d}",
                        status="draft",
                        currency=plan.currency,
                        issued_on=issued,
                        due_on=issued,
                        paid_on=issued,
                        emailed_at=datetime.combine(issued, datetime.min.time(), tzinfo=UTC),  # delivered then
                        subtotal=amount,
                        total=amount,
                        amount_due=amount,
                        amount_paid=amount,
                        discount=Money(0, plan.currency),
                        tax=Money(0, plan.currency),
                        credit_applied=Money(0, plan.currency),
                        amount_credited=Money(0, plan.currency),
                    )
                )
            if rng.random() < 0.15:
                for k in range(rng.randint(1, 2)):
                    days = rng.randint(1, 29)
                    waiting.append(
                        InvoiceLine(
                            subscription=sub,
                            kind="proration",
                            description=f"{plan.name} · {k + 1} seat added",
                            period_start=DAY - timedelta(days=days),
                            period_end=DAY,
                            quantity=k + 1,
                            unit_price=price,
                            days=days,
                            period_days=30,
                            amount=Money(
                                round(price.amount * (k + 1) * days / 30, 0 if plan.currency == "JPY" else 2),
                                plan.currency,
                            ),
                            bill_on=DAY,
                        )
                    )
            if rng.random() < 0.1:
                redemptions.append(
                    CouponRedemption(
                        coupon=coupon, subscription=sub, redeemed_on=start, periods_used=1, active_period_start=start
                    )
                )
            expected += 1
        invoices = Invoice.objects.bulk_create(invoices, batch_size=5000)
        for inv in invoices:
            lines.append(
                InvoiceLine(
                    invoice=inv,
                    subscription_id=inv.subscription_id,
                    position=1,
                    kind="subscription",
                    description="Seats",
                    period_start=inv.issued_on,
                    period_end=inv.issued_on + timedelta(days=30),
                    quantity=1,
                    unit_price=inv.total,
                    days=30,
                    period_days=30,
                    amount=inv.total,
                )
            )
            if rng.random() < 0.1 / max(1, past):
                credit.append(
                    CreditEntry(
                        account_id=inv.account_id,
                        amount=Money(5, inv.currency),
                        on=inv.issued_on,
                        memo="bench credit",
                        invoice=inv,
                    )
                )
        InvoiceLine.objects.bulk_create(lines + waiting, batch_size=5000)
        # Issued documents are frozen: lines go in while the invoices are drafts, then they are paid.
        Invoice.objects.filter(pk__in=[inv.pk for inv in invoices]).update(status="paid")
        CreditEntry.objects.bulk_create(credit)
        CouponRedemption.objects.bulk_create(redemptions)
    for year, value in numbers.items():
        NumberSeries.objects.update_or_create(prefix="INV", year=year, defaults={"last_value": value})
    return {"subscriptions": expected}


def backend_cpu_seconds() -> float | None:
    """CPU time of this connection's PostgreSQL backend process, read from /proc (a local server only)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None  # SQLite runs inside this process: cpu_seconds() already counts it
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None  # a server on another machine: its CPU is not ours to read
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _floor_rows(table: str, where: str, ids: list[int]) -> tuple[list[str], list[list]]:
    """Every column of the run's rows, read as tuples before the floor's clock starts."""
    from django.db import connection

    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} WHERE {where} IN ({placeholders}) ORDER BY id", ids)
        columns = [c[0] for c in cursor.description]
        return columns, [list(row) for row in cursor.fetchall()]


def floor(invoice_ids: list[int]) -> tuple[float, float, int, int]:
    """The honest floor: seconds (wall, CPU of this process + the database backend) to write the same
    invoice and line rows straight into the real tables, in their final state, and commit.

    PostgreSQL: one COPY of the lines and one COPY of the invoices (new ids from the sequence, final
    numbers and billing keys made unique with a suffix, final statuses), the deferred foreign keys checked
    at COMMIT, the append-only triggers firing as they do for the run. SQLite: one `executemany` per table
    in one committed transaction. The rows stay (the database is a throw-away one)."""
    from django.db import connection, transaction

    inv_cols, invoices, line_cols, lines = [], [], [], []
    for first in range(0, len(invoice_ids), CHUNK):
        ids = invoice_ids[first : first + CHUNK]
        inv_cols, rows = _floor_rows("invoicing_invoice", "id", ids)
        invoices += rows
        line_cols, rows = _floor_rows("invoicing_invoiceline", "invoice_id", ids)
        lines += rows
    if not invoices:
        return 0.0, 0.0, 0, 0
    pg = connection.vendor == "postgresql"
    i_id, i_number, i_key = (inv_cols.index(c) for c in ("id", "number", "billing_key"))
    l_id, l_invoice = line_cols.index("id"), line_cols.index("invoice_id")
    with connection.cursor() as cursor:
        if pg:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence('invoicing_invoice', 'id')) FROM generate_series(1, %s)",
                [len(invoices)],
            )
            new_ids = [r[0] for r in cursor.fetchall()]
        else:
            cursor.execute("SELECT COALESCE(MAX(id), 0) FROM invoicing_invoice")
            top = cursor.fetchone()[0]
            new_ids = list(range(top + 1, top + 1 + len(invoices)))
    renumber = {}
    for row, new_id in zip(invoices, new_ids, strict=True):
        renumber[row[i_id]] = new_id
        row[i_id] = new_id
        row[i_number] = f"{row[i_number]}F" if row[i_number] else None
        row[i_key] = f"floor:{row[i_key]}" if row[i_key] else None
    for row in lines:
        row[l_invoice] = renumber[row[l_invoice]]
    line_cols_written = [c for c in line_cols if c != "id"]
    lines = [[v for n, v in enumerate(row) if n != l_id] for row in lines]
    if pg:
        from psycopg.types.json import Jsonb

        def adapt(rows):
            return [[Jsonb(v) if isinstance(v, (dict, list)) else v for v in row] for row in rows]

        invoices, lines = adapt(invoices), adapt(lines)

    t0, c0, b0 = time.perf_counter(), cpu_seconds(), backend_cpu_seconds()
    with transaction.atomic(), connection.cursor() as cursor:
        if pg:
            raw = cursor.cursor  # psycopg's own cursor, for COPY
            # Lines first: their invoices do not exist yet, so the append-only trigger lets them in,
            # and the deferred foreign key is checked at COMMIT — as a run that writes invoices last.
            with raw.copy(f"COPY invoicing_invoiceline ({', '.join(line_cols_written)}) FROM STDIN") as copy:
                for row in lines:
                    copy.write_row(row)
            with raw.copy(f"COPY invoicing_invoice ({', '.join(inv_cols)}) FROM STDIN") as copy:
                for row in invoices:
                    copy.write_row(row)
        else:
            cursor.executemany(
                f"INSERT INTO invoicing_invoice ({', '.join(inv_cols)}) VALUES ({', '.join(['%s'] * len(inv_cols))})",
                invoices,
            )
            cursor.executemany(
                f"INSERT INTO invoicing_invoiceline ({', '.join(line_cols_written)}) "
                f"VALUES ({', '.join(['%s'] * len(line_cols_written))})",
                lines,
            )
    elapsed = time.perf_counter() - t0
    cpu = cpu_seconds() - c0 + ((backend_cpu_seconds() or 0.0) - (b0 or 0.0))
    return elapsed, cpu, len(invoices), len(lines)


def fanned_run(workers: int) -> tuple[object, float, float]:
    """The day's run as `run_billing` does it with a broker: the chunks on the workers, then the rest of
    the day here; (its summary, wall seconds from the fan-out to the end, of which the chunks took)."""
    from subscriptions.management.commands.run_billing import fanned_out
    from subscriptions.services import billing_run

    with celery_worker(workers, "-Q", QUEUE, "--without-gossip", "--without-mingle", "--without-heartbeat"):
        t0 = time.perf_counter()
        summary = fanned_out(DAY, None)
        chunks = time.perf_counter() - t0
        summary.add(billing_run(on=DAY))
        return summary, time.perf_counter() - t0, chunks


def celery_rounds(args, catalog, rng, single_rate: float) -> None:
    """For each worker count: N fresh subscriptions due on DAY, billed by the fanned-out run."""
    from django.db import connection

    counts = [int(w) for w in args.workers.split(",")]
    for round_, workers in enumerate(counts, start=1):
        build(args.subscriptions, args.past_invoices, rng, catalog, start_at=round_ * args.subscriptions)
        settle(connection)
        summary, seconds, chunks = fanned_run(workers)
        plural = "es" if workers > 1 else ""
        print(
            f"Celery on Redis, {workers} worker process{plural} ({args.chunk} per chunk): {summary.renewed} renewed, "
            f"{summary.issued} invoices in {seconds:.2f}s (chunks {chunks:.2f}s, then the rest of the day): "
            f"{summary.renewed / seconds:,.0f} renewals/s (single process: {single_rate:,.0f}/s)"
        )
        if summary.renewed != args.subscriptions:
            sys.exit("bench: unexpected result")


def main():
    args = parse_args()
    tmp = tempfile.TemporaryDirectory(prefix="prorata-bench-")
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp.name}/bench.sqlite3"
    # PDFs and emails are background tasks (bench/pdf.py times them): here they go to a broker that nothing
    # reads (this process's memory; with --workers, Redis), so the bench times the billing and the
    # enqueueing, not WeasyPrint.
    redis = None
    if args.workers:
        redis = start_redis(tmp.name)
        if redis is None:
            sys.exit("bench: --workers needs redis-server (Debian package redis-server)")
        os.environ["BILLING_RUN_CHUNK"] = str(args.chunk)
    os.environ["CELERY_BROKER_URL"] = redis[1] if redis else "memory://"
    os.environ["CELERY_RESULT_BACKEND"] = redis[1] if redis else "cache+memory://"
    # As the daily job runs in production: DEBUG would keep every SQL statement in memory.
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if redis:
        from config.celery import app

        # Before anything is sent: Celery reads its routes once, at the first message.
        app.conf.task_routes = {"subscriptions.renewals_part": {"queue": QUEUE}}
        signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: stopped"))  # the workers are stopped too

    from invoicing.models import Invoice
    from subscriptions.services import billing_run

    call_command("migrate", verbosity=0)
    if Invoice.objects.exists():
        sys.exit("bench: the database is not empty; point DATABASE_URL at an empty database (or unset it)")
    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    catalog = catalogue()
    made = build(args.subscriptions, args.past_invoices, rng, catalog)
    settle(connection)
    print(
        f"setup: {made['subscriptions']} subscriptions due {DAY}, {args.past_invoices} past invoices each, "
        f"{connection.vendor} ({time.perf_counter() - t0:.1f}s)"
    )
    before = set(Invoice.objects.values_list("pk", flat=True)) if args.subscriptions <= 50_000 else None
    counter = QueryCounter()
    if connection.vendor == "postgresql":
        counter.count_copies()
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
    if args.memory:
        import tracemalloc

        tracemalloc.start()
    with PeakRSS() as rss, connection.execute_wrapper(counter):
        t0, c0, b0 = time.perf_counter(), cpu_seconds(), backend_cpu_seconds()
        if profiler:
            profiler.enable()
        summary = billing_run(on=DAY)
        if profiler:
            profiler.disable()
        run, cpu = time.perf_counter() - t0, cpu_seconds() - c0
        db_cpu = (backend_cpu_seconds() or 0.0) - (b0 or 0.0)
        cpu += db_cpu
    traced = tracemalloc.get_traced_memory()[1] if args.memory else None
    if args.memory:
        tracemalloc.stop()
    renewed = summary.renewed
    new_ids = sorted(
        Invoice.objects.filter(issued_on=DAY).values_list("pk", flat=True)
        if before is None
        else set(Invoice.objects.values_list("pk", flat=True)) - before
    )
    again = billing_run(on=DAY)
    floor_s, floor_cpu, n_inv, n_lines = floor(new_ids)
    print(
        f"billing_run: {summary.subscriptions} subscriptions, {renewed} renewed, {len(new_ids)} invoices in {run:.2f}s"
    )
    print(f"  renewals/s:          {renewed / run:,.0f} (wall); {renewed / cpu:,.0f} per CPU second")
    print(f"  CPU:                 {cpu:.2f} s ({cpu - db_cpu:.2f} Python, {db_cpu:.2f} database backend)")
    print(f"  queries:             {counter.count} ({counter.count / max(renewed, 1):.3f} per renewal)")
    print(f"  peak memory added:   {(rss.peak - rss.base) / 2**20:.1f} MiB (RSS)")
    if traced is not None:
        print(f"  peak traced memory:  {traced / 2**20:.1f} MiB (tracemalloc; timings above are slowed by it)")
    print(f"  totals:              {summary.totals()}")
    print(
        f"floor: {'COPY' if connection.vendor == 'postgresql' else 'executemany'} of the same {n_inv} invoices "
        f"and {n_lines} lines, committed: {floor_s:.2f}s, {floor_cpu:.2f} CPU-s "
        f"({n_inv / floor_s if floor_s else 0:,.0f} invoices/s; "
        f"{n_inv / floor_cpu if floor_cpu else 0:,.0f} per CPU second)"
    )
    print(
        f"ratio run/floor:       {run / floor_s if floor_s else float('nan'):.1f}× wall, "
        f"{cpu / floor_cpu if floor_cpu else float('nan'):.1f}× CPU"
    )
    print(f"second run the same day: {again.renewed} renewed, {again.issued} invoices")
    if profiler:
        import pstats

        stats = pstats.Stats(profiler)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(r"/work/main/(?!\.venv)", 60)
        if os.environ.get("BENCH_CALLEES"):
            stats.print_callees(os.environ["BENCH_CALLEES"])
    if renewed != made["subscriptions"] or again.issued:
        sys.exit("bench: unexpected result")
    if redis:
        try:
            celery_rounds(args, catalog, rng, renewed / run)
        finally:
            redis[0].terminate()
            redis[0].wait(10)


if __name__ == "__main__":
    main()
