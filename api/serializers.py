"""What the API sends and accepts. Money is {"amount": "3.50", "currency": "USD"} with the currency's decimals
({"amount": "1000", "currency": "JPY"}); dates are ISO 8601."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import Account, Membership
from accounts.vies import VIES_STATUSES
from billing.proration import amount_text
from invoicing.documents import credit_note_tax
from invoicing.models import TAX_REASONS, CreditNote, CreditNoteLine, Invoice, InvoiceLine
from invoicing.selectors import invoice_outstanding
from licensing.models import Activation, Licence
from subscriptions.models import Cycle, Subscription
from subscriptions.selectors import PRODUCT_STATUSES, seats_in_use


class PreviewQuerySerializer(serializers.Serializer):
    """`?preview=`: DRF's BooleanField (true/false, 1/0, yes/no, on/off); anything else, `null` included, is a 400."""

    preview = serializers.BooleanField(required=False, default=False)


class MoneySerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=True)
    currency = serializers.CharField(min_length=3, max_length=3)


@extend_schema_field(MoneySerializer)
class MoneyField(serializers.Field):
    """A djmoney / moneyed Money as {"amount": "3.50", "currency": "USD"} (read only), by `amount_text`."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value):
        if value is None:
            return None
        return {"amount": amount_text(value), "currency": str(value.currency)}


class PlanSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    currency = serializers.CharField()
    monthly_price = MoneyField(allow_null=True)
    annual_price = MoneyField(allow_null=True)
    seat_mode = serializers.CharField()
    downgrade = serializers.CharField(
        help_text="`now`: every plan change is prorated today; `at_period_end`: a change to a plan with a lower "
        "price per seat waits for the period's end (see `scheduled_change`), with no credit."
    )
    minimum_invoice = MoneyField(
        allow_null=True,
        help_text="Seats added under invoice_now whose invoice would total less than this wait for the next invoice.",
    )
    max_seats = serializers.IntegerField(allow_null=True)
    max_instances = serializers.IntegerField(allow_null=True, help_text="On-premise servers; null is unlimited.")
    prices_include_tax = serializers.BooleanField(
        help_text="The prices include tax: invoices total as priced and the tax is part of the total."
    )


class ScheduledChangeSerializer(serializers.Serializer):
    plan = PlanSerializer(help_text="The plan the subscription moves to.")
    on = serializers.DateField(help_text="The day it takes effect: the current period's end, when it renews.")


class SubscriptionSerializer(serializers.ModelSerializer):
    subscription_id = serializers.CharField(source="public_id", help_text="The ID an on-premise server activates with.")
    plan = PlanSerializer()
    seats_in_use = serializers.SerializerMethodField()
    scheduled_change = serializers.SerializerMethodField(
        help_text="A downgrade waiting for the period's end (plan setting `downgrade` at_period_end), or null. "
        "The customer can undo it on Settings › Subscription until then."
    )

    class Meta:
        model = Subscription
        fields = [
            "subscription_id",
            "plan",
            "cycle",
            "status",
            "period_start",
            "period_end",
            "trial_end",
            "paid_seats",
            "bought_seats",
            "minimum_seats",
            "seats_in_use",
            "cancel_at_period_end",
            "pending_cycle",
            "scheduled_change",
            "started_on",
            "expired_on",
        ]

    @extend_schema_field(OpenApiTypes.INT)
    def get_seats_in_use(self, sub) -> int:
        return seats_in_use(sub.account)

    @extend_schema_field(ScheduledChangeSerializer(allow_null=True))
    def get_scheduled_change(self, sub) -> dict | None:
        if sub.pending_plan is None or sub.is_expired:
            return None
        return ScheduledChangeSerializer({"plan": sub.pending_plan, "on": sub.period_end}).data


MAX_API_SEATS = 1000


class EntitlementSerializer(serializers.Serializer):
    key = serializers.SlugField(help_text="The feature the product checks, e.g. `time_tracking`, `max_projects`.")
    limit = serializers.IntegerField(allow_null=True, help_text="A number the product enforces; null: no limit.")


class AccountPlanSerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    prices_include_tax = serializers.BooleanField(help_text="The plan's prices include tax.")


class AccountSeatsSerializer(serializers.Serializer):
    in_use = serializers.IntegerField(help_text="Active and invited members whose role is not `none`.")
    paid = serializers.IntegerField(allow_null=True, help_text="Seats paid for; null when nothing is subscribed.")


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField(help_text="The period's first day.")
    end = serializers.DateField(help_text="The day after its last day: the next period starts here.")


class AccountStateSerializer(serializers.Serializer):
    """What the product needs to decide what a user may do (`GET /api/v1/account`)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    status = serializers.ChoiceField(
        choices=[(v, v) for v in PRODUCT_STATUSES],
        help_text="`locked`: an invoice is unpaid past its lock day (wins over the rest); `expired`: no running "
        "subscription; `past_due`: an open invoice is past its due date, not locked yet; `trialing`; `active` "
        "(also a canceled subscription until its period ends: see `cancel_at_period_end`).",
    )
    plan = AccountPlanSerializer(allow_null=True, help_text="The running subscription's plan; null when expired.")
    cycle = serializers.ChoiceField(choices=Cycle.choices, allow_null=True)
    seats = AccountSeatsSerializer()
    current_period = PeriodSerializer(allow_null=True)
    trial_end = serializers.DateField(allow_null=True)
    cancel_at_period_end = serializers.BooleanField()
    locked_on = serializers.DateField(allow_null=True)
    entitlements = EntitlementSerializer(
        many=True,
        help_text="The plan's features while active, trialing or past due; empty when locked or expired.",
    )


class SeatsInputSerializer(serializers.Serializer):
    # Every paid seat holds a licence row; the API's ceiling keeps a change within one quick request.
    # Larger deals are set up by support.
    seats = serializers.IntegerField(min_value=0, max_value=MAX_API_SEATS, help_text="At most 1,000 through the API.")


class CycleInputSerializer(serializers.Serializer):
    cycle = serializers.ChoiceField(choices=Cycle.choices)


class PreviewLineSerializer(serializers.Serializer):
    description = serializers.CharField()
    explanation = serializers.CharField(help_text="How it was computed, e.g. “Nov 16 – Nov 30, 15 of 30 days”.")
    kind = serializers.CharField()
    quantity = serializers.IntegerField()
    amount = MoneyField()
    bill_on = serializers.DateField(allow_null=True, help_text="Waiting lines: the day they will be invoiced.")


class PreviewDocumentSerializer(serializers.Serializer):
    number = serializers.CharField(help_text="Empty in a preview: numbers are given when it is issued.")
    reason = serializers.CharField()
    issued_on = serializers.DateField()
    lines = PreviewLineSerializer(many=True)
    total = MoneyField()


class PreviewInvoiceSerializer(PreviewDocumentSerializer):
    amount_due = MoneyField()


class ChangeResultSerializer(serializers.Serializer):
    preview = serializers.BooleanField(help_text="True: nothing was changed; this is what the change would do.")
    subscription = SubscriptionSerializer(help_text="The subscription after the change.")
    invoices = PreviewInvoiceSerializer(many=True)
    waiting_lines = PreviewLineSerializer(many=True, help_text="Lines added to a later invoice.")
    credit_notes = PreviewDocumentSerializer(many=True)


class MemberSerializer(serializers.ModelSerializer):
    holds_licence = serializers.SerializerMethodField()
    name = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = ["id", "email", "name", "role", "status", "invited_on", "joined_on", "archived_on", "holds_licence"]

    @extend_schema_field(OpenApiTypes.STR)
    def get_name(self, m) -> str:
        return m.user.name if m.user_id else ""

    @extend_schema_field(OpenApiTypes.BOOL)
    def get_holds_licence(self, m) -> bool:
        return m.pk in self.context.get("licensed", set())


GRANTABLE_ROLES = [c for c in Membership.Role.choices if c[0] != Membership.Role.OWNER]


class InviteInputSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=GRANTABLE_ROLES, default=Membership.Role.MEMBER)


class RoleInputSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=GRANTABLE_ROLES)


class ViesCheckSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[(v, v) for v in VIES_STATUSES],
        help_text="`valid` / `invalid`: what VIES answered; `unavailable`: the last ask got no answer (an earlier "
        "valid answer may still hold); `pending`: not asked yet. Reverse charge needs a valid answer.",
    )
    checked_on = serializers.DateField(allow_null=True, help_text="The day VIES was last asked.")
    valid_on = serializers.DateField(allow_null=True, help_text="The last day VIES said the VAT ID is valid.")
    consultation_number = serializers.CharField(
        allow_blank=True, help_text="VIES's consultation number for its last answer: the evidence to keep."
    )
    message = serializers.CharField(allow_blank=True, help_text="Why VIES could not answer, when `unavailable`.")


class BillingDetailsSerializer(serializers.Serializer):
    """The buyer block of the account's next documents. Input is checked by the same service as
    Settings › Billing details (`accounts.services.billing_details_update`); issued documents keep theirs."""

    legal_name = serializers.CharField(allow_blank=True, help_text="Empty: invoices carry the account name.")
    address = serializers.CharField(allow_blank=True, help_text="Street lines separated by newlines, at most 3.")
    postcode = serializers.CharField(allow_blank=True)
    city = serializers.CharField(allow_blank=True)
    country = serializers.CharField(allow_blank=True, help_text="ISO 3166-1 alpha-2 code, e.g. `DE`.")
    tax_id = serializers.CharField(
        allow_blank=True,
        help_text="VAT ID with its country prefix (`DE136695976`); EU VAT IDs are checked for format and "
        "check digits and stored compact.",
    )
    billing_email = serializers.CharField(allow_blank=True, help_text="Empty: documents go to the owner.")
    invoice_language = serializers.CharField(
        help_text="One of " + ", ".join(f"`{value}` ({label})" for value, label in Account.Language.choices) + "."
    )
    vies = ViesCheckSerializer(
        read_only=True,
        allow_null=True,
        help_text="The VIES check of `tax_id` (an EU business in another country than the seller's); null when "
        "no check applies. Saving a new VAT ID asks VIES again.",
    )


def _tax_rate_field():
    """The frozen tax rate of an invoice or credit note, as the decimal string it is stored as."""
    return serializers.DecimalField(
        max_digits=6,
        decimal_places=4,
        read_only=True,
        coerce_to_string=True,
        help_text="The tax rate as a fraction: `0.1900` is 19 %.",
    )


def _tax_reason_field():
    """The tax rule that chose the rate (billing/tax.py), as stored on the document."""
    return serializers.ChoiceField(
        choices=TAX_REASONS,
        read_only=True,
        help_text="Why this rate: `domestic`, `eu_consumer` (the buyer country's rate), `reverse_charge`, "
        "`export` or `manual` (set by support).",
    )


def _absolute(context: dict, path: str) -> str:
    request = context.get("request")
    return request.build_absolute_uri(path) if request else path


class InvoiceLineSerializer(serializers.ModelSerializer):
    unit_price = MoneyField()
    amount = MoneyField()

    class Meta:
        model = InvoiceLine
        fields = [
            "kind",
            "description",
            "period_start",
            "period_end",
            "quantity",
            "unit_price",
            "days",
            "period_days",
            "amount",
        ]


class InvoiceSerializer(serializers.ModelSerializer):
    subtotal = MoneyField()
    discount = MoneyField()
    tax = MoneyField()
    total = MoneyField()
    credit_applied = MoneyField()
    amount_due = MoneyField()
    amount_paid = MoneyField()
    amount_credited = MoneyField(help_text="Taken off by credit notes issued while the invoice was open.")
    amount_remaining = serializers.SerializerMethodField(help_text="What is left to pay: due − paid − credited.")
    pdf_url = serializers.SerializerMethodField()
    tax_rate = _tax_rate_field()
    tax_reason = _tax_reason_field()
    tax_included = serializers.BooleanField(
        read_only=True, help_text="The prices include tax: `total` is as priced and `tax` is part of it."
    )

    class Meta:
        model = Invoice
        fields = [
            "number",
            "status",
            "reason",
            "currency",
            "issued_on",
            "due_on",
            "paid_on",
            "subtotal",
            "discount",
            "discount_label",
            "tax_rate",
            "tax_reason",
            "tax_included",
            "tax",
            "total",
            "credit_applied",
            "amount_due",
            "amount_paid",
            "amount_credited",
            "amount_remaining",
            "pdf_url",
        ]

    @extend_schema_field(MoneySerializer)
    def get_amount_remaining(self, invoice) -> dict:
        return MoneyField().to_representation(invoice_outstanding(invoice))

    @extend_schema_field(OpenApiTypes.URI)
    def get_pdf_url(self, invoice) -> str:
        return _absolute(self.context, f"/api/v1/invoices/{invoice.number}/pdf")


class InvoiceDetailSerializer(InvoiceSerializer):
    lines = InvoiceLineSerializer(many=True)

    class Meta(InvoiceSerializer.Meta):
        fields = [*InvoiceSerializer.Meta.fields, "lines"]


class CreditNoteLineSerializer(serializers.ModelSerializer):
    amount = MoneyField()

    class Meta:
        model = CreditNoteLine
        fields = ["description", "period_start", "period_end", "quantity", "days", "period_days", "amount"]


class CreditNoteSerializer(serializers.ModelSerializer):
    total = MoneyField()
    invoice = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)
    pdf_url = serializers.SerializerMethodField()
    tax_rate = _tax_rate_field()
    tax_reason = _tax_reason_field()
    tax_included = serializers.BooleanField(read_only=True, help_text="`total` includes tax; `tax` is part of it.")
    tax = serializers.SerializerMethodField(
        help_text="The tax the note gives back: inside `total` when `tax_included`, else zero (a note on "
        "tax-exclusive prices credits net amounts)."
    )

    class Meta:
        model = CreditNote
        fields = [
            "number",
            "reason",
            "memo",
            "currency",
            "issued_on",
            "tax_rate",
            "tax_reason",
            "tax_included",
            "tax",
            "total",
            "invoice",
            "pdf_url",
        ]

    @extend_schema_field(MoneySerializer)
    def get_tax(self, note) -> dict:
        return MoneyField().to_representation(credit_note_tax(note))

    @extend_schema_field(OpenApiTypes.URI)
    def get_pdf_url(self, note) -> str:
        return _absolute(self.context, f"/api/v1/credit-notes/{note.number}/pdf")


class CreditNoteDetailSerializer(CreditNoteSerializer):
    lines = CreditNoteLineSerializer(many=True)

    class Meta(CreditNoteSerializer.Meta):
        fields = [*CreditNoteSerializer.Meta.fields, "lines"]


class LicenceSerializer(serializers.ModelSerializer):
    member_id = serializers.IntegerField(source="membership_id", allow_null=True)
    email = serializers.SerializerMethodField()

    class Meta:
        model = Licence
        fields = ["id", "member_id", "email", "assigned_on"]

    @extend_schema_field(serializers.EmailField(allow_null=True, help_text="The holder's email; null when free."))
    def get_email(self, licence) -> str | None:
        return licence.membership.email if licence.membership_id else None


class ActivationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Activation
        fields = ["instance_id", "kind", "first_activated_at", "last_activated_at", "times_issued", "deactivated_at"]


class ActivationInputSerializer(serializers.Serializer):
    subscription_id = serializers.CharField(max_length=100, help_text="From Settings › Subscription or any invoice.")
    instance_id = serializers.RegexField(
        r"^[A-Za-z0-9_.:{}-]{1,100}$", max_length=100, help_text="The on-premise server's instance ID."
    )


class SignedLicenceSerializer(serializers.Serializer):
    licence = serializers.DictField(
        help_text="account, plan, seats, licensed_users, instance_id, issued_at, expires_on, …"
    )
    signature = serializers.CharField(help_text="Base64 Ed25519 signature of the canonical JSON of `licence`.")


class PublicKeySerializer(serializers.Serializer):
    algorithm = serializers.CharField()
    public_key_pem = serializers.CharField()
    public_key_base64 = serializers.CharField(help_text="The 32 raw bytes, base64.")
