import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from subscriptions.scenario import ScenarioError, load, run_scenario


class _Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Run a billing scenario (SPEC §4) and print the invoices it produces as JSON."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--commit", action="store_true", help="keep what the scenario created")

    def handle(self, *args, file, commit, **options):
        try:
            data = load(file)
            result = None
            try:
                with transaction.atomic():
                    result = run_scenario(data)
                    if not commit:
                        raise _Rollback
            except _Rollback:
                pass
        except ScenarioError as exc:
            sys.stderr.write(f"billing_scenario: {exc}\n")
            raise SystemExit(2) from None
        except Exception as exc:  # one line, naming what failed
            raise CommandError(f"{type(exc).__name__}: {exc}") from exc
        self.stdout.write(json.dumps(result, indent=2))
