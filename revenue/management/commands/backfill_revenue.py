"""`python manage.py backfill_revenue [--until YYYY-MM-DD]`: build the revenue snapshots of every past month.

Idempotent: each month's rows are replaced, so running it again gives the same rows.
"""

import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from revenue.services import revenue_backfill
from subscriptions.management.commands.run_billing import ProgressBar


class MonthsBar(ProgressBar):
    def __call__(self, done: int, total: int) -> None:
        filled = self.width * done // total if total else self.width
        self.stream.write(f"\r[{'#' * filled}{'-' * (self.width - filled)}] {done:,}/{total:,} months")
        self.stream.flush()
        self.shown = True


class Command(BaseCommand):
    help = "Build the monthly revenue snapshots (MRR, movements, retention, deferred revenue) for existing history."

    def add_arguments(self, parser):
        parser.add_argument("--until", help="the last day to snapshot, YYYY-MM-DD (default: today)")

    def handle(self, *args, until=None, **options):
        try:
            day = date.fromisoformat(until) if until else timezone.localdate()
        except ValueError:
            raise CommandError(f"--until must be a date like 2026-12-01, not {until!r}") from None
        bar = MonthsBar(sys.stderr) if sys.stderr.isatty() and options["verbosity"] > 0 else None
        try:
            months = revenue_backfill(until=day, progress=bar)
        finally:
            if bar is not None:
                bar.close()
        if options["verbosity"] > 0:
            self.stdout.write(f"Revenue snapshots of {months} months written, up to {day}.")
