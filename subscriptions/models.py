"""Plans, subscriptions, the seat ledger and coupons (SPEC §2.3–2.5, §4 plan settings)."""

import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField

from billing.proration import minor_unit, round_money
from common.history import History


class Cycle(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")
    ANNUAL = "annual", _("Annual")


class SeatMode(models.TextChoices):
    AUTO = "auto", "Seats follow members"
    FIXED = "fixed", "Bought seat count"


class SeatAddBilling(models.TextChoices):
    INVOICE_NOW = "invoice_now", "Invoice now"
    NEXT_INVOICE = "next_invoice", "Add to the next invoice"
    MONTHLY_TRUE_UP = "monthly_true_up", "Invoice on the next monthly anniversary"


class SeatRemoval(models.TextChoices):
    KEEP_UNTIL_RENEWAL = "keep_until_renewal", "Keep the seat paid until renewal"
    CREDIT_PRORATED = "credit_prorated", "Credit unused days now"


class ToMonthly(models.TextChoices):
    SUPPORT_ONLY = "support_only", "Support only, at period end"
    PRORATED = "prorated", "Self-serve, prorated"


class Downgrade(models.TextChoices):
    NOW = "now", "Now: the unused days are credited and the cheaper plan is charged from tomorrow"
    AT_PERIOD_END = (
        "at_period_end",
        "At period end: the cheaper plan starts at the next renewal, with no credit; upgrades stay immediate",
    )


class SwitchDocuments(models.TextChoices):
    ONE_INVOICE = "one_invoice", "One invoice with a credit line"
    CREDIT_NOTE_AND_INVOICE = "credit_note_and_invoice", "A credit note for the unused days, then the invoice"


class Plan(models.Model):
    """A price per seat and the policy settings that make one vendor's rules (SPEC §4)."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    currency = models.CharField(max_length=3, default="USD")
    monthly_price = MoneyField(max_digits=12, decimal_places=2, null=True, blank=True, default_currency="USD")
    annual_price = MoneyField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        default_currency="USD",
        help_text="Often monthly × 10 (two months free); the stored price is what counts.",
    )
    seat_mode = models.CharField(max_length=10, choices=SeatMode.choices, default=SeatMode.AUTO)
    seat_add_billing_monthly = models.CharField(
        max_length=20,
        choices=SeatAddBilling.choices,
        default=SeatAddBilling.INVOICE_NOW,
    )
    seat_add_billing_annual = models.CharField(
        max_length=20,
        choices=SeatAddBilling.choices,
        default=SeatAddBilling.INVOICE_NOW,
    )
    seat_removal = models.CharField(
        max_length=20,
        choices=SeatRemoval.choices,
        default=SeatRemoval.KEEP_UNTIL_RENEWAL,
    )
    to_monthly = models.CharField(max_length=20, choices=ToMonthly.choices, default=ToMonthly.SUPPORT_ONLY)
    downgrade = models.CharField(
        max_length=20,
        choices=Downgrade.choices,
        default=Downgrade.NOW,
        help_text="A change from this plan to one with a lower price per seat for the current cycle.",
    )
    minimum_invoice = MoneyField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        default_currency="USD",
        help_text=(
            "Seats added under “Invoice now” whose invoice would total less than this are not invoiced on their "
            "own: they wait for the next invoice, as under “Add to the next invoice”. Empty: every one is invoiced."
        ),
    )
    switch_documents = models.CharField(
        max_length=30,
        choices=SwitchDocuments.choices,
        default=SwitchDocuments.ONE_INVOICE,
        help_text="Monthly → annual: what the customer receives. The amount due is the same either way.",
    )
    max_seats = models.PositiveIntegerField(null=True, blank=True)
    trial_days = models.PositiveIntegerField(default=0)
    trial_offer = MoneyField(
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        default_currency="USD",
        help_text="A fixed amount off the first monthly invoice, if accepted during the trial.",
    )
    prices_include_tax = models.BooleanField(
        default=False,
        help_text="Prices are tax-inclusive: invoices total as priced and the tax is taken out of the price "
        "(119.00 at 19 % is 100.00 + 19.00). Off: tax is added on top.",
    )
    refund_window_days = models.PositiveIntegerField(default=0)
    grace_days = models.PositiveIntegerField(default=14)
    max_instances = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="On-premise servers a licence may activate; empty is unlimited.",
    )
    is_public = models.BooleanField(default=True)
    features = models.TextField(
        blank=True, help_text="What the plan includes, one item per line: shown on the customer's plan cards."
    )

    history = History()

    class Meta:
        ordering = ["code"]
        # Each price, when set, is in the plan's currency (the admin form says so before saving).
        constraints = [
            models.CheckConstraint(
                condition=(Q(monthly_price__isnull=True) | Q(monthly_price_currency=F("currency")))
                & (Q(annual_price__isnull=True) | Q(annual_price_currency=F("currency")))
                & (Q(trial_offer__isnull=True) | Q(trial_offer_currency=F("currency"))),
                name="plan_prices_in_plan_currency",
            ),
            models.CheckConstraint(
                condition=Q(minimum_invoice__isnull=True) | Q(minimum_invoice_currency=F("currency")),
                name="plan_minimum_invoice_in_plan_currency",
            ),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        """Prices have at most their currency's decimals (¥1,000, not ¥1,000.50): amounts print that way (SPEC §4)."""
        for name in ("monthly_price", "annual_price", "trial_offer"):
            value = getattr(self, name)
            if value is not None and value.amount != round_money(value.amount, value.currency.code).amount:
                unit = minor_unit(value.currency.code)
                raise ValidationError({name: f"Amounts in {value.currency.code} are in steps of {unit}."})

    def price(self, cycle: str):
        return self.monthly_price if cycle == Cycle.MONTHLY else self.annual_price

    def seat_add_billing(self, cycle: str) -> str:
        return self.seat_add_billing_monthly if cycle == Cycle.MONTHLY else self.seat_add_billing_annual


class PlanEntitlement(models.Model):
    """What a plan unlocks in the product: a feature key, and a limit when the feature has one.

    `time_tracking` (no limit: on or off) or `max_projects` with limit 50. The product reads an account's
    entitlements from `GET /api/v1/account` or its licence; the plan's `features` text is for people.
    """

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="entitlements")
    key = models.SlugField(max_length=60, help_text="What the product checks, e.g. time_tracking or max_projects.")
    limit = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: no limit (the feature is on).")

    class Meta:
        ordering = ["key"]
        constraints = [models.UniqueConstraint(fields=["plan", "key"], name="one_entitlement_per_plan_key")]

    def __str__(self):
        return self.key if self.limit is None else f"{self.key}: {self.limit}"


def new_public_id() -> str:
    return "sub_" + secrets.token_urlsafe(18)


class Subscription(models.Model):
    """An account's subscription to a plan. At most one per account is not expired."""

    class CancelReason(models.TextChoices):
        TOO_EXPENSIVE = "too_expensive", _("It costs too much")
        MISSING_FEATURES = "missing_features", _("Features we need are missing")
        SWITCHED = "switched", _("We moved to another product")
        NOT_USED = "not_used", _("We don't use it enough")
        TEMPORARY = "temporary", _("We only needed it for a while")
        OTHER = "other", _("Another reason")

    class Status(models.TextChoices):
        TRIALING = "trialing", _("Trial")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Past due")
        CANCELED = "canceled", _("Canceled (ends at period end)")
        EXPIRED = "expired", _("Expired")

    public_id = models.CharField(max_length=40, unique=True, default=new_public_id, editable=False)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="subscriptions")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    cycle = models.CharField(max_length=10, choices=Cycle.choices, default=Cycle.MONTHLY)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    anchor = models.DateField(help_text="Periods are counted from this day.")
    period_start = models.DateField()
    period_end = models.DateField()
    trial_end = models.DateField(null=True, blank=True)
    trial_offer_accepted = models.BooleanField(default=False)
    trial_reminder_sent_on = models.DateField(
        null=True,
        blank=True,
        help_text="When the trial-ending reminder was emailed; it is sent once.",
    )
    paid_seats = models.PositiveIntegerField(default=0)
    bought_seats = models.PositiveIntegerField(default=0, help_text="Fixed-seat plans: the count bought.")
    minimum_seats = models.PositiveIntegerField(default=0)
    cancel_at_period_end = models.BooleanField(default=False)
    cancel_reason = models.CharField(
        max_length=20, choices=CancelReason.choices, blank=True, help_text="Why the customer canceled, as they said."
    )
    cancel_comment = models.CharField(max_length=500, blank=True, help_text="The customer's own words, if any.")
    pending_cycle = models.CharField(
        max_length=10,
        choices=Cycle.choices,
        blank=True,
        help_text="A cycle switch waiting for the period end.",
    )
    pending_plan = models.ForeignKey(
        Plan,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="A downgrade waiting for the period end (plan setting `downgrade` at_period_end).",
    )
    started_on = models.DateField()
    expired_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    history = History()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=~Q(status="expired"),
                name="one_live_subscription_per_account",
            ),
        ]
        indexes = [models.Index(fields=["status", "period_end"])]

    def __str__(self):
        return f"{self.account} · {self.plan} ({self.cycle})"

    @property
    def is_trialing(self) -> bool:
        return self.status == self.Status.TRIALING

    @property
    def is_expired(self) -> bool:
        return self.status == self.Status.EXPIRED


class SeatChange(models.Model):
    """The seat ledger: every change of seats in use or paid seats, with who, why and when."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="seat_changes")
    on = models.DateField(help_text="The day of the change; it takes effect from the next day.")
    reason = models.CharField(max_length=200)
    seats_in_use = models.PositiveIntegerField()
    paid_seats = models.PositiveIntegerField()
    bought_seats = models.PositiveIntegerField(default=0)
    by = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["on", "id"]

    def __str__(self):
        return f"{self.on}: {self.reason}"


class Coupon(models.Model):
    """Percent or amount off, for once / N periods / forever (SPEC §2.5)."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField(max_length=100, blank=True)
    percent_off = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    amount_off = MoneyField(max_digits=12, decimal_places=2, null=True, blank=True, default_currency="USD")
    duration_periods = models.PositiveIntegerField(
        null=True,
        blank=True,
        default=1,
        help_text="Paid periods it lasts; empty means forever.",
    )
    new_customers_only = models.BooleanField(default=False)
    valid_monthly = models.BooleanField(default=True)
    valid_annual = models.BooleanField(default=True)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    redeem_by = models.DateField(null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    history = History()

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(percent_off__isnull=False) | Q(amount_off__isnull=False),
                name="coupon_has_an_amount",
            ),
        ]

    def __str__(self):
        return self.code

    def valid_for(self, cycle: str) -> bool:
        return self.valid_monthly if cycle == Cycle.MONTHLY else self.valid_annual


class CouponRedemption(models.Model):
    """A coupon on a subscription; `active_period_start` is the period it discounts now."""

    coupon = models.ForeignKey(Coupon, on_delete=models.PROTECT, related_name="redemptions")
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="redemptions")
    redeemed_on = models.DateField()
    periods_used = models.PositiveIntegerField(default=0)
    active_period_start = models.DateField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)
    ended_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-redeemed_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription"],
                condition=Q(ended_on__isnull=True),
                name="one_coupon_at_a_time",
            ),
        ]

    def __str__(self):
        return f"{self.coupon} on {self.subscription}"
