"""The event outbox and the endpoints events go to (issue 20)."""

import base64
import secrets
import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class EventType(models.TextChoices):
    SUBSCRIPTION_CREATED = "subscription.created", "subscription.created"
    SUBSCRIPTION_UPDATED = "subscription.updated", "subscription.updated"
    SUBSCRIPTION_CANCELED = "subscription.canceled", "subscription.canceled"
    SUBSCRIPTION_EXPIRED = "subscription.expired", "subscription.expired"
    SUBSCRIPTION_TRIAL_WILL_END = "subscription.trial_will_end", "subscription.trial_will_end"
    SEATS_CHANGED = "seats.changed", "seats.changed"
    INVOICE_ISSUED = "invoice.issued", "invoice.issued"
    INVOICE_PAID = "invoice.paid", "invoice.paid"
    INVOICE_VOIDED = "invoice.voided", "invoice.voided"
    CREDIT_NOTE_ISSUED = "credit_note.issued", "credit_note.issued"
    ACCOUNT_LOCKED = "account.locked", "account.locked"
    ACCOUNT_UNLOCKED = "account.unlocked", "account.unlocked"
    LICENCE_ASSIGNED = "licence.assigned", "licence.assigned"
    LICENCE_RELEASED = "licence.released", "licence.released"


class Event(models.Model):
    """One thing that happened, written in the transaction that made it happen (an outbox row).

    `payload` is a snapshot at that moment; it never changes. `id` orders the events of an account;
    `event_id` is what receivers see (the Standard Webhooks `webhook-id`) and stays the same on a retry.
    """

    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=40, choices=EventType.choices)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    payload = models.JSONField(encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "id"])]

    def __str__(self):
        return f"{self.type} · {self.event_id}"


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 24 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


class WebhookEndpoint(models.Model):
    """Where the vendor's product receives events; several are allowed, each with its own secret."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=100, default=new_secret, editable=False)
    event_types = models.JSONField(
        default=list, blank=True, help_text="The event types sent to this endpoint; none chosen: every type."
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    failures_in_a_row = models.PositiveIntegerField(
        default=0, editable=False, help_text="Failed attempts since the last success; WEBHOOK_DISABLE_AFTER disables."
    )

    class Meta:
        ordering = ["url", "id"]

    def __str__(self):
        return self.url

    def wants(self, event_type: str) -> bool:
        return self.enabled and (not self.event_types or event_type in self.event_types)


class Delivery(models.Model):
    """One event on its way to one endpoint: pending until a 2xx answer, or failed once its retries are spent.

    The account is copied from the event so that an account's deliveries to an endpoint, sent oldest
    first, are one index scan.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="webhooks_delivery_once")]
        indexes = [
            models.Index(fields=["endpoint", "account", "status", "event"]),
            models.Index(fields=["status", "next_attempt_at"]),
        ]

    def __str__(self):
        return f"{self.event} → {self.endpoint}"


class Attempt(models.Model):
    """One try at a delivery, as the receiver answered it (or did not): the log the admin shows."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempts")
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response = models.CharField(max_length=500, blank=True, help_text="The start of the answer's body.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.status_code or self.error[:40]} at {self.at:%Y-%m-%d %H:%M:%S}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
