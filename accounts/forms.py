"""Forms for sign-in, sign-up, invitations and the members page. They validate shape; services decide."""

import re

from django import forms
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from accounts.countries import countries
from accounts.models import Account, Membership

Role = Membership.Role


class LoginForm(AuthenticationForm):
    """Django's login form, asking for an email address (emails are stored lower-case)."""

    username = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )

    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.unverified_email = ""  # set when the password was right but the address is not confirmed yet
        if request is not None and request.method == "GET" and request.GET.get("email"):
            self.initial["username"] = request.GET["email"]

    def clean_username(self):
        return self.cleaned_data["username"].strip().lower()

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.email_verified:
            self.unverified_email = user.email
            raise forms.ValidationError(
                _("Confirm your email address first: follow the link we emailed to %(email)s."),
                code="unverified",
                params={"email": user.email},
            )


def _password_field(label=None) -> forms.CharField:
    return forms.CharField(
        label=label or _("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 8 characters, not a common password."),
    )


class SignupForm(forms.Form):
    email = forms.EmailField(widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}))
    name = forms.CharField(label=_("Your name"), max_length=150, required=False)
    password = _password_field()
    account_name = forms.CharField(
        label=_("Account name"), max_length=200, help_text=_("Your team or company, e.g. “Acme Design”.")
    )

    def clean_password(self):
        password = self.cleaned_data["password"]
        password_validation.validate_password(password)
        return password


class InvitationAcceptForm(forms.Form):
    """A new person sets a name and password while accepting an invitation."""

    name = forms.CharField(label=_("Your name"), max_length=150, required=False)
    password = _password_field(_("Choose a password"))

    def clean_password(self):
        password = self.cleaned_data["password"]
        password_validation.validate_password(password)
        return password


def role_choices(roles) -> list[tuple[str, str]]:
    """The roles offered, in the order of Membership.Role."""
    return [(value, label) for value, label in Role.choices if value in roles]


class RoleField(forms.ChoiceField):
    """Accepts any role by name; the view asks accounts.permissions whether the actor may grant it."""

    def __init__(self, **kwargs):
        super().__init__(choices=Role.choices, label=_("Role"), **kwargs)


class InviteForm(forms.Form):
    emails = forms.CharField(
        label=_("Email addresses"),
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "ana@example.com, ben@example.com"}),
        help_text=_("One or more, separated by commas or new lines."),
    )
    role = RoleField(initial=Role.MEMBER)

    def __init__(self, *args, grantable=(), **kwargs):
        super().__init__(*args, **kwargs)
        # Offer only what the actor may grant; anything else posted is refused by the view.
        self.fields["role"].widget.choices = role_choices(grantable)

    def clean_emails(self) -> list[str]:
        emails = [e for e in re.split(r"[\s,;]+", self.cleaned_data["emails"]) if e]
        if not emails:
            raise forms.ValidationError(_("Give at least one email address."))
        for email in emails:
            try:
                forms.EmailField().clean(email)
            except forms.ValidationError:
                raise forms.ValidationError(_("“%(email)s” is not an email address.") % {"email": email}) from None
        return emails


class RoleForm(forms.Form):
    role = RoleField()


class BillingDetailsForm(forms.Form):
    """Settings › Billing details. Plain text fields: accounts.services.billing_details_update checks them all."""

    legal_name = forms.CharField(
        label=_("Legal name"), required=False, help_text=_("As it should appear on invoices; empty: the account name.")
    )
    address = forms.CharField(
        label=_("Address"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "street-address"}),
        help_text=_("Street and number; up to three lines."),
    )
    postcode = forms.CharField(label=_("Postcode"), required=False, widget=forms.TextInput(attrs={"size": 10}))
    city = forms.CharField(label=_("City"), required=False)
    country = forms.CharField(label=_("Country"), required=False, widget=forms.Select())
    tax_id = forms.CharField(
        label=_("VAT ID"),
        required=False,
        help_text=_(
            "With its country prefix, e.g. DE136695976. A business in the EU with a valid VAT ID "
            "outside the seller's country is invoiced without VAT (reverse charge)."
        ),
    )
    billing_email = forms.CharField(
        label=_("Billing email"),
        required=False,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("Invoices and receipts go here; empty: to the owner."),
    )
    invoice_language = forms.CharField(
        label=_("Invoice language"), widget=forms.Select(choices=Account.Language.choices)
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].widget.choices = [("", "—"), *countries()]
