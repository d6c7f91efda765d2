#!/usr/bin/env python
"""Benchmark the customer's Settings pages at size (issue 6, "Performance").

    .venv/bin/python bench/pages.py [--members 1000] [--invoices 500] [--runs 15]
    DATABASE_URL=postgres://… .venv/bin/python bench/pages.py   # an empty, throw-away database

Builds two accounts through the real services (bench/_data.py): a small
one (3 members, 1 invoice) and a large one (1,000 members, 500 invoices), on
a temporary SQLite file or the empty database named by DATABASE_URL. Then, for
each Settings page, prints the median server time (Django's test Client,
signed in as the owner; 2 warm-ups, then --runs timed requests) and the number
of queries for both accounts, so that one can see the count does not grow.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--members", type=int, default=1000)
    p.add_argument("--invoices", type=int, default=500)
    p.add_argument("--runs", type=int, default=15, help="timed requests per page (after 2 warm-ups)")
    return p.parse_args()


def setup_database():
    if not os.environ.get("DATABASE_URL"):
        tmp = tempfile.mkdtemp(prefix="prorata-bench-pages-")
        os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    # Documents' PDFs and emails are tasks: to a broker in this process's memory that nothing reads.
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    os.environ.setdefault("CELERY_RESULT_BACKEND", "cache+memory://")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


PAGES = [
    ("Subscription", "get", "/settings/subscription/", None),
    ("Invoices (latest year)", "get", "/settings/invoices/", None),
    ("Invoices (all years)", "get", "/settings/invoices/?year=all", None),
    ("Members", "get", "/settings/members/", None),
    ("Switch to annual: preview", "get", "/settings/subscription/cycle/?cycle=annual", None),
    ("Invite: cost preview", "post", "/settings/members/invite/", {"emails": "new@bench.example", "role": "member"}),
    ("Cancel: preview", "get", "/settings/subscription/cancel/?reason=too_expensive", None),
]


def measure(client, method: str, url: str, data, runs: int) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def once():
        response = getattr(client, method)(url, data) if data else getattr(client, method)(url)
        assert response.status_code == 200, (url, response.status_code)

    for _ in range(2):
        once()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        once()
        times.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as queries:
        once()
    return statistics.median(times) * 1000, len(queries)


def main():
    args = parse_args()
    setup_database()
    import time_machine
    from django.test import Client

    from bench._data import members_and_invoices_add, team_account

    with time_machine.travel("2026-11-15 12:00Z", tick=True):
        from datetime import date

        small, small_owner, plan = team_account(name="Small", on=date(2026, 11, 1))
        large, large_owner, _ = team_account(name="Large", on=date(2026, 11, 1), plan=plan)
        started = time.perf_counter()
        members_and_invoices_add(large, members=args.members, invoices=args.invoices, on=date(2026, 11, 1))
        print(f"loaded {args.members} members and {args.invoices} invoices in {time.perf_counter() - started:.1f} s")
        clients = {}
        for account, owner in ((small, small_owner), (large, large_owner)):
            clients[account.name] = Client()
            clients[account.name].force_login(owner)
        print(f"{'page':28} {'3 members, 1 invoice':>22} {f'{args.members} members, {args.invoices} inv.':>28}")
        for name, method, url, data in PAGES:
            cells = []
            for account in ("Small", "Large"):
                ms, n = measure(clients[account], method, url, data, args.runs)
                cells.append(f"{ms:7.1f} ms, {n:3d} queries")
            print(f"{name:28} {cells[0]:>22} {cells[1]:>28}")


if __name__ == "__main__":
    main()
