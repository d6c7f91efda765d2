"""`python manage.py run_billing [--on YYYY-MM-DD]`: the daily billing run (issue 3)."""

import logging
import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from common.background import in_process
from subscriptions.services import RunSummary, billing_run
from subscriptions.tasks import billing_run_fan_out

log = logging.getLogger(__name__)


class ProgressBar:
    """A one-line bar on a terminal, redrawn in place; silent when the output is not a terminal."""

    def __init__(self, stream, width: int = 30, unit: str = "subscriptions"):
        self.stream, self.width, self.unit = stream, width, unit
        self.shown = False

    def __call__(self, done: int, total: int) -> None:
        filled = self.width * done // total if total else self.width
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r[{bar}] {done:,}/{total:,} {self.unit}")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


def fanned_out(on: date, progress) -> RunSummary:
    """The day's renewals done by the Celery workers, one task per chunk; their summaries added up."""
    parts, result = billing_run_fan_out(on)
    summary, done = RunSummary(on=on), 0
    for share in result.results:
        summary.add(RunSummary.from_dict(share.get(disable_sync_subtasks=False)))
        done += 1
        if progress is not None:
            progress(done, parts)
    result.forget()
    return summary


class Command(BaseCommand):
    help = (
        "Run the daily billing: renewals, trial ends, expiries, waiting lines, then dunning and the safety sweep. "
        "With CELERY_BROKER_URL the renewals fan out to the workers, one task per chunk."
    )

    def add_arguments(self, parser):
        parser.add_argument("--on", help="the day to bill, YYYY-MM-DD (default: today)")

    def handle(self, *args, on=None, **options):
        try:
            day = date.fromisoformat(on) if on else timezone.localdate()
        except ValueError:
            raise CommandError(f"--on must be a date like 2026-12-01, not {on!r}") from None
        bar = ProgressBar(sys.stderr, unit="subscriptions" if in_process() else "chunks")
        progress = bar if sys.stderr.isatty() else None
        try:
            if in_process():
                summary = billing_run(on=day, progress=progress)
            else:
                # The workers bill the chunks; the run that follows finds what they left (nothing, or a
                # subscription another run held) and does the rest of the day's work: retries, dunning, sweep.
                shared = fanned_out(day, progress)
                summary = billing_run(on=day)
                summary.add(shared)
        finally:
            bar.close()
        log.info("Daily billing run: %s", summary.text())
        self.stdout.write(summary.text())
