"""Admin for users, accounts and members (SPEC §3): support actions, each a service call previewed first."""

from datetime import timedelta
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse
from django.utils.html import format_html
from moneyed import Money

from accounts.countries import countries
from accounts.models import Account, Membership, TaxRate, User
from accounts.services import (
    BILLING_DETAILS,
    billing_details_clean,
    billing_details_update,
    membership_archive,
    membership_reactivate,
)
from accounts.vies import vies_check_request, vies_needed
from common.clock import today
from common.errors import Refused
from invoicing.models import CreditEntry, CreditNote, Invoice
from invoicing.selectors import credit_balance
from invoicing.services import credit_grant
from subscriptions.selectors import latest_subscription, seats_in_use
from subscriptions.services import account_unlock
from support.admin.base import (
    LEDGER_ROWS,
    RECENT,
    ActionForm,
    CurrencyFilter,
    HistoryAdmin,
    LockedFilter,
    ReadOnlyInline,
    ReasonForm,
    RequiredReasonForm,
    StaffAction,
    StaffActionsMixin,
    account_of,
    admin_link,
    html_table,
    show_money,
)

# ---------------------------------------------------------------- account actions


class GrantCreditForm(ActionForm):
    amount = forms.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    reason = forms.CharField(max_length=100, help_text="Printed on the credit note and kept in history.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        account = account_of(self.obj)
        self.fields["amount"].help_text = f"In {account.currency or 'the account currency'}."


class GrantCredit(StaffAction):
    label = "Grant credit"
    permission = "invoicing.grant_credit"
    form_class = GrantCreditForm
    note = "A numbered credit note (reason “grant”) is issued; its total joins the credit balance."

    def applies(self, obj):
        return bool(account_of(obj).currency)

    def check(self, obj, data, user):
        account = account_of(obj)
        limit = Money(settings.SUPPORT_CREDIT_LIMIT, account.currency)
        if Money(data["amount"], account.currency) > limit and not user.has_perm("invoicing.grant_credit_unlimited"):
            raise Refused(f"Support may grant at most {show_money(limit)}; ask Finance for more.", field="amount")

    def call(self, obj, data, user):
        account = account_of(obj)
        return credit_grant, {
            "account": account,
            "amount": Money(data["amount"], account.currency),
            "reason": data["reason"],
            "on": today(account),
            "by": user,
        }

    def done(self, obj, written):
        note = written.credit_notes[0]
        return f"Credit note {note.number} issued for {show_money(note.total, account_of(obj).locale)}."


class UnlockAccount(StaffAction):
    label = "Unlock account"
    permission = "accounts.change_account"
    form_class = RequiredReasonForm
    note = "The account is unlocked now; its open invoices stay open and dunning may lock it again."

    def applies(self, obj):
        return account_of(obj).locked_on is not None

    def call(self, obj, data, user):
        account = account_of(obj)
        return account_unlock, {"account": account, "on": today(account), "by": user, "reason": self.reason(data)}

    def done(self, obj, written):
        return f"{account_of(obj)} is unlocked."


class CheckVatId(StaffAction):
    label = "Check VAT ID with VIES now"
    permission = "accounts.change_account"
    form_class = ActionForm
    note = "VIES is asked once you confirm; its answer, day and consultation number show under “VAT ID check”."

    def applies(self, obj):
        return vies_needed(account_of(obj))

    def call(self, obj, data, user):
        return vies_check_request, {"account": account_of(obj), "by": user}

    def done(self, obj, written):
        account = Account.objects.get(pk=account_of(obj).pk)
        answer = {True: "valid", False: "not valid", None: "no answer yet"}[account.vies_valid]
        said = f" ({account.vies_message})" if account.vies_message else ""
        return f"VIES asked about {account.tax_id}: {answer}{said}."


# ---------------------------------------------------------------- users, accounts, members


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "name", "email_verified", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "email_verified", "groups"]
    search_fields = ["email", "name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Personal info", {"fields": ["name"]}),
        (
            "Permissions",
            {"fields": ["is_active", "email_verified", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class MembershipInline(ReadOnlyInline):
    model = Membership
    fields = ["email", "user", "role", "status", "invited_on", "joined_on", "archived_on"]
    verbose_name_plural = "Members (changed in Settings › Members, where seats are billed)"


def _credit_entry_inline():
    class CreditEntryInline(ReadOnlyInline):
        model = CreditEntry
        fields = ["on", "amount", "memo", "invoice", "credit_note"]
        verbose_name_plural = f"Credit ledger (latest {LEDGER_ROWS} entries)"
        show_change_link = False

        def get_queryset(self, request):
            return super().get_queryset(request).select_related("invoice", "credit_note")

    return CreditEntryInline


class AccountForm(forms.ModelForm):
    """The billing details are plain text here: `accounts.services.billing_details_clean` checks them,
    as it does for Settings › Billing details and the API."""

    legal_name = forms.CharField(required=False, widget=forms.TextInput(attrs={"size": 60}))
    address = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))
    postcode = forms.CharField(required=False)
    city = forms.CharField(required=False)
    country = forms.CharField(required=False, widget=forms.Select())
    tax_id = forms.CharField(required=False, label="VAT ID", help_text="With its country prefix, e.g. DE136695976.")
    billing_email = forms.CharField(required=False)
    invoice_language = forms.CharField(widget=forms.Select(choices=Account.Language.choices))

    class Meta:
        model = Account
        fields = list(BILLING_DETAILS)  # the admin adds the fields of its fieldsets

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].widget.choices = [("", "—"), *countries()]

    def clean(self):
        data = super().clean()
        changes = {name: data.get(name, "") for name in BILLING_DETAILS if name in self.fields}
        try:
            data.update(
                {
                    name: value
                    for name, value in billing_details_clean(account=self.instance, changes=changes).items()
                    if name in changes
                }
            )
        except Refused as exc:
            self.add_error(exc.field if exc.field in self.fields else None, exc.message)
        return data


@admin.register(Account)
class AccountAdmin(StaffActionsMixin, HistoryAdmin):
    form = AccountForm
    list_display = ["name", "owner_email", "currency", "payment_gateway", "locked_on", "created_at"]
    list_filter = [LockedFilter, CurrencyFilter, "payment_gateway"]
    search_fields = ["name", "slug", "legal_name", "billing_email"]
    show_full_result_count = False
    inlines = [MembershipInline, _credit_entry_inline()]
    readonly_fields = [
        "currency",
        "locked_on",
        "created_at",
        "subscription_summary",
        "credit_balance_display",
        "recent_invoices",
        "recent_credit_notes",
    ]
    fieldsets = [
        (None, {"fields": ["name", "slug", "timezone", "locale", "currency", "created_at"]}),
        (
            "Billing profile",
            {
                "fields": [
                    *BILLING_DETAILS,
                    "tax_rate",
                    "payment_gateway",
                ]
            },
        ),
        (
            "VAT ID check (VIES)",
            {"fields": ["vies_valid", "vies_checked_on", "vies_valid_on", "vies_consultation", "vies_message"]},
        ),
        ("Subscription", {"fields": ["subscription_summary", "locked_on"]}),
        ("Credit", {"fields": ["credit_balance_display"]}),
        ("Documents", {"fields": ["recent_invoices", "recent_credit_notes"]}),
    ]
    staff_actions = {"grant_credit": GrantCredit, "unlock": UnlockAccount, "vies_check": CheckVatId}

    def save_model(self, request, obj, form, change):
        """The billing details through their service (history, a VAT ID's VIES answer); the rest as usual."""
        details = {name: form.cleaned_data[name] for name in BILLING_DETAILS if name in form.cleaned_data}
        if change and details:
            stored = Account.objects.get(pk=obj.pk)
            for name in details:
                setattr(obj, name, getattr(stored, name))
        super().save_model(request, obj, form, change)
        if change and details:
            billing_details_update(account=obj, changes=details, by=request.user)

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if obj is not None and inline.model._meta.model_name == "creditentry":
            # The newest entries only: a long-lived account's ledger can be long (the full one is a link away).
            newest = inline.model.objects.filter(account=obj).order_by("-on", "-id")
            latest = newest.values_list("pk", flat=True)[:LEDGER_ROWS]
            kwargs["queryset"] = kwargs["queryset"].filter(pk__in=list(latest))
        return kwargs

    def has_add_permission(self, request):
        # Accounts are created by signing up (accounts.services.signup), which also makes the owner.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        owner = Membership.objects.filter(account=OuterRef("pk"), role=Membership.Role.OWNER).values("email")[:1]
        return super().get_queryset(request).annotate(owner_email=Subquery(owner))

    def get_search_results(self, request, queryset, search_term):
        """Name, slug, legal name, billing email, or the owner's email."""
        term = search_term.strip()
        if not term:
            return queryset, False
        owners = Membership.objects.filter(role=Membership.Role.OWNER, email__icontains=term).values("account_id")
        q = Q(pk__in=owners)
        for name in self.search_fields:
            q |= Q(**{f"{name}__icontains": term})
        return queryset.filter(q), False

    @admin.display(description="Owner", ordering="owner_email")
    def owner_email(self, obj):
        return obj.owner_email

    @admin.display(description="Subscription")
    def subscription_summary(self, obj):
        sub = latest_subscription(obj)
        if sub is None:
            return "No subscription"
        return format_html(
            "{} · {} · {} · period {} – {} · seats {} in use / {} paid",
            admin_link(sub, sub.public_id),
            sub.plan.name,
            sub.get_cycle_display(),
            sub.period_start,
            sub.period_end - timedelta(days=1),
            seats_in_use(obj),
            sub.paid_seats,
        ) + format_html(" · <strong>{}</strong>", sub.get_status_display())

    @admin.display(description="Credit balance")
    def credit_balance_display(self, obj):
        url = reverse("admin:invoicing_creditentry_changelist") + f"?account__id__exact={obj.pk}"
        return format_html(
            '<strong>{}</strong> · <a href="{}">full ledger →</a>', show_money(credit_balance(obj), obj.locale), url
        )

    @admin.display(description="Invoices")
    def recent_invoices(self, obj):
        qs = Invoice.objects.filter(account=obj).order_by("-issued_on", "-id")
        rows = [
            (
                admin_link(inv),
                inv.issued_on,
                inv.get_status_display(),
                show_money(inv.total, obj.locale),
                show_money(inv.amount_due, obj.locale),
            )
            for inv in qs[:RECENT]
        ]
        url = reverse("admin:invoicing_invoice_changelist") + f"?account__id__exact={obj.pk}"
        return html_table(["Number", "Issued", "Status", "Total", "Amount due"], rows) + format_html(
            '<p><a href="{}">All invoices of {} →</a></p>', url, obj
        )

    @admin.display(description="Credit notes")
    def recent_credit_notes(self, obj):
        qs = CreditNote.objects.filter(account=obj).select_related("invoice").order_by("-issued_on", "-id")
        rows = [
            (admin_link(n), n.issued_on, n.get_reason_display(), n.memo, show_money(n.total, obj.locale))
            for n in qs[:RECENT]
        ]
        url = reverse("admin:invoicing_creditnote_changelist") + f"?account__id__exact={obj.pk}"
        return html_table(["Number", "Issued", "Reason", "Memo", "Total"], rows) + format_html(
            '<p><a href="{}">All credit notes of {} →</a></p>', url, obj
        )


class MemberAction(StaffAction):
    permission = "accounts.change_membership"
    form_class = ReasonForm
    note = "Seats follow members: the preview shows what the subscription bills or credits for it."


class ArchiveMember(MemberAction):
    label = "Archive member"

    def applies(self, obj):
        return obj.status != Membership.Status.ARCHIVED and obj.role != Membership.Role.OWNER

    def call(self, obj, data, user):
        return membership_archive, {"membership": obj, "by": user, "on": today(obj.account)}


class ReactivateMember(MemberAction):
    label = "Re-activate member"

    def applies(self, obj):
        return obj.status == Membership.Status.ARCHIVED

    def call(self, obj, data, user):
        return membership_reactivate, {"membership": obj, "by": user, "on": today(obj.account)}


@admin.register(Membership)
class MembershipAdmin(StaffActionsMixin, HistoryAdmin):
    """Fields are read-only: seats are billed when members change, so changes are service actions."""

    list_display = ["email", "account", "role", "status", "invited_on", "joined_on", "archived_on"]
    list_filter = ["role", "status"]
    list_select_related = ["account"]
    search_fields = ["email", "account__name"]
    autocomplete_fields = ["account", "user", "invited_by"]
    show_full_result_count = False
    staff_actions = {"archive": ArchiveMember, "reactivate": ReactivateMember}

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TaxRate)
class TaxRateAdmin(HistoryAdmin):
    """The tax rules' rate table: a country's standard rate over [valid_from, valid_to)."""

    list_display = ["country", "rate", "valid_from", "valid_to"]
    list_filter = ["country"]
    search_fields = ["country"]
