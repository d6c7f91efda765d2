from django.core.management.base import BaseCommand, CommandError

from invoicing.stripe_services import STRIPE_EVENTS
from invoicing.webhooks import webhook_configured, webhook_endpoint_sync, webhook_url


class Command(BaseCommand):
    help = (
        "Write dj-stripe's webhook endpoint from the settings (DJSTRIPE_WEBHOOK_SECRET, STRIPE_WEBHOOK_UUID, "
        "SITE_URL) and print the URL and events to register in Stripe's dashboard. Never prints the secret."
    )

    def handle(self, *args, **options):
        if not webhook_configured():
            raise CommandError(
                "Stripe webhooks are off: set STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY and DJSTRIPE_WEBHOOK_SECRET."
            )
        endpoint = webhook_endpoint_sync()
        self.stdout.write(f"Webhook URL: {webhook_url()}")
        self.stdout.write(f"Events:      {', '.join(STRIPE_EVENTS)}")
        self.stdout.write(f"Tolerance:   {endpoint.djstripe_tolerance} s")
