import argparse
import time

from django.core.management.base import BaseCommand, CommandError

from invoicing.services import documents_deliver


class Command(BaseCommand):
    help = (
        "Render, store and email every issued invoice and credit note not yet sent (PDF attached). "
        "With DOCUMENT_WORKER=true this is the only sender: run it beside the web and the daily run, "
        "e.g. `deliver_documents --loop 60 --workers 4`. Failures stay pending and are tried again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=1, help="processes rendering at once (default 1)")
        parser.add_argument("--loop", type=float, metavar="SECONDS", help="keep going, looking again every SECONDS")
        parser.add_argument("--rounds", type=int, help=argparse.SUPPRESS)  # with --loop: stop after this many

    def handle(self, *args, workers: int, loop: float | None, rounds: int | None, **options):
        if workers < 1:
            raise CommandError("--workers must be 1 or more.")
        if loop is not None and loop < 0:
            raise CommandError("--loop must be 0 seconds or more.")
        done = 0
        while True:
            result = documents_deliver(workers=workers)
            if result.sent or result.failed or loop is None:
                self.stdout.write(f"{result.sent} sent, {result.failed} failed (left pending).")
            done += 1
            if loop is None or (rounds is not None and done >= rounds):
                return
            time.sleep(loop)
