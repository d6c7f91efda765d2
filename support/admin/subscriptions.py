"""Admin for plans, coupons and subscriptions (SPEC §3): support actions, each a service call previewed first."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode

from billing import plan as core
from common.clock import today
from common.errors import Refused
from invoicing.models import InvoiceLine
from subscriptions import services
from subscriptions.models import (
    Coupon,
    CouponRedemption,
    Cycle,
    Downgrade,
    Plan,
    PlanEntitlement,
    SeatChange,
    SeatMode,
    Subscription,
    ToMonthly,
)
from subscriptions.previews import Preview, preview
from subscriptions.selectors import seats_in_use
from subscriptions.what_if import subscription_what_if
from support.admin.accounts import GrantCredit, UnlockAccount
from support.admin.base import (
    HistoryAdmin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
    ReasonForm,
    StaffAction,
    StaffActionsMixin,
    account_ids_matching,
    admin_link,
    money_column,
    show_money,
)

Status = Subscription.Status


def next_invoice_preview(sub: Subscription) -> Preview:
    """What the daily run will issue on the next billing day (renewal, or a true-up first), by running it."""
    waiting = (
        InvoiceLine.objects.filter(subscription=sub, invoice__isnull=True)
        .order_by("bill_on")
        .values_list("bill_on", flat=True)
        .first()
    )
    day = min(d for d in (sub.period_end, waiting) if d is not None)
    return preview(services.billing_run, on=day, accounts=[sub.account])


# ---------------------------------------------------------------- subscription actions


class SubscriptionAction(StaffAction):
    permission = "subscriptions.change_subscription"

    def applies(self, obj):
        return obj.status != Status.EXPIRED


class MinimumSeatsForm(ReasonForm):
    seats = forms.IntegerField(min_value=0, help_text="Charged from the next renewal, switch or purchase on.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["seats"].initial = self.obj.minimum_seats


class SetMinimumSeats(SubscriptionAction):
    label = "Set minimum seats"
    form_class = MinimumSeatsForm
    note = "Setting a minimum charges nothing now; the renewal below shows what it changes."

    def call(self, obj, data, user):
        return services.subscription_set_minimum_seats, {
            "subscription": obj,
            "seats": data["seats"],
            "on": today(obj.account),
            "by": user,
        }

    def later_day(self, obj):
        return obj.period_end


class SwitchToMonthly(SubscriptionAction):
    label = "Switch to monthly at period end"
    form_class = ReasonForm
    note = "No credit: the annual period runs to its end, then the subscription renews monthly."

    def applies(self, obj):
        return (
            obj.status != Status.EXPIRED
            and obj.cycle == Cycle.ANNUAL
            and obj.plan.to_monthly == ToMonthly.SUPPORT_ONLY
            and not obj.pending_cycle
        )

    def call(self, obj, data, user):
        return services.subscription_switch_cycle, {
            "subscription": obj,
            "cycle": Cycle.MONTHLY,
            "on": today(obj.account),
            "by": user,
            "by_support": True,
        }

    def later_day(self, obj):
        return obj.period_end


class ChangePlanForm(ReasonForm):
    plan = forms.ModelChoiceField(queryset=Plan.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = Plan.objects.exclude(pk=self.obj.plan_id).filter(currency=self.obj.plan.currency)


class ChangePlan(SubscriptionAction):
    label = "Change plan"
    form_class = ChangePlanForm
    note = (
        "Prorated: unused days on the old plan are credited, the new plan is charged to the same period end. "
        "If the current plan's downgrades wait for the period end, a plan with a lower price per seat is "
        "scheduled for the renewal instead, with no credit; the customer can undo it until then."
    )

    def call(self, obj, data, user):
        return services.subscription_change_plan, {
            "subscription": obj,
            "plan": data["plan"],
            "on": today(obj.account),
            "by": user,
        }

    def later_day(self, obj):
        # A downgrade that waits bills nothing now: show the renewal it brings.
        return obj.period_end if obj.plan.downgrade == Downgrade.AT_PERIOD_END else None


class UndoPlanChange(SubscriptionAction):
    label = "Undo scheduled plan change"
    form_class = ReasonForm
    note = "The subscription stays on its plan at the renewal; nothing is invoiced or credited."

    def applies(self, obj):
        return obj.status != Status.EXPIRED and obj.pending_plan_id is not None

    def call(self, obj, data, user):
        return services.subscription_undo_plan_change, {"subscription": obj, "on": today(obj.account), "by": user}

    def later_day(self, obj):
        return obj.period_end


class ExtendTrialForm(ReasonForm):
    days = forms.IntegerField(min_value=1, max_value=365, initial=7)


class ExtendTrial(SubscriptionAction):
    label = "Extend trial"
    form_class = ExtendTrialForm
    note = "Nothing is invoiced during the trial; the first paid period starts that many days later."

    def applies(self, obj):
        return obj.status == Status.TRIALING

    def call(self, obj, data, user):
        return services.subscription_extend_trial, {
            "subscription": obj,
            "days": data["days"],
            "on": today(obj.account),
            "by": user,
        }


class CancelForm(ReasonForm):
    when = forms.ChoiceField(
        choices=[
            ("period_end", "At period end (the customer can undo it until then)"),
            ("now", "Now: expires today, waiting lines are invoiced, no credit for unused days"),
        ],
        widget=forms.RadioSelect,
        initial="period_end",
    )


class Cancel(SubscriptionAction):
    label = "Cancel"
    form_class = CancelForm

    def call(self, obj, data, user):
        service = services.subscription_cancel_now if data["when"] == "now" else services.subscription_cancel
        return service, {"subscription": obj, "on": today(obj.account), "by": user}

    def done(self, obj, written):
        return f"{obj} is canceled."


# ---------------------------------------------------------------- plans and coupons


class PlanForm(forms.ModelForm):
    two_months_free = forms.BooleanField(
        required=False,
        label="Annual = monthly × 10",
        help_text="Two months free: leave the annual price empty and tick this to fill it from the monthly price.",
    )
    existing_subscriptions = forms.ChoiceField(
        required=False,
        initial="move",
        widget=forms.RadioSelect,
        label="If a price changes",
        choices=[
            ("move", "Existing subscriptions pay the new price from their next renewal (prices are read at renewal)"),
            ("keep", "Keep existing subscriptions on the current price: move them to a hidden copy of this plan"),
        ],
        help_text="Issued invoices never change. To sell the new price alongside the old, use “Save as new” instead.",
    )

    class Meta:
        model = Plan
        widgets = {"downgrade": forms.RadioSelect}
        fields = [
            "code",
            "name",
            "is_public",
            "currency",
            "monthly_price",
            "annual_price",
            "prices_include_tax",
            "seat_mode",
            "seat_add_billing_monthly",
            "seat_add_billing_annual",
            "seat_removal",
            "minimum_invoice",
            "max_seats",
            "to_monthly",
            "downgrade",
            "switch_documents",
            "trial_days",
            "trial_offer",
            "refund_window_days",
            "grace_days",
            "max_instances",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A post that leaves them out (a form from before the setting existed, a script) keeps the plan's value.
        # Staff who may only view plans get a form without these fields (the admin shows them read only).
        for name in ("switch_documents", "downgrade"):
            if name in self.fields:
                self.fields[name].required = False

    def clean_downgrade(self):
        return self.cleaned_data.get("downgrade") or self.instance.downgrade or Downgrade.NOW

    def clean(self):
        data = super().clean()
        monthly, annual = data.get("monthly_price"), data.get("annual_price")
        if data.get("two_months_free") and annual is None and monthly is not None:
            data["annual_price"] = core.annual_two_months_free(monthly)
            self.instance.annual_price = data["annual_price"]
        currency = data.get("currency")
        for name in ("monthly_price", "annual_price", "trial_offer", "minimum_invoice"):
            value = data.get(name)
            if value is not None and currency and value.currency.code != currency:
                self.add_error(name, f"Give this price in the plan's currency, {currency}.")
        if data.get("monthly_price") is None and data.get("annual_price") is None:
            raise forms.ValidationError("A plan needs a monthly or an annual price.")
        return data


class PlanEntitlementInline(admin.TabularInline):
    """Feature keys the product checks (`GET /api/v1/account`, licences); a limit only where it counts."""

    model = PlanEntitlement
    extra = 1
    fields = ["key", "limit"]


@admin.register(Plan)
class PlanAdmin(HistoryAdmin):
    form = PlanForm
    inlines = [PlanEntitlementInline]
    save_as = True
    change_form_template = "admin/prorata/plan_change_form.html"
    list_display = ["code", "name", "monthly", "annual", "seat_mode", "seat_removal", "to_monthly", "is_public"]
    list_filter = ["is_public", "currency", "seat_mode", "seat_removal", "to_monthly", "downgrade"]
    search_fields = ["code", "name"]
    fieldsets = [
        (None, {"fields": ["code", "name", "is_public", "currency"]}),
        (
            "Prices per seat",
            {
                "fields": [
                    "monthly_price",
                    "annual_price",
                    "two_months_free",
                    "prices_include_tax",
                    "existing_subscriptions",
                ]
            },
        ),
        (
            "Seats",
            {
                "fields": [
                    "seat_mode",
                    "seat_add_billing_monthly",
                    "seat_add_billing_annual",
                    "seat_removal",
                    "minimum_invoice",
                    "max_seats",
                ]
            },
        ),
        ("Cycles and plan changes", {"fields": ["to_monthly", "switch_documents", "downgrade"]}),
        ("Trial, refunds, dunning", {"fields": ["trial_days", "trial_offer", "refund_window_days", "grace_days"]}),
        ("Licences", {"fields": ["max_instances"]}),
    ]

    def get_fieldsets(self, request, obj=None):
        if obj is not None:
            return self.fieldsets
        # A new plan has no subscriptions to move.
        return [
            (name, {**opts, "fields": [f for f in opts["fields"] if f != "existing_subscriptions"]})
            for name, opts in self.fieldsets
        ]

    monthly = money_column("monthly_price", "Monthly")
    annual = money_column("annual_price", "Annual")

    def save_model(self, request, obj, form, change):
        priced = {"monthly_price", "annual_price"} & set(form.changed_data)
        if change and priced and form.cleaned_data.get("existing_subscriptions") == "keep":
            old = Plan.objects.get(pk=obj.pk)
            copy = services.plan_keep_price_for_subscribers(plan=old, on=today(), by=request.user)
            if copy is not None:
                messages.info(request, f"Existing subscriptions stay on the old price, on the hidden plan {copy.code}.")
        super().save_model(request, obj, form, change)


@admin.register(Coupon)
class CouponAdmin(HistoryAdmin):
    list_display = ["code", "name", "off", "duration_periods", "new_customers_only", "times_redeemed", "is_active"]
    list_filter = ["is_active", "new_customers_only", "valid_monthly", "valid_annual"]
    search_fields = ["code", "name"]
    readonly_fields = ["times_redeemed"]

    @admin.display(description="Off")
    def off(self, obj):
        return f"{obj.percent_off}%" if obj.percent_off is not None else show_money(obj.amount_off)


@admin.register(CouponRedemption)
class CouponRedemptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["coupon", "subscription", "redeemed_on", "periods_used", "ended_on", "ended_reason"]
    list_select_related = ["coupon", "subscription__account", "subscription__plan"]
    search_fields = ["coupon__code", "subscription__public_id", "subscription__account__name"]
    list_filter = ["coupon"]


@admin.register(SeatChange)
class SeatChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["on", "subscription", "reason", "seats_in_use", "paid_seats", "bought_seats", "by"]
    list_select_related = ["subscription__account", "subscription__plan", "by"]
    search_fields = ["=subscription__public_id", "subscription__account__name", "reason"]
    show_full_result_count = False


# ---------------------------------------------------------------- subscriptions


class SeatChangeInline(ReadOnlyInline):
    model = SeatChange
    fields = ["on", "reason", "seats_in_use", "paid_seats", "bought_seats", "by"]
    verbose_name_plural = "Seat ledger"
    show_change_link = False


class CouponRedemptionInline(ReadOnlyInline):
    model = CouponRedemption
    fields = ["coupon", "redeemed_on", "periods_used", "active_period_start", "ended_on", "ended_reason"]
    show_change_link = False


class WhatIfForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.all(), help_text="Replay this account's seats under it.")


@admin.register(Subscription)
class SubscriptionAdmin(StaffActionsMixin, ReadOnlyAdminMixin, HistoryAdmin):
    list_display = [
        "public_id",
        "account",
        "plan",
        "cycle",
        "status",
        "period",
        "paid_seats",
        "minimum_seats",
        "cancel_at_period_end",
    ]
    list_select_related = ["account", "plan"]
    list_filter = ["status", "cycle", "plan", "cancel_at_period_end", "cancel_reason"]
    search_fields = ["=public_id", "account__name"]
    search_help_text = "A subscription ID (sub_…), or an account name or owner email."
    autocomplete_fields = ["account", "plan"]
    show_full_result_count = False
    inlines = [SeatChangeInline, CouponRedemptionInline]
    fieldsets = [
        (None, {"fields": ["public_id", "account_link", "plan", "cycle", "status"]}),
        (
            "Period",
            {
                "fields": [
                    "period",
                    "anchor",
                    "started_on",
                    "trial_end",
                    "cancel_at_period_end",
                    "cancel_reason",
                    "cancel_comment",
                    "pending_cycle",
                    "scheduled_change",
                ]
            },
        ),
        ("Seats", {"fields": ["seats"]}),
        ("Next invoice", {"fields": ["next_invoice"]}),
    ]
    readonly_fields = [
        "public_id",
        "account_link",
        "plan",
        "cycle",
        "status",
        "period",
        "anchor",
        "started_on",
        "trial_end",
        "cancel_at_period_end",
        "cancel_reason",
        "cancel_comment",
        "pending_cycle",
        "scheduled_change",
        "seats",
        "next_invoice",
    ]
    staff_actions = {
        "minimum_seats": SetMinimumSeats,
        "to_monthly": SwitchToMonthly,
        "change_plan": ChangePlan,
        "undo_plan_change": UndoPlanChange,
        "extend_trial": ExtendTrial,
        "cancel": Cancel,
        "grant_credit": GrantCredit,
        "unlock": UnlockAccount,
    }

    def get_urls(self):
        return [
            path(
                "<path:object_id>/what-if/",
                self.admin_site.admin_view(self.what_if_view),
                name="subscriptions_subscription_what_if",
            ),
            *super().get_urls(),
        ]

    def available_actions(self, request, obj):
        out = super().available_actions(request, obj)
        url = reverse("admin:subscriptions_subscription_what_if", args=[obj.pk])
        out = [*out, {"name": "what_if", "label": "What if…", "url": url}]
        if not obj.is_expired and request.user.has_perm("licensing.add_activation"):
            # SPEC §3 admin action: a signed activation file for one on-premise server of this subscription.
            query = urlencode({"subscription": obj.public_id})
            url = f"{reverse('admin:licensing_activation_offline')}?{query}"
            out.append({"name": "offline_licence", "label": "Issue offline licence", "url": url})
        return out

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.startswith("sub_"):
            return queryset.filter(public_id=term), False
        return queryset.filter(account_id__in=account_ids_matching(term)), False

    @admin.display(description="Account")
    def account_link(self, obj):
        return admin_link(obj.account)

    @admin.display(description="Period")
    def period(self, obj):
        return f"{obj.period_start} – {obj.period_end - timedelta(days=1)}"

    @admin.display(description="Scheduled plan change")
    def scheduled_change(self, obj):
        if obj.pending_plan is None or obj.is_expired:
            return "–"
        return format_html(
            "{} on {}: a downgrade waiting for the period end; the renewal is on it, with no credit.",
            admin_link(obj.pending_plan),
            obj.period_end,
        )

    @admin.display(description="Seats")
    def seats(self, obj):
        minimum = obj.minimum_seats
        bought = obj.bought_seats if obj.plan.seat_mode == SeatMode.FIXED else "–"
        return format_html(
            "<strong>{}</strong> in use · <strong>{}</strong> paid · <strong>{}</strong> bought · "
            "<strong>{}</strong> minimum",
            seats_in_use(obj.account),
            obj.paid_seats,
            bought,
            minimum,
        )

    @admin.display(description="Next invoice")
    def next_invoice(self, obj):
        if obj.status == Status.EXPIRED:
            return "Expired: no further invoices."
        pv = next_invoice_preview(obj)
        if pv.refused:
            return pv.refused
        return render_to_string("admin/prorata/_preview.html", {"pv": pv, "locale": obj.account.locale})

    def what_if_view(self, request, object_id):
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        form = WhatIfForm(request.GET or None)
        result = None
        if form.is_valid():
            try:
                result = subscription_what_if(
                    subscription=obj,
                    plan=form.cleaned_data["plan"],
                    until=obj.expired_on or today(obj.account),
                )
            except Refused as exc:
                form.add_error(None, exc.message)
        context = {
            **self.admin_site.each_context(request),
            "title": f"What if: {obj}",
            "opts": self.model._meta,
            "original": obj,
            "form": form,
            "result": result,
            "locale": obj.account.locale,
            "change_url": self._change_url(obj),
        }
        return TemplateResponse(request, "admin/prorata/what_if.html", context)
