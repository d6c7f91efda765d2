"""What Prorata keeps about Stripe: the customer and card of an account, charge attempts (SPEC §2.5);
dj-stripe records the webhook events.

Imported by invoicing.models, so these are ordinary models of the invoicing app.
"""

from django.db import models
from django.utils import timezone
from djmoney.models.fields import MoneyField


class StripeCustomer(models.Model):
    """An account's Stripe customer and its default card, cached for display."""

    account = models.OneToOneField("accounts.Account", on_delete=models.PROTECT, related_name="stripe_customer")
    stripe_id = models.CharField(max_length=64, unique=True)
    payment_method_id = models.CharField(max_length=64, blank=True)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)
    card_exp_month = models.PositiveSmallIntegerField(null=True, blank=True)
    card_exp_year = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.account} ({self.stripe_id})"

    @property
    def card_label(self) -> str:
        """ "Visa •••• 4242, expires 12/29", or "" without a card."""
        if not self.payment_method_id:
            return ""
        brand = {"amex": "American Express", "mastercard": "Mastercard"}.get(self.card_brand, self.card_brand.title())
        label = f"{brand} •••• {self.card_last4}"
        if self.card_exp_month and self.card_exp_year:
            label += f", expires {self.card_exp_month:02d}/{self.card_exp_year % 100:02d}"
        return label


class CardCharge(models.Model):
    """One off-session attempt to collect an invoice by card; its idempotency key makes a resend harmless."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    invoice = models.ForeignKey("invoicing.Invoice", on_delete=models.PROTECT, related_name="card_charges")
    attempt = models.PositiveSmallIntegerField()
    idempotency_key = models.CharField(max_length=80, unique=True)
    payment_intent_id = models.CharField(max_length=64, blank=True, db_index=True)
    amount = MoneyField(max_digits=14, decimal_places=2, default_currency="USD")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    failure_message = models.CharField(max_length=300, blank=True)
    attempted_on = models.DateField()
    failure_emailed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["invoice", "attempt"]
        constraints = [models.UniqueConstraint(fields=["invoice", "attempt"], name="one_card_charge_per_attempt")]

    def __str__(self):
        return f"{self.invoice} attempt {self.attempt}: {self.status}"
