"""Stripe's webhook endpoint: verify the signature, then apply the event once (issue 8).

Prorata verifies events itself (stripe.WebhookSignature, the secret from
DJSTRIPE_WEBHOOK_SECRET) rather than through dj-stripe's endpoint: dj-stripe's needs its
100-odd tables migrated, a WebhookEndpoint row synced from Stripe, and with DEBUG on it
accepts a secret sent in the request's own `X-Djstripe-Webhook-Secret` header.
"""

import json
import logging

import stripe
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from invoicing.stripe_services import stripe_event_process

logger = logging.getLogger(__name__)


@csrf_exempt
@login_not_required
@require_POST
def stripe_webhook(request):
    secret = settings.DJSTRIPE_WEBHOOK_SECRET
    signature = request.headers.get("Stripe-Signature")
    if not secret or not signature:
        return HttpResponseBadRequest("Missing signature.")
    try:
        stripe.WebhookSignature.verify_header(
            request.body.decode("utf-8"), signature, secret, settings.DJSTRIPE_WEBHOOK_TOLERANCE
        )
        event = json.loads(request.body)
        if not (isinstance(event["id"], str) and isinstance(event["type"], str) and event["data"]["object"]):
            raise ValueError("not an event")
    except (stripe.SignatureVerificationError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        logger.warning("Rejected a Stripe webhook with a bad signature or body")
        return HttpResponseBadRequest("Bad signature.")
    processed = stripe_event_process(event=event)
    return HttpResponse("processed" if processed else "already processed")
