"""API keys and stored idempotent responses (SPEC §3, API)."""

from django.db import models
from django.utils import timezone


class ApiKey(models.Model):
    """A per-account key; only its SHA-256 is stored, the secret is shown once.

    A key acts as its account with the role chosen when it was created.
    """

    class Role(models.TextChoices):
        ADMIN = "admin", "Admin"
        BILLING_ADMIN = "billing_admin", "Billing admin"
        MEMBER = "member", "Member"

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    prefix = models.CharField(max_length=16, unique=True, help_text="Shown to tell keys apart.")
    hashed = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the whole key, hex.")
    created_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["account", "-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotentResponse(models.Model):
    """The first response to a POST with an `Idempotency-Key`; a retry gets it back and changes nothing.

    `scope` is `account:<id>` for authenticated calls, `activation:<subscription id>` for activations.
    """

    scope = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="one_response_per_idempotency_key")]

    def __str__(self):
        return f"{self.scope} {self.key}"
