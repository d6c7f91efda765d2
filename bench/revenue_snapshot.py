#!/usr/bin/env python
"""Time the daily run's revenue snapshot alone (issue 15), on a database a bench left behind.

    DATABASE_URL=postgres://…/prorata_bench python bench/billing_run.py -n 20000   # leaves its data
    DATABASE_URL=postgres://…/prorata_bench python bench/revenue_snapshot.py [--backfill] [--dump FILE]

Runs `revenue_snapshot(on)` --repeat times (it rewrites the month of `on`, so each run does the same
work) and prints each run's seconds, then times its two parts once. With --backfill, `revenue_backfill`
first builds every month from the first subscription's (timed), so that the month has an opening and
a year-ago month. --dump writes the revenue tables in order (SubscriptionMonth by month and subscription,
RevenueMonth by currency and month), one row a line: two dumps of copies of one database
(`createdb -T`), one before and one after a change, show whether it writes the same rows.
"""

import argparse
import hashlib
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--on", type=date.fromisoformat, default=date(2026, 12, 1), help="the snapshot day")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--backfill", action="store_true", help="run revenue_backfill(until=on) first")
    p.add_argument("--dump", help="write the revenue tables, ordered, to this file")
    return p.parse_args()


def main():
    args = parse_args()
    if not os.environ.get("DATABASE_URL"):
        sys.exit("bench: point DATABASE_URL at a database a bench filled (bench/billing_run.py)")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-not-secret")
    os.environ.setdefault("CELERY_BROKER_URL", "memory://")
    import django

    django.setup()
    from django.db import transaction

    from billing.revenue import month_start
    from revenue import services
    from revenue.models import RevenueMonth, SubscriptionMonth

    on = args.on
    if args.backfill:
        t = time.perf_counter()
        months = services.revenue_backfill(until=on)
        print(f"revenue_backfill: {months} months in {time.perf_counter() - t:.2f}s")
    runs = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        services.revenue_snapshot(on)
        runs.append(time.perf_counter() - t)
    print(
        f"revenue_snapshot: {' '.join(f'{s:.3f}' for s in runs)} s "
        f"(min {min(runs):.3f}, median {statistics.median(runs):.3f})"
    )
    t = time.perf_counter()
    services._month_snapshot(month_start(on), on, historical=False)
    print(f"  month snapshot (subscriptions and revenue month): {time.perf_counter() - t:.3f}s")
    t = time.perf_counter()
    with transaction.atomic():
        services.deferred_write(min(services._first_day(), on), on)
    print(f"  deferred revenue:                                 {time.perf_counter() - t:.3f}s")
    if args.dump:
        digest = hashlib.sha256()
        with open(args.dump, "w") as out:
            tables = [(SubscriptionMonth, ("month", "subscription_id")), (RevenueMonth, ("currency", "month"))]
            for model, order in tables:
                names = [f.attname for f in model._meta.concrete_fields]
                out.write(f"{model._meta.label} {','.join(names)}\n")
                for row in model.objects.order_by(*order).values_list(*names).iterator(chunk_size=5000):
                    line = repr(row) + "\n"
                    out.write(line)
                    digest.update(line.encode())
        print(
            f"dump: {args.dump} ({SubscriptionMonth.objects.count()} + {RevenueMonth.objects.count()} rows), "
            f"sha256 {digest.hexdigest()[:16]}"
        )


if __name__ == "__main__":
    main()
