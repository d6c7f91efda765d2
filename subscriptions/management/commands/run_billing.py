"""`python manage.py run_billing [--on YYYY-MM-DD] [--workers N]`: the daily billing run (issue 3)."""

import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from common.processes import map_in_processes
from subscriptions.services import RunSummary, billing_run, renewals_run


def _share(args: tuple[date, int, int]) -> RunSummary:
    """One worker process: its part of the subscriptions due."""
    on, part, parts = args
    return renewals_run(on=on, part=part, parts=parts)


def renewals_in_processes(on: date, workers: int) -> RunSummary:
    """`renewals_run` split over `workers` processes, each with its own share of the subscriptions."""
    shares = map_in_processes(_share, [(on, part, workers) for part in range(workers)], workers=workers)
    summary = RunSummary(on=on)
    for share in shares:
        summary.add(share)
    return summary


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
        parser.add_argument("--workers", type=int, default=1, help="processes that share the renewals (default: 1)")

    def handle(self, *args, on=None, workers=1, **options):
        try:
            day = date.fromisoformat(on) if on else timezone.localdate()
        except ValueError:
            raise CommandError(f"--on must be a date like 2026-12-01, not {on!r}") from None
        if workers < 1:
            raise CommandError(f"--workers must be 1 or more, not {workers}")
        # The workers bill their shares; the run that follows finds what they left (nothing, or a
        # subscription another run held) and does the rest of the day's work once: retries, dunning.
        shared = renewals_in_processes(day, workers) if workers > 1 else RunSummary(on=day)
        bar = ProgressBar(sys.stderr) if sys.stderr.isatty() and workers == 1 else None
        try:
            summary = billing_run(on=day, progress=bar)
        finally:
            if bar is not None:
                bar.close()
        summary.add(shared)
        amounts = "; ".join(f"{currency} {amount}" for currency, amount in summary.totals().items()) or "nothing"
        self.stdout.write(
            f"{day}: {summary.renewed} subscriptions renewed, {summary.issued} invoices issued ({amounts}), "
            f"{summary.expired} expired, {summary.locked} accounts locked."
        )
