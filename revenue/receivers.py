"""The daily run tells us it has finished: write the day's revenue snapshot (issue 21)."""

from django.dispatch import receiver

from revenue.services import revenue_snapshot
from subscriptions.signals import daily_run_finished


@receiver(daily_run_finished)
def _snapshot_after_daily_run(sender, on, **kwargs):
    revenue_snapshot(on)
