#!/usr/bin/env python
"""Benchmark the support admin at scale (issue 7, "Scale").

    .venv/bin/python bench/admin.py [--invoices 1000000] [--accounts 20000] [--runs 15]
    DATABASE_URL=postgres://… .venv/bin/python bench/admin.py   # an empty, throw-away database

Loads N invoices (bulk insert, one statement per chunk) spread over the
accounts, one account holding a tenth of them, into a temporary SQLite file
(or the empty database named by DATABASE_URL), then measures the median
server time — Django's test Client, logged in as a superuser — of:

- the invoice changelist (newest first, no full-table COUNT(*)),
- the changelist filtered by status,
- a search by invoice number,
- a search by account name,
- the account page of the account with the most invoices.

Each must stay under 500 ms. Prints one line per page and exits non-zero if
one is over the limit.

Measured 2026-11-21 (1,000,000 invoices, 20,000 accounts; also in README):

    page                               SQLite    PostgreSQL 15
    invoice changelist                 147 ms    153 ms
    changelist, status = open          168 ms    205 ms
    search by number                    61 ms     52 ms
    search by account name             195 ms    244 ms
    account page (100,000 invoices)    182 ms    189 ms
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

LIMIT_MS = 500
CHUNK = 5000


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--invoices", "-n", type=int, default=1_000_000)
    p.add_argument("--accounts", type=int, default=20_000)
    p.add_argument("--runs", type=int, default=15, help="timed requests per page (after 2 warm-ups)")
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


def load(n_invoices: int, n_accounts: int, seed: int):
    """Accounts with owners, then invoices by bulk insert; returns the busiest account."""
    from django.db import connection, transaction

    from accounts.models import Account, Membership, User
    from invoicing.models import Invoice

    rng = random.Random(seed)
    started = time.perf_counter()
    with transaction.atomic():
        users = User.objects.bulk_create(
            [User(email=f"owner{i}@bench.example") for i in range(n_accounts)], batch_size=CHUNK
        )
        accounts = Account.objects.bulk_create(
            [Account(name=f"Account {i:06d}", slug=f"account-{i}", currency="USD") for i in range(n_accounts)],
            batch_size=CHUNK,
        )
        Membership.objects.bulk_create(
            [
                Membership(account=a, user=u, email=u.email, role="owner", status="active")
                for a, u in zip(accounts, users, strict=True)
            ],
            batch_size=CHUNK,
        )
    ids = [a.pk for a in accounts]
    busiest = ids[0]
    table = Invoice._meta.db_table
    fields = [f for f in Invoice._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {connection.ops.quote_name(table)} ({columns}) VALUES ({marks})"
    statuses = ["paid"] * 17 + ["open", "void", "uncollectible"]
    first = date(2020, 1, 1)
    span = (date(2026, 11, 1) - first).days
    # Issue dates ascend with the number, as real numbering does; per year numbers restart.
    days = sorted(rng.randrange(span) for _ in range(n_invoices))
    per_year: dict[int, int] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        rows = []
        for i, offset in enumerate(days):
            issued = first + timedelta(days=offset)
            per_year[issued.year] = per_year.get(issued.year, 0) + 1
            account = busiest if i % 10 == 0 else ids[rng.randrange(len(ids))]
            status = statuses[rng.randrange(len(statuses))]
            cents = rng.randrange(700, 50000)
            total = f"{cents // 100}.{cents % 100:02d}"
            values = {
                "account_id": account,
                "subscription_id": None,
                "number": f"INV-{issued.year}-{per_year[issued.year]:06d}",
                "status": status,
                "reason": "renewal",
                "billing_key": None,
                "currency": "USD",
                "issued_on": issued,
                "due_on": issued,
                "tax_rate": "0",
                "subtotal": total,
                "discount": "0.00",
                "discount_label": "",
                "tax": "0.00",
                "total": total,
                "credit_applied": "0.00",
                "amount_due": total,
                "amount_paid": total if status == "paid" else "0.00",
                "paid_on": issued if status == "paid" else None,
                "buyer": '{"locale": "en_US"}',
                "pdf": "",
                "emailed_at": None,
                "reminders_sent": "[]",
                "created_at": f"{issued.isoformat()} 00:00:00+00:00",
            }
            rows.append([values.get(f.column, "USD" if f.column.endswith("_currency") else None) for f in fields])
            if len(rows) == CHUNK:
                cursor.executemany(sql, rows)
                rows = []
        if rows:
            cursor.executemany(sql, rows)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    elif connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return busiest, time.perf_counter() - started


def measure(client, url: str, runs: int) -> float:
    for _ in range(2):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200
    return statistics.median(times)


def main():
    args = parse_args()
    tmp = setup_database()
    from django.db import connection
    from django.urls import reverse

    from accounts.models import User
    from invoicing.models import Invoice

    busiest, load_s = load(args.invoices, args.accounts, args.seed)
    count = Invoice.objects.count()
    sample = Invoice.objects.filter(account_id=busiest).order_by("id").values_list("number", flat=True)[7]
    root = User.objects.create_superuser(email="bench@prorata.example", password=None)
    from bench._login import staff_client

    client = staff_client(root)
    invoices = reverse("admin:invoicing_invoice_changelist")
    pages = [
        ("invoice changelist", invoices),
        ("changelist, status=open", f"{invoices}?status__exact=open"),
        (f"search by number ({sample})", f"{invoices}?q={sample}"),
        ("search by account name", f"{invoices}?q=Account+000123"),
        ("account page (busiest account)", reverse("admin:accounts_account_change", args=[busiest])),
    ]
    vendor = connection.vendor
    print(f"{vendor}: {count:,} invoices over {args.accounts:,} accounts, loaded in {load_s:.0f} s")
    worst = 0.0
    for label, url in pages:
        ms = measure(client, url, args.runs)
        worst = max(worst, ms)
        print(f"  {label:<40} median {ms:7.1f} ms  ({args.runs} runs)")
    if tmp:
        print(f"(temporary database in {tmp})")
    sys.exit(0 if worst < LIMIT_MS else 1)


if __name__ == "__main__":
    main()
