"""Users, accounts and memberships (SPEC §1)."""

from decimal import Decimal

from django.contrib.auth.models import (
    AbstractBaseUser,
    BaseUserManager,
    PermissionsMixin,
)
from django.db import models
from django.db.models import Q
from django.utils import timezone as dj_timezone
from django.utils.translation import gettext_lazy as _

from common.history import History


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person; logs in with an email address."""

    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    # False only between a self-service sign-up and its verification link (or a password reset, which also proves
    # the address); such a user cannot log in. Invited people and users made by support or the demo are verified.
    email_verified = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=dj_timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    def __str__(self):
        return self.email

    def get_full_name(self):
        return self.name or self.email

    def get_short_name(self):
        return self.name or self.email


class Account(models.Model):
    """A customer organisation with members and (at most one live) subscription."""

    class Gateway(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")
        STRIPE = "stripe", _("Card (Stripe)")

    class Language(models.TextChoices):
        ENGLISH = "en", "English"
        GERMAN = "de", "Deutsch"
        FRENCH = "fr", "Français"

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    timezone = models.CharField(max_length=64, default="UTC")
    locale = models.CharField(max_length=16, default="en_US")
    currency = models.CharField(
        max_length=3,
        blank=True,
        help_text="Fixed at the account's first subscription (SPEC §2.2).",
    )
    # Billing profile
    legal_name = models.CharField(max_length=200, blank=True)
    address = models.TextField(blank=True, help_text="Street lines, one per line.")
    postcode = models.CharField(max_length=16, blank=True)
    city = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 code, e.g. DE.")
    tax_id = models.CharField(max_length=64, blank=True, help_text="The buyer's VAT ID, with its country prefix.")
    billing_email = models.EmailField(blank=True)
    invoice_language = models.CharField(
        max_length=2, choices=Language.choices, default=Language.ENGLISH, help_text="The language of its documents."
    )
    tax_rate = models.DecimalField(
        max_digits=6,
        decimal_places=4,
        default=Decimal(0),
        null=True,
        blank=True,
        help_text="A manual rate that wins over the tax rules (a fraction: 0.2 is 20%). "
        "Empty: the tax rules decide (seller and buyer country, VAT ID). Sign-ups start empty.",
    )
    # The last VIES check of `tax_id` (evidence for reverse charge).
    vies_valid = models.BooleanField(null=True, blank=True, help_text="The last VIES answer; empty: never checked.")
    vies_checked_on = models.DateField(null=True, blank=True)
    vies_valid_on = models.DateField(null=True, blank=True, help_text="The last day VIES said the VAT ID is valid.")
    vies_consultation = models.CharField(max_length=64, blank=True, help_text="VIES consultation number.")
    vies_message = models.CharField(max_length=300, blank=True)
    payment_gateway = models.CharField(max_length=20, choices=Gateway.choices, default=Gateway.BANK_TRANSFER)
    locked_on = models.DateField(null=True, blank=True, help_text="Set by dunning; cleared by payment.")
    created_at = models.DateTimeField(default=dj_timezone.now)

    history = History()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A person's place in an account: a role and a status. Active and invited take a seat."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ADMIN = "admin", _("Admin")
        BILLING_ADMIN = "billing_admin", _("Billing admin")
        MEMBER = "member", _("Member")
        NONE = "none", _("None")

    class Status(models.TextChoices):
        INVITED = "invited", _("Invited")
        ACTIVE = "active", _("Active")
        ARCHIVED = "archived", _("Archived")

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        "accounts.User",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="memberships",
    )
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MEMBER)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.INVITED)
    invited_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    invited_on = models.DateField(null=True, blank=True)
    joined_on = models.DateField(null=True, blank=True)
    archived_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=dj_timezone.now)
    last_used_at = models.DateTimeField(
        null=True, blank=True, help_text="When its person last worked in this account: where the next login lands."
    )

    history = History(excluded_fields=["last_used_at"])

    class Meta:
        ordering = ["account", "created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(role="owner"),
                name="one_owner_per_account",
            ),
            models.UniqueConstraint(fields=["account", "email"], name="one_membership_per_email"),
            models.UniqueConstraint(
                fields=["account", "user"],
                condition=Q(user__isnull=False),
                name="one_membership_per_user",
            ),
        ]
        indexes = [models.Index(fields=["account", "status", "role"])]

    def __str__(self):
        return f"{self.email} ({self.get_role_display()}, {self.get_status_display()})"

    @property
    def takes_seat(self) -> bool:
        return self.status != self.Status.ARCHIVED and self.role != self.Role.NONE


class TaxRate(models.Model):
    """A country's standard VAT rate over `[valid_from, valid_to)`; an empty end is open."""

    country = models.CharField(max_length=2)
    rate = models.DecimalField(max_digits=6, decimal_places=4, help_text="A fraction: 0.255 is 25.5%.")
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)

    history = History()

    class Meta:
        ordering = ["country", "-valid_from"]

    def __str__(self):
        return f"{self.country} {self.rate * 100:g}%"
