from datetime import date

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from common.clock import today
from subscriptions.retention import account_purge, purge_candidates


class Command(BaseCommand):
    help = (
        "Delete the data of accounts expired more than RETENTION_DAYS ago (SPEC §2.4). "
        "Lists what it would delete; deletes only with --yes. Invoices and credit notes are always kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("--yes", action="store_true", help="really delete what is listed")
        parser.add_argument("--on", help="the day to count retention from (YYYY-MM-DD); default today")

    def handle(self, *args, yes: bool, on: str | None, **options):
        try:
            day = date.fromisoformat(on) if on else today()
        except ValueError:
            raise CommandError(f"--on must be a date like 2026-11-01, not {on!r}") from None
        plans = purge_candidates(on=day)
        verb = "Deleting" if yes else "Would delete"
        self.stdout.write(
            f"{verb}: data of {len(plans)} account(s) expired before the last {settings.RETENTION_DAYS} days"
        )
        for plan in plans:
            self.stdout.write(f"- {plan.describe()}")
            if yes:
                account_purge(purge=plan)
        if plans and not yes:
            self.stdout.write("Dry run: nothing was deleted. Run again with --yes to delete it.")
