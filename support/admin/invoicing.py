"""Admin for invoices, credit notes and the credit ledger (SPEC §2.6, §3).

Issued documents are read-only: every change is a finance action that calls a
service (pay, void, uncollectible, credit note, refund), previewed first. The
invoice list stays fast at millions of rows: no full COUNT(*), searches that
use indexes.
"""

import re

from django import forms
from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.utils.functional import cached_property
from django.utils.html import format_html
from moneyed import Money

from common.clock import today
from common.errors import Refused
from invoicing import services
from invoicing.models import (
    CreditEntry,
    CreditNote,
    CreditNoteLine,
    Invoice,
    InvoiceLine,
    NumberSeries,
    Payment,
    Refund,
)
from invoicing.stripe_models import CardCharge, StripeCustomer
from subscriptions.selectors import refund_window_end
from support.admin.base import (
    ActionForm,
    CurrencyFilter,
    HistoryAdmin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    RequiredReasonForm,
    StaffAction,
    StaffActionsMixin,
    account_ids_matching,
    admin_link,
    buyer_display,
    money_column,
    show_money,
)

NUMBER = re.compile(r"^(INV|CN)-\d{4}-\d+$", re.IGNORECASE)


def pdf_url(invoice: Invoice) -> str:
    return f"/settings/invoices/{invoice.number}.pdf"


class EstimatedCountPaginator(Paginator):
    """No COUNT(*) over millions of rows: an unfiltered list uses the planner's estimate (or the highest id),
    a filtered one counts at most COUNT_CAP rows (narrow the filter to page further)."""

    COUNT_CAP = 10_000

    @cached_property
    def count(self):
        query = self.object_list.query
        if query.where:
            return self.object_list.order_by()[: self.COUNT_CAP].count()
        table = self.object_list.model._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", [table])
                row = cursor.fetchone()
                if row and row[0] and row[0] > 0:
                    return int(row[0])
            cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            row = cursor.fetchone()
        return int(row[0] or 0)


class DocumentSearchMixin:
    """Search by number (exact, on its unique index), or by account name / owner email."""

    search_fields = ["number"]
    search_help_text = "A number (INV-2026-000123), a subscription ID (sub_…), or an account name or owner email."

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        # One indexed condition per kind of term: an OR across them would defeat the indexes.
        if NUMBER.match(term):
            return queryset.filter(number=term.upper()), False
        if term.upper().startswith(("INV-", "CN-")):
            return queryset.filter(number__startswith=term.upper()), False
        if term.startswith("sub_"):
            return queryset.filter(subscription__public_id=term), False
        return queryset.filter(account_id__in=account_ids_matching(term)), False


# ---------------------------------------------------------------- invoice actions


class MarkPaidForm(ActionForm):
    paid_on = forms.DateField(label="Payment date", help_text="YYYY-MM-DD")
    method = forms.ChoiceField(choices=Payment.Method.choices)
    reference = forms.CharField(max_length=200, required=False, help_text="Bank reference, cheque number …")
    amount = forms.DecimalField(
        max_digits=14, decimal_places=2, required=False, help_text="Leave empty for the whole amount outstanding."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["paid_on"].initial = today(self.obj.account)


class MarkPaid(StaffAction):
    label = "Mark paid"
    permission = "invoicing.pay_invoice"
    form_class = MarkPaidForm
    note = "Records a payment; paid in full, the invoice is paid and a locked account unlocks at once."

    def applies(self, obj):
        return obj.status == Invoice.Status.OPEN

    def call(self, obj, data, user):
        amount = Money(data["amount"], obj.currency) if data.get("amount") is not None else None
        return services.invoice_pay, {
            "invoice": obj,
            "on": data["paid_on"],
            "amount": amount,
            "method": data["method"],
            "reference": data.get("reference") or "",
            "by": user,
        }

    def reason(self, data):
        return f"Marked paid ({data['method']}) {data.get('reference') or ''}".strip()


class CloseOpenInvoice(StaffAction):
    """Open → a final status by a service that takes the invoice, the day and a reason."""

    form_class = RequiredReasonForm
    service_name = ""

    def applies(self, obj):
        return obj.status == Invoice.Status.OPEN

    def call(self, obj, data, user):
        service = getattr(services, self.service_name)
        return service, {"invoice": obj, "on": today(obj.account), "reason": data["reason"], "by": user}


class Void(CloseOpenInvoice):
    label = "Void"
    permission = "invoicing.void_invoice"
    service_name = "invoice_void"
    note = "The invoice was issued by mistake: it is voided, and any credit it used goes back to the credit balance."


class MarkUncollectible(CloseOpenInvoice):
    label = "Mark uncollectible"
    permission = "invoicing.mark_uncollectible_invoice"
    service_name = "invoice_mark_uncollectible"
    note = "Written off: it stays issued, no longer makes the account past due, and may unlock it."


class CreditNoteForm(RequiredReasonForm):
    lines = forms.ModelMultipleChoiceField(
        queryset=InvoiceLine.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Credit these lines in full …",
    )
    amount = forms.DecimalField(max_digits=14, decimal_places=2, required=False, help_text="… or this amount.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lines"].queryset = self.obj.lines.filter(amount__gt=0).order_by("position", "id")
        self.fields["lines"].label_from_instance = lambda line: f"{line.description}: {show_money(line.amount)}"
        self.fields["amount"].help_text = f"… or this amount, in {self.obj.currency}."

    def clean(self):
        data = super().clean()
        if bool(data.get("lines")) == (data.get("amount") is not None):
            raise forms.ValidationError("Choose lines or give an amount (not both).")
        return data


class IssueCreditNote(StaffAction):
    label = "Issue credit note"
    permission = "invoicing.credit_invoice"
    form_class = CreditNoteForm
    note = (
        "A numbered credit note that points at this invoice. On an open invoice it lowers what is left to pay;"
        " on a paid one (or beyond what is left) it joins the credit balance."
    )

    def applies(self, obj):
        return obj.status in (Invoice.Status.OPEN, Invoice.Status.PAID, Invoice.Status.UNCOLLECTIBLE)

    def call(self, obj, data, user):
        amount = Money(data["amount"], obj.currency) if data.get("amount") is not None else None
        return services.invoice_credit, {
            "invoice": obj,
            "on": today(obj.account),
            "reason": data["reason"],
            "lines": list(data.get("lines") or []),
            "amount": amount,
            "by": user,
        }

    def done(self, obj, written):
        note = written.credit_notes[0]
        return f"Credit note {note.number} issued for {show_money(note.total, obj.account.locale)}."


class RefundForm(ActionForm):
    reason = forms.CharField(max_length=100, help_text="Why the money goes back; kept on the refund and in history.")
    override = forms.BooleanField(
        required=False,
        label="Finance override",
        help_text="Refund outside the money-back window (needs the refund-override permission).",
    )


def refund_window(invoice: Invoice):
    return refund_window_end(invoice.subscription) if invoice.subscription_id else None


class RefundInvoice(StaffAction):
    label = "Refund"
    permission = "invoicing.refund_invoice"
    form_class = RefundForm

    def applies(self, obj):
        return obj.amount_paid.amount > 0

    def check(self, obj, data, user):
        end = refund_window(obj)
        if end is not None and today(obj.account) <= end:
            return
        where = f"ended on {end}" if end else "does not apply to this invoice"
        if not data.get("override"):
            raise Refused(f"The money-back window {where}. Tick “Finance override” to refund anyway.")
        if not user.has_perm("invoicing.refund_invoice_override"):
            raise Refused(f"The money-back window {where}, and you may not override it.")

    def call(self, obj, data, user):
        return services.invoice_refund, {
            "invoice": obj,
            "on": today(obj.account),
            "reason": data["reason"],
            "by": user,
        }

    def done(self, obj, written):
        if not written.refunds:
            return f"Nothing is left to refund on {obj}."
        return f"Refunded {show_money(written.refunds[0].amount, obj.account.locale)} of {obj}."


# ---------------------------------------------------------------- invoices


class InvoiceLineInline(ReadOnlyInline):
    model = InvoiceLine
    fields = ["position", "kind", "description", "period_start", "period_end", "quantity", "unit_price", "amount"]
    show_change_link = False


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["on", "amount", "method", "reference", "gateway_id", "recorded_by"]
    show_change_link = False


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["on", "amount", "reason", "gateway_id", "created_by"]
    show_change_link = False


class CreditNoteOfInvoiceInline(ReadOnlyInline):
    model = CreditNote
    fields = ["number", "issued_on", "reason", "memo", "total"]
    fk_name = "invoice"
    verbose_name_plural = "Credit notes for this invoice"


@admin.register(Invoice)
class InvoiceAdmin(DocumentSearchMixin, StaffActionsMixin, ReadOnlyAdminMixin, HistoryAdmin):
    list_display = ["number", "account", "status", "reason", "issued_on", "due_on", "total_display", "due_display"]
    list_select_related = ["account"]
    list_filter = ["status", "reason", CurrencyFilter]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    list_per_page = 50
    inlines = [InvoiceLineInline, PaymentInline, RefundInline, CreditNoteOfInvoiceInline]
    fieldsets = [
        (None, {"fields": ["number", "status", "reason", "account_link", "subscription_link", "pdf_link"]}),
        ("Dates", {"fields": ["issued_on", "due_on", "paid_on"]}),
        (
            "Totals",
            {
                "fields": [
                    "subtotal_display",
                    "discount_display",
                    "tax_display",
                    "total_display",
                    "credit_applied_display",
                    "due_display",
                    "paid_display",
                ]
            },
        ),
        ("Buyer (frozen at issue)", {"fields": ["buyer_display", "emailed_at"]}),
    ]
    readonly_fields = [
        "number",
        "status",
        "reason",
        "account_link",
        "subscription_link",
        "pdf_link",
        "issued_on",
        "due_on",
        "paid_on",
        "subtotal_display",
        "discount_display",
        "tax_display",
        "total_display",
        "credit_applied_display",
        "due_display",
        "paid_display",
        "buyer_display",
        "emailed_at",
    ]
    staff_actions = {
        "mark_paid": MarkPaid,
        "void": Void,
        "uncollectible": MarkUncollectible,
        "credit_note": IssueCreditNote,
        "refund": RefundInvoice,
    }

    buyer_display = buyer_display

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("account", "subscription")

    def _money(self, obj, value):
        return show_money(value, (obj.buyer or {}).get("locale") or "en_US")

    @admin.display(description="Account")
    def account_link(self, obj):
        return admin_link(obj.account)

    @admin.display(description="Subscription")
    def subscription_link(self, obj):
        return admin_link(obj.subscription, obj.subscription.public_id) if obj.subscription_id else "–"

    @admin.display(description="PDF")
    def pdf_link(self, obj):
        return format_html('<a href="{}">{}.pdf</a>', pdf_url(obj), obj.number) if obj.number else "–"

    @admin.display(description="Subtotal")
    def subtotal_display(self, obj):
        return self._money(obj, obj.subtotal)

    @admin.display(description="Discount")
    def discount_display(self, obj):
        label = f" ({obj.discount_label})" if obj.discount_label else ""
        return self._money(obj, obj.discount) + label

    @admin.display(description="Tax")
    def tax_display(self, obj):
        included = ", included in the total" if obj.tax_included else ""
        rate = f"{obj.tax_rate * 100:.4f}".rstrip("0").rstrip(".")  # 0.1900 → 19, 0.2550 → 25.5
        return f"{self._money(obj, obj.tax)} ({rate}%{included})"

    @admin.display(description="Total", ordering="total")
    def total_display(self, obj):
        return self._money(obj, obj.total)

    @admin.display(description="Credit applied")
    def credit_applied_display(self, obj):
        return self._money(obj, obj.credit_applied)

    @admin.display(description="Amount due", ordering="amount_due")
    def due_display(self, obj):
        return self._money(obj, obj.amount_due)

    @admin.display(description="Paid")
    def paid_display(self, obj):
        return self._money(obj, obj.amount_paid)


# ---------------------------------------------------------------- credit notes and the ledger


class CreditNoteLineInline(ReadOnlyInline):
    model = CreditNoteLine
    fields = ["description", "period_start", "period_end", "quantity", "unit_price", "amount"]
    show_change_link = False


@admin.register(CreditNote)
class CreditNoteAdmin(DocumentSearchMixin, ReadOnlyAdminMixin, HistoryAdmin):
    list_display = ["number", "account", "reason", "issued_on", "total_display", "invoice", "created_by"]
    list_select_related = ["account", "invoice", "created_by"]
    list_filter = ["reason", CurrencyFilter]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    inlines = [CreditNoteLineInline]
    readonly_fields = [
        "number",
        "reason",
        "memo",
        "account",
        "subscription",
        "invoice",
        "issued_on",
        "total_display",
        "buyer_display",
        "created_by",
    ]
    fields = readonly_fields

    total_display = money_column("total", "Total")
    buyer_display = buyer_display


@admin.register(CreditEntry)
class CreditEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["on", "account", "amount_display", "memo", "invoice", "credit_note"]
    list_select_related = ["account", "invoice", "credit_note"]
    search_fields = ["account__name"]
    search_help_text = "An account name or owner email."
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        return queryset.filter(account_id__in=account_ids_matching(term)), False

    amount_display = money_column("amount", "Amount")


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["on", "invoice", "amount_display", "method", "reference", "recorded_by"]
    list_select_related = ["invoice", "recorded_by"]
    list_filter = ["method"]
    search_fields = ["=invoice__number", "reference"]
    show_full_result_count = False

    amount_display = money_column("amount", "Amount")


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["on", "invoice", "amount_display", "reason", "created_by"]
    list_select_related = ["invoice", "created_by"]
    search_fields = ["=invoice__number", "reason"]
    show_full_result_count = False

    amount_display = money_column("amount", "Amount")


@admin.register(InvoiceLine)
class InvoiceLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Lines, including those waiting for a later invoice (no invoice yet, a `bill_on` day)."""

    list_display = ["description", "invoice", "kind", "period_start", "period_end", "amount_display", "bill_on"]
    list_select_related = ["invoice"]
    list_filter = ["kind"]
    search_fields = ["=invoice__number", "=subscription__public_id"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    amount_display = money_column("amount", "Amount")


@admin.register(NumberSeries)
class NumberSeriesAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["prefix", "year", "last_value"]


@admin.register(CreditNoteLine)
class CreditNoteLineAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["description", "credit_note", "period_start", "period_end", "amount_display"]
    list_select_related = ["credit_note"]
    search_fields = ["=credit_note__number"]
    show_full_result_count = False

    amount_display = money_column("amount", "Amount")


# ---------------------------------------------------------------- card payments (Stripe), read-only


@admin.register(StripeCustomer)
class StripeCustomerAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["account", "stripe_id", "card_brand", "card_last4", "card_exp_month", "card_exp_year"]
    list_select_related = ["account"]
    search_fields = ["=stripe_id", "account__name"]


@admin.register(CardCharge)
class CardChargeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["invoice", "attempt", "status", "attempted_on", "payment_intent_id", "failure_message"]
    list_select_related = ["invoice"]
    list_filter = ["status"]
    search_fields = ["=invoice__number", "=payment_intent_id"]
    show_full_result_count = False
