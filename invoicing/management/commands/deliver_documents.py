from django.core.management.base import BaseCommand

from invoicing.services import invoice_deliver_pending


class Command(BaseCommand):
    help = (
        "The safety sweep: queue again every issued invoice and credit note not yet emailed (render, store, "
        "email), for the Celery workers (in-process without CELERY_BROKER_URL). The daily run does this too."
    )

    def handle(self, *args, **options):
        queued = invoice_deliver_pending()
        self.stdout.write(f"{queued} documents queued.")
