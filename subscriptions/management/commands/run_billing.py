"""`python manage.py run_billing [--on YYYY-MM-DD]`: the daily billing run (issue 3)."""

import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from subscriptions.services import billing_run


class ProgressBar:
    """A one-line bar on a terminal, redrawn in place; silent when the output is not a terminal."""

    def __init__(self, stream, width: int = 30):
        self.stream, self.width = stream, width
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        filled = self.width * done // total if total else self.width
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r[{bar}] {done:,}/{total:,} subscriptions")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


class Command(BaseCommand):
    help = "Run the daily billing: renewals, trial ends, expiries, waiting lines, then dunning."

    def add_arguments(self, parser):
        parser.add_argument("--on", help="the day to bill, YYYY-MM-DD (default: today)")

    def handle(self, *args, on=None, **options):
        try:
            day = date.fromisoformat(on) if on else timezone.localdate()
        except ValueError:
            raise CommandError(f"--on must be a date like 2026-12-01, not {on!r}") from None
        bar = ProgressBar(sys.stderr) if sys.stderr.isatty() else None
        try:
            summary = billing_run(on=day, progress=bar)
        finally:
            if bar is not None:
                bar.close()
        self.stdout.write(summary.text())
