from django.core.management.base import BaseCommand

from invoicing.services import pending_requeue


class Command(BaseCommand):
    help = (
        "The safety sweep: queue again every document and receipt not yet emailed, every card charge "
        "left pending, every card refund that never reached Stripe and every webhook delivery due, for the "
        "Celery workers (in-process without CELERY_BROKER_URL). The daily run does this too."
    )

    def handle(self, *args, **options):
        counts = pending_requeue()
        self.stdout.write(
            f"{counts['documents']} documents, {counts['receipts']} receipts, {counts['resent']} card charges, "
            f"{counts['refunds']} refunds, {counts.get('webhooks', 0)} webhook runs queued."
        )
