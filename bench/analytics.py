#!/usr/bin/env python
"""Benchmark the Revenue admin page at scale (issue 21, "Speed and scale").

    python bench/analytics.py [--subscriptions 100000] [--invoices 1000000] [--months 12] [--runs 10]
    DATABASE_URL=postgres://… python bench/analytics.py   # an empty, throw-away database

Loads N subscriptions (one account each, on three USD plans and one EUR plan, monthly and annual,
some canceled, expired or trialing, some with a coupon) and M invoices with one line each (bulk
inserts, one statement per chunk) into a temporary SQLite file or the empty database named by
DATABASE_URL; builds the revenue snapshots with `backfill_revenue` (timed); then measures the median
server time and the number of queries — Django's test Client, logged in as a Finance user — of:

- the Revenue page (12 months, USD), and the same over 24 months,
- its CSV export of the movements table,
- an account page with its revenue strip.

The target is 300 ms for the Revenue page; the script prints the figures and exits non-zero if a page
is over it. The query count must not depend on the size (compare a run with small N).
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

LIMIT_MS = 300
CHUNK = 5000
TODAY = date(2026, 12, 1)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--subscriptions", "-s", type=int, default=100_000)
    p.add_argument("--invoices", "-n", type=int, default=1_000_000)
    p.add_argument("--months", type=int, default=12, help="history the subscriptions start within")
    p.add_argument("--runs", type=int, default=10, help="timed requests per page (after 2 warm-ups)")
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args()


def setup_database():
    tmp = None
    if not os.environ.get("DATABASE_URL"):
        tmp = tempfile.mkdtemp(prefix="prorata-bench-")
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    return tmp


def _insert(cursor, model, rows: list[dict]):
    """One INSERT statement per chunk of rows, every concrete column but the key."""
    from django.db import connection

    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) VALUES ({marks})"
    cursor.executemany(sql, [[_value(row, f.column) for f in fields] for row in rows])


def load(n_subs: int, n_invoices: int, months: int, seed: int):
    """Plans, accounts, subscriptions (ORM bulk_create) and invoices with their lines (raw inserts)."""
    from django.db import connection, transaction
    from moneyed import Money

    from accounts.models import Account
    from billing.calendar import add_months, first_period, period_for
    from invoicing.models import Invoice, InvoiceLine
    from subscriptions.models import Coupon, CouponRedemption, Plan, Subscription

    rng = random.Random(seed)
    started = time.perf_counter()
    plans = [
        Plan.objects.create(
            code=code, name=code.title(), currency=cur, monthly_price=Money(m, cur), annual_price=Money(a, cur)
        )
        for code, cur, m, a in [
            ("starter", "USD", "5.00", "50.00"),
            ("team", "USD", "10.00", "100.00"),
            ("business", "USD", "20.00", "200.00"),
            ("team-eur", "EUR", "9.00", "90.00"),
        ]
    ]
    coupon = Coupon.objects.create(code="BENCH25", percent_off=25, duration_periods=None)
    first_day = add_months(TODAY, -months)
    span = (TODAY - first_day).days
    with transaction.atomic():
        accounts = Account.objects.bulk_create(
            [
                Account(name=f"Account {i:06d}", slug=f"account-{i}", currency="EUR" if i % 10 == 9 else "USD")
                for i in range(n_subs)
            ],
            batch_size=CHUNK,
        )
        subs = []
        for account in accounts:
            plan = plans[3] if account.currency == "EUR" else plans[rng.randrange(3)]
            cycle = "annual" if rng.random() < 0.25 else "monthly"
            start = first_day + timedelta(days=rng.randrange(span))
            period = period_for(start, cycle, TODAY) if start <= TODAY else first_period(start, cycle)
            roll = rng.random()
            status, expired_on, cancel = "active", None, False
            if roll < 0.08:
                status, expired_on = "expired", start + timedelta(days=rng.randrange(max((TODAY - start).days, 1)))
            elif roll < 0.12:
                status, cancel = "canceled", True
            elif roll < 0.15:
                status = "trialing"
            elif roll < 0.18:
                status = "past_due"
            seats = rng.randrange(1, 40)
            subs.append(
                Subscription(
                    account=account,
                    plan=plan,
                    cycle=cycle,
                    status=status,
                    anchor=start,
                    period_start=period.start,
                    period_end=period.end,
                    paid_seats=seats,
                    cancel_at_period_end=cancel,
                    started_on=start,
                    expired_on=expired_on,
                )
            )
        Subscription.objects.bulk_create(subs, batch_size=CHUNK)
        CouponRedemption.objects.bulk_create(
            [
                CouponRedemption(coupon=coupon, subscription=s, redeemed_on=s.started_on)
                for s in subs[::20]
                if s.status != "expired"
            ],
            batch_size=CHUNK,
        )
    statuses = ["paid"] * 17 + ["open", "open", "void"]
    days = sorted(rng.randrange(span) for _ in range(n_invoices))
    per_year: dict[int, int] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        invoice_rows, line_rows = [], []
        next_id = (Invoice.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
        for offset in days:
            issued = first_day + timedelta(days=offset)
            per_year[issued.year] = per_year.get(issued.year, 0) + 1
            sub = subs[rng.randrange(len(subs))]
            status = statuses[rng.randrange(len(statuses))]
            cur = sub.plan.currency
            cents = rng.randrange(500, 50000)
            total = f"{cents // 100}.{cents % 100:02d}"
            months_long = 12 if sub.cycle == "annual" else 1
            invoice_rows.append(
                {
                    "id": next_id,
                    "created_at": f"{issued.isoformat()} 00:00:00+00:00",
                    "account_id": sub.account_id,
                    "subscription_id": sub.pk,
                    "number": f"INV-{issued.year}-{per_year[issued.year]:07d}",
                    "status": status,
                    "reason": "renewal",
                    "currency": cur,
                    "issued_on": issued,
                    "due_on": issued + timedelta(days=14),
                    "tax_rate": "0",
                    "tax_reason": "manual",
                    "tax_included": False,
                    "subtotal": total,
                    "discount": "0.00",
                    "discount_label": "",
                    "tax": "0.00",
                    "total": total,
                    "credit_applied": "0.00",
                    "amount_due": total,
                    "amount_paid": total if status == "paid" else "0.00",
                    "amount_credited": "0.00",
                    "paid_on": issued if status == "paid" else None,
                    "buyer": "{}",
                    "pdf": "",
                    "reminders_sent": "[]",
                    "_cur": cur,
                }
            )
            line_rows.append(
                {
                    "description": "Seats",
                    "period_start": issued,
                    "period_end": add_months(issued, months_long),
                    "quantity": 1,
                    "unit_price": total,
                    "days": (add_months(issued, months_long) - issued).days,
                    "period_days": (add_months(issued, months_long) - issued).days,
                    "amount": total,
                    "_cur": cur,
                    "invoice_id": next_id,
                    "subscription_id": sub.pk,
                    "position": 0,
                    "kind": "subscription",
                }
            )
            next_id += 1
            if len(invoice_rows) == CHUNK:
                # Lines first: the append-only trigger refuses lines added to an issued invoice (the
                # foreign key is checked at commit).
                _insert(cursor, InvoiceLine, line_rows)
                _insert_with_id(cursor, Invoice, invoice_rows)
                invoice_rows, line_rows = [], []
        if invoice_rows:
            _insert(cursor, InvoiceLine, line_rows)
            _insert_with_id(cursor, Invoice, invoice_rows)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT setval(pg_get_serial_sequence('invoicing_invoice', 'id'), %s)", [next_id])
            cursor.execute("ANALYZE")
        else:
            cursor.execute("ANALYZE")
    return time.perf_counter() - started


def _value(row: dict, column: str):
    """A column's value; a money field's currency column takes the row's currency."""
    if column in row:
        return row[column]
    return row["_cur"] if column.endswith("_currency") else None


def _insert_with_id(cursor, model, rows: list[dict]):
    from django.db import connection

    fields = list(model._meta.concrete_fields)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({columns}) VALUES ({marks})"
    cursor.executemany(sql, [[_value(row, f.column) for f in fields] for row in rows])


def measure(client, url: str, runs: int) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    slowest = max(queries.captured_queries, key=lambda q: float(q["time"]))
    return statistics.median(times), len(queries), float(slowest["time"]) * 1000, slowest["sql"][:70]


def main():
    args = parse_args()
    tmp = setup_database()
    import time_machine
    from django.contrib.auth.models import Group
    from django.db import connection
    from django.urls import reverse

    from accounts.models import User
    from accounts.staff_groups import FINANCE, staff_groups_sync
    from invoicing.models import Invoice
    from revenue.models import RevenueMonth, SubscriptionMonth
    from revenue.services import revenue_backfill
    from subscriptions.models import Subscription

    with time_machine.travel(TODAY, tick=False):
        load_s = load(args.subscriptions, args.invoices, args.months, args.seed)
        t = time.perf_counter()
        months = revenue_backfill(until=TODAY)
        backfill_s = time.perf_counter() - t
        vendor = connection.vendor
        print(
            f"{vendor}: {Subscription.objects.count():,} subscriptions, {Invoice.objects.count():,} invoices, "
            f"loaded in {load_s:.0f} s; backfill_revenue of {months} months in {backfill_s:.0f} s "
            f"({SubscriptionMonth.objects.count():,} subscription snapshots, {RevenueMonth.objects.count()} months)"
        )
        staff_groups_sync()
        finance = User.objects.create_user(email="finance@bench.example", password=None, is_staff=True)
        finance.groups.add(Group.objects.get(name=FINANCE))
        from bench._login import staff_client

        client = staff_client(finance)
        page = reverse("admin:revenue_revenuemonth_changelist")
        account = Subscription.objects.filter(status="active").order_by("id").values_list("account_id", flat=True)[0]
        pages = [
            ("Revenue page, 12 months, USD", f"{page}?currency=USD", True),
            ("Revenue page, 24 months, USD", f"{page}?currency=USD&from=2024-12&to=2026-11", True),
            ("CSV of the movements", f"{page}?currency=USD&csv=movements", True),
            ("account page with its strip", reverse("admin:accounts_account_change", args=[account]), False),
        ]
        over = False
        for label, url, limited in pages:
            ms, queries, slow_ms, slow_sql = measure(client, url, args.runs)
            flag = "  OVER" if limited and ms > LIMIT_MS else ""
            over |= bool(flag)
            print(f"  {label:<34} {ms:7.1f} ms  {queries:3d} queries{flag}  (slowest {slow_ms:.0f} ms: {slow_sql}…)")
    if tmp:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(1 if over else 0)


if __name__ == "__main__":
    main()
