"""Invoices, credit notes, the credit-balance ledger, payments and refunds (SPEC §2.2, §2.6)."""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from djmoney.models.fields import MoneyField

from billing import tax as tax_rules
from common.history import History

TAX_REASONS = [
    (tax_rules.DOMESTIC, "Domestic"),
    (tax_rules.REVERSE_CHARGE, "Reverse charge"),
    (tax_rules.EU_CONSUMER, "EU consumer"),
    (tax_rules.EXPORT, "Export"),
    (tax_rules.MANUAL, "Manual rate"),
]


class LineKind(models.TextChoices):
    SUBSCRIPTION = "subscription", "Subscription"
    PRORATION = "proration", "Proration"
    CREDIT = "credit", "Credit"
    DISCOUNT = "discount", "Discount"
    TAX = "tax", "Tax"


def _money(**kw):
    return MoneyField(max_digits=14, decimal_places=2, default_currency="USD", **kw)


class Created(models.Model):
    """When a row was written (audit)."""

    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class CreatedBy(Created):
    """When a row was written and by whom: the staff member or user, none for the daily run (audit)."""

    created_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        abstract = True


class DocumentLine(models.Model):
    """A line that explains itself (STYLE habit 10): its period, quantity, unit price, the days it
    was prorated by and its amount, as the core computed them (`billing.plan.Line`). Rows are made
    from core lines by one mapper, `invoicing.services.line_from_core`."""

    description = models.CharField(max_length=300)
    period_start = models.DateField()
    period_end = models.DateField()
    quantity = models.IntegerField()
    unit_price = _money()
    days = models.PositiveIntegerField()
    period_days = models.PositiveIntegerField()
    amount = _money()

    class Meta:
        abstract = True

    def __str__(self):
        return self.description


class DocumentQuerySet(models.QuerySet):
    """Bulk writes go through the same guard as saves: issued documents are never edited (invoicing.frozen)."""

    def update(self, **kwargs):
        from invoicing.frozen import refuse_frozen_update

        refuse_frozen_update(self, kwargs)
        return super().update(**kwargs)

    def bulk_create(self, objs, *args, **kwargs):
        from invoicing.frozen import refuse_frozen_create

        objs = list(objs)
        refuse_frozen_create(objs)
        return super().bulk_create(objs, *args, **kwargs)


class LedgerQuerySet(models.QuerySet):
    """Money records (credit entries, payments, refunds) are append-only: a correction is a new entry.
    Queryset updates (and so `bulk_update`) and deletes go through the guards in invoicing.frozen."""

    def update(self, **kwargs):
        from invoicing.frozen import refuse_ledger_update

        refuse_ledger_update(self, kwargs)
        return super().update(**kwargs)

    def bulk_update(self, objs, fields, *args, **kwargs):
        from invoicing.frozen import guard_ledger_save

        objs = list(objs)
        for obj in objs:
            guard_ledger_save(self.model, obj, update_fields=fields)
        return super().bulk_update(objs, fields, *args, **kwargs)

    def delete(self):
        from invoicing.frozen import refuse_ledger_delete

        refuse_ledger_delete(self)
        return super().delete()


class AppendOnly(models.Model):
    """Refuses `delete()` before Django opens its transaction (the queryset and pre_delete guard the rest)."""

    class Meta:
        abstract = True

    def delete(self, *args, **kwargs):
        from invoicing.frozen import refuse_ledger_delete

        refuse_ledger_delete(type(self)._base_manager.filter(pk=self.pk))
        return super().delete(*args, **kwargs)


class NumberSeries(models.Model):
    """A gapless counter per series and year, locked with select_for_update at finalisation."""

    prefix = models.CharField(max_length=10)
    year = models.PositiveIntegerField(help_text="0 when the series does not reset yearly.")
    last_value = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "number series"
        constraints = [models.UniqueConstraint(fields=["prefix", "year"], name="one_counter_per_series_year")]

    def __str__(self):
        return f"{self.prefix}-{self.year}: {self.last_value}"


class Invoice(Created):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        PAID = "paid", _("Paid")
        VOID = "void", _("Void")
        UNCOLLECTIBLE = "uncollectible", _("Uncollectible")

    class Reason(models.TextChoices):
        PURCHASE = "purchase", _("Purchase")
        RENEWAL = "renewal", _("Renewal")
        SEATS = "seats", _("Seats added")
        TRUE_UP = "true_up", _("Seat true-up")
        CYCLE_SWITCH = "cycle_switch", _("Billing cycle switch")
        PLAN_CHANGE = "plan_change", _("Plan change")
        FINAL = "final", _("Final invoice")

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="invoices")
    subscription = models.ForeignKey(
        "subscriptions.Subscription",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="invoices",
    )
    number = models.CharField(max_length=32, unique=True, null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    billing_key = models.CharField(
        max_length=80,
        unique=True,
        null=True,
        blank=True,
        help_text="Answers “already billed?”: one invoice per subscription, kind and date.",
    )
    currency = models.CharField(max_length=3)
    issued_on = models.DateField()
    due_on = models.DateField()
    tax_rate = models.DecimalField(max_digits=6, decimal_places=4, default=0)
    tax_reason = models.CharField(
        max_length=16,
        choices=TAX_REASONS,
        default="manual",
        help_text="Why this rate: the tax rule that chose it (billing/tax.py).",
    )
    tax_included = models.BooleanField(
        default=False, help_text="The plan's prices include tax: the total is as priced, the tax is part of it."
    )
    subtotal = _money()
    discount = _money()
    discount_label = models.CharField(max_length=200, blank=True)
    tax = _money()
    total = _money()
    credit_applied = _money()
    amount_due = _money()
    amount_paid = _money()
    amount_credited = _money(
        help_text="Credit notes issued while the invoice was open: they lower what is left to pay."
    )
    paid_on = models.DateField(null=True, blank=True)
    buyer = models.JSONField(
        default=dict,
        blank=True,
        help_text="The billing profile, frozen at finalisation.",
    )
    pdf = models.FileField(upload_to="invoices/%Y/", blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    reminders_sent = models.JSONField(default=list, blank=True)

    history = History()
    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_on", "-id"]
        indexes = [
            models.Index(fields=["account", "-issued_on"]),
            models.Index(fields=["status", "due_on"]),
            # The admin's invoice list: newest first, and filtered by status (issue 7, bench/admin.py).
            models.Index(fields=["-issued_on", "-id"], name="invoice_newest_first"),
            models.Index(fields=["status", "-issued_on", "-id"], name="invoice_status_newest_first"),
            # Receivables by age (the Revenue page, issue 21): open invoices of a currency summed by due day
            # from the index alone, without reading the table (bench/analytics.py).
            models.Index(
                fields=["status", "currency", "due_on", "amount_due", "amount_paid", "amount_credited"],
                name="invoice_receivables",
            ),
        ]
        # One currency per invoice (SPEC §2.2): every amount is in the invoice's currency.
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    subtotal_currency=F("currency"),
                    discount_currency=F("currency"),
                    tax_currency=F("currency"),
                    total_currency=F("currency"),
                    credit_applied_currency=F("currency"),
                    amount_due_currency=F("currency"),
                    amount_paid_currency=F("currency"),
                    amount_credited_currency=F("currency"),
                ),
                name="invoice_amounts_in_invoice_currency",
            ),
        ]
        permissions = [
            ("pay_invoice", "Can mark an invoice paid"),
            ("void_invoice", "Can void an invoice"),
            ("mark_uncollectible_invoice", "Can mark an invoice uncollectible"),
            ("credit_invoice", "Can issue a credit note for an invoice"),
            ("refund_invoice", "Can refund an invoice within the money-back window"),
            ("refund_invoice_override", "Can refund an invoice outside the money-back window"),
        ]

    def __str__(self):
        return self.number or f"Draft invoice {self.pk}"


class InvoiceLine(DocumentLine):
    """One line; stores how it was computed. Waiting lines have no invoice yet (`bill_on`)."""

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="lines")
    subscription = models.ForeignKey(
        "subscriptions.Subscription",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lines",
    )
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=LineKind.choices)
    bill_on = models.DateField(null=True, blank=True, help_text="Waiting lines: the day they are invoiced.")

    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["invoice", "position", "id"]
        indexes = [
            models.Index(
                fields=["subscription", "bill_on"],
                condition=Q(invoice__isnull=True),
                name="waiting_lines",
            )
        ]
        # A line's price and amount share a currency (that it is its invoice's is the issuing service's
        # job: a check constraint cannot look at another table).
        constraints = [
            models.CheckConstraint(
                condition=Q(unit_price_currency=F("amount_currency")), name="invoice_line_one_currency"
            ),
        ]


class CreditNote(CreatedBy):
    """A numbered correction or credit; its total goes to the credit balance."""

    class Reason(models.TextChoices):
        SEATS_REMOVED = "seats_removed", _("Seats removed")
        CYCLE_SWITCH = "cycle_switch", _("Unused time (billing cycle switch)")
        CORRECTION = "correction", _("Invoice correction")
        GRANT = "grant", _("Credit granted by support")
        REFUND = "refund", _("Refund")

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="credit_notes")
    subscription = models.ForeignKey(
        "subscriptions.Subscription",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
    )
    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_notes",
        help_text="The invoice this note corrects, if any.",
    )
    number = models.CharField(max_length=32, unique=True, null=True, blank=True)
    reason = models.CharField(max_length=16, choices=Reason.choices)
    memo = models.CharField(max_length=300, blank=True)
    currency = models.CharField(max_length=3)
    issued_on = models.DateField()
    total = _money()
    tax_rate = models.DecimalField(max_digits=6, decimal_places=4, default=0)
    tax_reason = models.CharField(
        max_length=16, choices=TAX_REASONS, default="manual", help_text="The tax treatment of the invoice it corrects."
    )
    tax_included = models.BooleanField(
        default=False, help_text="Its amounts include tax, as the prices of the invoice or plan it credits did."
    )
    buyer = models.JSONField(default=dict, blank=True)
    pdf = models.FileField(upload_to="credit-notes/%Y/", blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    history = History()
    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["-issued_on", "-id"]
        indexes = [models.Index(fields=["-issued_on", "-id"], name="creditnote_newest_first")]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_currency=F("currency")), name="credit_note_total_in_credit_note_currency"
            ),
        ]
        permissions = [
            ("grant_credit", "Can grant credit up to SUPPORT_CREDIT_LIMIT"),
            ("grant_credit_unlimited", "Can grant credit above SUPPORT_CREDIT_LIMIT"),
        ]

    def __str__(self):
        return self.number or f"Draft credit note {self.pk}"


class CreditNoteLine(DocumentLine):
    """A line of a credit note; `invoice_line` is the invoice line it corrects, if any (SPEC §2.6)."""

    credit_note = models.ForeignKey(CreditNote, on_delete=models.CASCADE, related_name="lines")
    invoice_line = models.ForeignKey(InvoiceLine, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # The same columns as an invoice line's, but these may be blank and the amount is positive.
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    quantity = models.IntegerField(default=1)
    days = models.PositiveIntegerField(null=True, blank=True)
    period_days = models.PositiveIntegerField(null=True, blank=True)
    amount = _money(help_text="Positive: the amount credited.")

    objects = DocumentQuerySet.as_manager()

    class Meta:
        ordering = ["credit_note", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(unit_price_currency=F("amount_currency")), name="credit_note_line_one_currency"
            ),
        ]


class CreditEntry(AppendOnly, Created):
    """The credit-balance ledger: + adds credit, − uses it. Each entry has a source document."""

    account = models.ForeignKey("accounts.Account", on_delete=models.PROTECT, related_name="credit_entries")
    amount = _money()
    on = models.DateField()
    memo = models.CharField(max_length=200)
    invoice = models.ForeignKey(
        Invoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_entries",
    )
    credit_note = models.ForeignKey(
        CreditNote,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_entries",
    )

    objects = LedgerQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "credit entries"
        ordering = ["on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(invoice__isnull=False) | Q(credit_note__isnull=False),
                name="credit_entry_has_source",
            ),
        ]

    def __str__(self):
        return f"{self.on} {self.amount} {self.memo}"


class Payment(AppendOnly, Created):
    class Method(models.TextChoices):
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")
        CARD = "card", _("Card (Stripe)")
        OTHER = "other", _("Other")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    amount = _money()
    on = models.DateField()
    method = models.CharField(max_length=16, choices=Method.choices, default=Method.BANK_TRANSFER)
    reference = models.CharField(max_length=200, blank=True)
    gateway_id = models.CharField(max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        "accounts.User",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["on", "id"]

    def __str__(self):
        return f"{self.amount} on {self.on}"


class Refund(AppendOnly, CreatedBy):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="refunds")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="refunds")
    amount = _money()
    on = models.DateField()
    reason = models.CharField(max_length=200)
    gateway_id = models.CharField(max_length=100, blank=True)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["on", "id"]

    def __str__(self):
        return f"Refund of {self.amount} on {self.on}"


class Receipt(Created):
    """Proof of one payment: written with the payment, emailed as a PDF after commit (issue 17).

    What it says is fixed when the payment is recorded (what was paid up to and including this
    payment, what was left to pay after it), so rendering it again later says the same thing.
    Only `emailed_at` changes, once, when it has been sent.
    """

    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="receipt")
    number = models.CharField(max_length=40, unique=True)
    paid_to_date = _money()
    left_to_pay = _money()
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.number


# Stripe records (issue 8) live in their own module; importing them here registers them with the app.
from invoicing.stripe_models import CardCharge, StripeCustomer  # noqa: E402, F401
