"""Stripe's webhook endpoint, through dj-stripe (SPEC §2.5, issue 8).

dj-stripe's ProcessWebhookView receives every delivery at ``/stripe/webhook/<uuid>/``: it
logs it as a WebhookEventTrigger, verifies the ``Stripe-Signature`` against the endpoint's
secret and tolerance, records the Event once (a redelivery finds it and stops) and sends
the event's signal. Prorata's receivers below turn the three events it cares about into
payments, failures and refunds, inside the same transaction as dj-stripe's Event row.

The endpoint (its uuid, signing secret and tolerance) comes from the environment, not from
Stripe: ``webhook_endpoint_sync`` writes dj-stripe's WebhookEndpoint row from settings, so a
rotated secret takes effect with the next delivery. Register ``webhook_url()`` in Stripe's
dashboard (``manage.py stripe_webhook`` prints it).
"""

import uuid

from django.conf import settings
from django.dispatch import receiver
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from djstripe import signals as djstripe_signals
from djstripe.event_handlers import djstripe_receiver
from djstripe.models import WebhookEndpoint, WebhookEventTrigger
from djstripe.settings import djstripe_settings
from djstripe.views import ProcessWebhookView

from invoicing.stripe_services import STRIPE_EVENTS, stripe_event_process

ENDPOINT_ID = "we_prorata"  # the local row's Stripe-style id; Stripe's own id for the endpoint is not needed


def webhook_configured() -> bool:
    """Both Stripe keys and the signing secret: dj-stripe fetches what an event names with the secret key."""
    from invoicing.gateways import stripe_enabled

    return stripe_enabled() and bool(settings.DJSTRIPE_WEBHOOK_SECRET)


def webhook_uuid() -> uuid.UUID:
    """The endpoint's path segment: STRIPE_WEBHOOK_UUID, or one derived from the signing secret.

    Derived with uuid5 (a one-way hash), so the URL gives nothing of the secret away.
    """
    if settings.STRIPE_WEBHOOK_UUID:
        return uuid.UUID(settings.STRIPE_WEBHOOK_UUID)
    return uuid.uuid5(uuid.NAMESPACE_URL, f"prorata-stripe-webhook:{settings.DJSTRIPE_WEBHOOK_SECRET}")


def webhook_path() -> str:
    return reverse("stripe_webhook", kwargs={"uuid": webhook_uuid()})


def webhook_url() -> str:
    return settings.SITE_URL.rstrip("/") + webhook_path()


def webhook_endpoint_sync() -> WebhookEndpoint:
    """dj-stripe's endpoint row, made to match settings (created the first time)."""
    wanted = {
        "djstripe_uuid": webhook_uuid(),
        "secret": settings.DJSTRIPE_WEBHOOK_SECRET,
        "djstripe_tolerance": settings.DJSTRIPE_WEBHOOK_TOLERANCE,
        "url": webhook_url(),
        "enabled_events": list(STRIPE_EVENTS),
        "api_version": djstripe_settings.STRIPE_API_VERSION,
        "status": "enabled",
        "livemode": settings.STRIPE_LIVE_MODE,
    }
    endpoint, created = WebhookEndpoint.objects.get_or_create(  # two first deliveries at once make one row
        id=ENDPOINT_ID, defaults={"created": timezone.now(), "metadata": {}, **wanted}
    )
    if created:
        return endpoint
    changed = [name for name, value in wanted.items() if getattr(endpoint, name) != value]
    if changed:
        for name in changed:
            setattr(endpoint, name, wanted[name])
        endpoint.save(update_fields=changed)
    return endpoint


class StripeWebhookView(ProcessWebhookView):
    """dj-stripe's view, behind the endpoint settings describe: any other uuid is 404."""

    def post(self, request, uuid):
        if not webhook_configured() or uuid != webhook_uuid():
            raise Http404
        if "stripe-signature" in request.headers:
            webhook_endpoint_sync()
        return super().post(request, uuid)


stripe_webhook = StripeWebhookView.as_view()


@receiver(djstripe_signals.webhook_pre_validate, sender=WebhookEventTrigger)
def _ignore_secret_sent_by_the_caller(sender, instance: WebhookEventTrigger, **kwargs):
    """With DEBUG on, dj-stripe verifies against a secret sent in the request's own
    X-Djstripe-Webhook-Secret header (meant for the Stripe CLI). Anyone could sign a forged
    event with a secret of their choosing that way, so the header is dropped before validation
    (and so never stored with the delivery either)."""
    instance.headers = {k: v for k, v in instance.headers.items() if k.lower() != "x-djstripe-webhook-secret"}


@djstripe_receiver(list(STRIPE_EVENTS))
def _apply_stripe_event(sender, event, **kwargs):
    """Runs after dj-stripe has recorded the Event, in its transaction: an error rolls both back
    and Stripe delivers again."""
    stripe_event_process(
        event={"id": event.id, "type": event.type, "created": int(event.created.timestamp()), "data": event.data}
    )
