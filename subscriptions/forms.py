"""Forms of Settings › Subscription. They check shapes; the services check the rules."""

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.countries import countries
from billing.tax import EU_COUNTRIES
from invoicing.formatting import money
from subscriptions.models import Cycle, Plan, Subscription


class PlanChoiceField(forms.ModelChoiceField):
    """Plans by name with their prices per seat: “Team — $7.00 a month or $70.00 a year per seat”."""

    def label_from_instance(self, plan):
        prices = [
            f"{money(price)} a {unit}"
            for price, unit in ((plan.monthly_price, "month"), (plan.annual_price, "year"))
            if price is not None
        ]
        limit = f", at most {plan.max_seats} users" if plan.max_seats else ""
        return f"{plan.name} — {' or '.join(prices)} per seat{limit}"


class SubscribeForm(forms.Form):
    plan = PlanChoiceField(queryset=Plan.objects.none(), empty_label=None, to_field_name="code", label=_("Plan"))
    cycle = forms.ChoiceField(choices=Cycle.choices, widget=forms.RadioSelect, initial=Cycle.MONTHLY, label=_("Cycle"))
    seats = forms.IntegerField(
        min_value=1,
        required=False,
        label=_("Seats"),
        help_text=_("Plans with a bought seat count only; on other plans seats follow your members."),
    )
    coupon = forms.CharField(max_length=40, required=False, label=_("Coupon"))
    trial = forms.BooleanField(required=False, label=_("Start with the plan's free trial, if it has one"))

    def __init__(self, *args, account, **kwargs):
        super().__init__(*args, **kwargs)
        plans = Plan.objects.filter(is_public=True)
        if account.currency:
            plans = plans.filter(currency=account.currency)
        self.fields["plan"].queryset = plans.order_by("monthly_price", "code")
        if asks_billing_country(account):
            self.fields["country"] = forms.CharField(
                label=_("Your country"), widget=forms.Select(choices=[("", _("Choose…")), *countries()])
            )
            self.fields["buyer"] = forms.ChoiceField(
                label=_("You buy as"),
                choices=[("business", _("A business")), ("individual", _("An individual"))],
                initial="business",
                widget=forms.RadioSelect,
            )
            self.fields["tax_id"] = forms.CharField(
                label=_("VAT ID"),
                required=False,
                help_text=_(
                    "Businesses in the EU, with its country prefix, e.g. DE136695976. "
                    "All billing details are in Settings › Billing details."
                ),
            )
            self.order_fields(["country", "buyer", "tax_id"])

    @property
    def billing_details(self) -> dict | None:
        """The billing details this form asked for, for `subscription_start`; None when it asked none."""
        if "country" not in self.fields:
            return None
        business = self.cleaned_data["buyer"] == "business"
        return {"country": self.cleaned_data["country"], "tax_id": self.cleaned_data["tax_id"] if business else ""}

    def clean(self):
        data = super().clean()
        if "country" in self.fields and data.get("buyer") == "business" and not data.get("tax_id"):
            if (data.get("country") or "").upper() in EU_COUNTRIES:
                self.add_error(
                    "tax_id", _("A business in the EU gives its VAT ID; buying as an individual needs none.")
                )
        return data


def asks_billing_country(account) -> bool:
    """The tax rules need the buyer's country before the first invoice (a manual rate set by support does not)."""
    return not account.country and account.tax_rate is None


class CouponForm(forms.Form):
    coupon = forms.CharField(max_length=40, label=_("Coupon code"))


class SeatsForm(forms.Form):
    seats = forms.IntegerField(min_value=1, label=_("Seats to pay for"))


class PlanForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.none(), to_field_name="code")

    def __init__(self, *args, subscription, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].queryset = Plan.objects.filter(is_public=True, currency=subscription.plan.currency).exclude(
            pk=subscription.plan_id
        )


class CancelForm(forms.Form):
    reason = forms.ChoiceField(
        label=_("Why are you canceling?"), choices=Subscription.CancelReason.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("Anything you would like us to know (optional)"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
