"""The machinery every Prorata admin page shares (SPEC §3).

This is: money shown
with its currency, read-only pages for issued documents, and *staff actions* —
a form, a confirmation page that shows the money effect first (computed by
running the real service in a rolled-back transaction, `subscriptions.previews`),
then the same service call for real, recorded in history with the reason given.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.dispatch import receiver
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin
from simple_history.signals import pre_create_historical_record

from accounts.models import Account, Membership
from common.admin import ReadOnlyAdminMixin
from common.errors import Refused
from invoicing.formatting import money
from subscriptions.models import Plan
from subscriptions.previews import confirm, preview, preview_through

admin.site.site_header = settings.ADMIN_SITE_HEADER
admin.site.site_title = settings.ADMIN_SITE_HEADER
admin.site.index_title = "Accounts, subscriptions and invoices"

# ---------------------------------------------------------------- history reasons

_reason: ContextVar[str] = ContextVar("staff_reason", default="")


@contextmanager
def staff_reason(reason: str):
    """Every history record written inside this block carries `reason` as its change reason."""
    token = _reason.set(reason[:100])
    try:
        yield
    finally:
        _reason.reset(token)


@receiver(pre_create_historical_record)
def _stamp_reason(sender, history_instance, **kwargs):
    reason = _reason.get()
    if reason and not history_instance.history_change_reason:
        history_instance.history_change_reason = reason


# ---------------------------------------------------------------- display helpers


def show_money(value, locale: str = "en_US") -> str:
    """Money with its currency (“$3.50”, “3,50 €”), or a dash."""
    return money(value, locale) if value is not None else "–"


def money_column(field: str, description: str):
    """A sortable list/detail column showing the money in `field` with show_money."""

    @admin.display(description=description, ordering=field)
    def column(self, obj):
        return show_money(getattr(obj, field))

    return column


BUYER_FIELDS = (
    ("name", "Name"),
    ("address", "Address"),
    ("country", "Country"),
    ("tax_id", "Tax ID"),
    ("email", "Billing email"),
    ("locale", "Language"),
)


@admin.display(description="Buyer")
def buyer_display(self, obj):
    """The billing profile frozen on a document, as lines a person reads (not its JSON)."""
    buyer = obj.buyer or {}
    rows = [(label, buyer.get(key)) for key, label in BUYER_FIELDS if buyer.get(key)]
    if not rows:
        return "–"
    return format_html(
        "<dl class='prorata-buyer'>{}</dl>",
        format_html_join("", "<dt>{}</dt><dd class='prorata-pre-line'>{}</dd>", rows),
    )


def admin_link(obj, text=None) -> str:
    if obj is None:
        return "–"
    url = reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text if text is not None else str(obj))


def html_table(headers, rows) -> str:
    """A small read-only table for a change page (rows are already-escaped cells)."""
    if not rows:
        return format_html("{}", "–")
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((c,) for c in row)),) for row in rows),
    )
    return format_html('<table class="prorata-table"><thead><tr>{}</tr></thead><tbody>{}</tbody></table>', head, body)


class HistoryAdmin(SimpleHistoryAdmin):
    """Stock admin plus each object's history (who, when, what changed, why). Never revert: use services."""

    def revert_disabled(self, request, obj=None):
        return True

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # simple_history saves a POST here (a revert) with only view permission: never allow it.
        if request.method == "POST":
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    show_change_link = True

    def get_readonly_fields(self, request, obj=None):
        return self.fields or [f.name for f in self.model._meta.fields]


# ---------------------------------------------------------------- staff actions


class StaffAction:
    """One thing staff do to one object: a form, a preview of its money effect, then the service call.

    Subclasses set `label`, `permission` (e.g. "invoicing.void_invoice"), `form_class`, and
    implement `call(obj, data, user) -> (service, kwargs)`.
    """

    label = ""
    permission = ""
    form_class = forms.Form
    note = ""

    def applies(self, obj) -> bool:
        return True

    def allowed(self, user, obj) -> bool:
        return user.has_perm(self.permission)

    def check(self, obj, data, user) -> None:
        """Refuse what this user may not do with this input (limits, overrides)."""

    def call(self, obj, data, user):
        raise NotImplementedError

    def reason(self, data) -> str:
        return (data.get("reason") or "").strip() or self.label

    def later_day(self, obj):
        """For changes that bill later (minimum seats, a switch at period end): the billing run to preview too."""
        return None

    def done(self, obj, written) -> str:
        """The success message; `written` is the Preview of what the service wrote."""
        return f"{self.label}: done."


class ActionForm(forms.Form):
    def __init__(self, *args, obj=None, user=None, **kwargs):
        self.obj, self.user = obj, user
        super().__init__(*args, **kwargs)


class ReasonForm(ActionForm):
    reason = forms.CharField(max_length=100, required=False, help_text="Recorded in the object's history.")


class RequiredReasonForm(ActionForm):
    reason = forms.CharField(max_length=100, help_text="Recorded in the object's history.")


def account_of(obj) -> Account:
    return obj if isinstance(obj, Account) else obj.account


def _summary(form) -> list[tuple[str, str]]:
    """What was entered, as a person reads it (objects by name, not id)."""
    out = []
    for name, field in form.fields.items():
        value = form.cleaned_data.get(name)
        if value in (None, "", [], False) or (hasattr(value, "exists") and not value.exists()):
            continue
        if hasattr(value, "__iter__") and not isinstance(value, str):
            value = ", ".join(str(v) for v in value)
        elif hasattr(field, "choices") and not hasattr(field, "queryset"):
            value = dict(field.choices).get(value, value)
        out.append((str(field.label or name.replace("_", " ").capitalize()), str(value)))
    return out


class StaffActionsMixin:
    """Adds `<pk>/do/<action>/` pages and their buttons on the change page."""

    staff_actions: dict[str, type[StaffAction]] = {}
    change_form_template = "admin/prorata/change_form.html"

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        return [
            path(
                "<path:object_id>/do/<str:action>/",
                self.admin_site.admin_view(self.action_view),
                name="{}_{}_action".format(*info),
            ),
            *super().get_urls(),
        ]

    def available_actions(self, request, obj):
        out = []
        for name, cls in self.staff_actions.items():
            act = cls()
            if act.applies(obj) and act.allowed(request.user, obj):
                url = reverse(
                    f"admin:{self.model._meta.app_label}_{self.model._meta.model_name}_action",
                    args=[obj.pk, name],
                )
                out.append({"name": name, "label": act.label, "url": url})
        return out

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        obj = self.get_object(request, object_id)
        if obj is not None:
            extra_context["staff_actions"] = self.available_actions(request, obj)
        return super().change_view(request, object_id, form_url, extra_context)

    def action_view(self, request, object_id, action):
        obj = self.get_object(request, object_id)
        if obj is None or action not in self.staff_actions:
            raise Http404
        act = self.staff_actions[action]()
        if not self.has_view_or_change_permission(request, obj) or not act.allowed(request.user, obj):
            raise PermissionDenied
        if not act.applies(obj):
            messages.error(request, f"“{act.label}” does not apply to {obj}.")
            return HttpResponseRedirect(self._change_url(obj))
        pv = later = None
        if request.method == "POST":
            form = act.form_class(request.POST, obj=obj, user=request.user)
            if form.is_valid():
                try:
                    act.check(obj, form.cleaned_data, request.user)
                    fn, kwargs = act.call(obj, form.cleaned_data, request.user)
                    if "confirm" in request.POST:
                        reason = act.reason(form.cleaned_data)
                        with staff_reason(reason):
                            done, pv = confirm(fn, expected=request.POST.get("fingerprint", ""), **kwargs)
                        if done:
                            messages.success(request, act.done(obj, pv))
                            return HttpResponseRedirect(self._change_url(obj))
                        messages.warning(request, "Something changed since the preview. Check the new figures.")
                    else:
                        pv = preview(fn, **kwargs)
                    if pv.refused:
                        form.add_error(pv.refused_field if pv.refused_field in form.fields else None, pv.refused)
                        pv = None
                    elif act.later_day(obj) is not None:
                        later = preview_through(fn, until=act.later_day(obj), **kwargs)
                except Refused as exc:
                    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            form = act.form_class(obj=obj, user=request.user)
        account = account_of(obj)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{act.label}: {obj}",
            "opts": self.model._meta,
            "original": obj,
            "action": act,
            "form": form,
            "preview": pv,
            "summary": _summary(form) if pv is not None else [],
            "later": later,
            "later_title": f"With this change, the billing run on {act.later_day(obj)} would issue:",
            "locale": account.locale,
            "description": act.note,
            "change_url": self._change_url(obj),
            "media": self.media + form.media,
        }
        return TemplateResponse(request, "admin/prorata/action.html", context)

    def _change_url(self, obj):
        return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


# ---------------------------------------------------------------- filters and search


class CurrencyFilter(admin.SimpleListFilter):
    """By currency, offering the plans' currencies: no SELECT DISTINCT over millions of documents."""

    title = "currency"
    parameter_name = "currency"

    def lookups(self, request, model_admin):
        codes = Plan.objects.order_by("currency").values_list("currency", flat=True).distinct()
        return [(code, code) for code in codes]

    def queryset(self, request, queryset):
        return queryset.filter(currency=self.value()) if self.value() else queryset


class LockedFilter(admin.SimpleListFilter):
    title = "locked"
    parameter_name = "locked"

    def lookups(self, request, model_admin):
        return [("yes", "Locked"), ("no", "Not locked")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(locked_on__isnull=False)
        if self.value() == "no":
            return queryset.filter(locked_on__isnull=True)
        return queryset


RECENT = 20
LEDGER_ROWS = 50
ACCOUNT_MATCHES = 500


def account_ids_matching(term: str) -> list[int]:
    """Accounts whose name or owner's email contains `term`: the small table, searched before the big ones."""
    owners = Membership.objects.filter(role=Membership.Role.OWNER, email__icontains=term).values("account_id")
    matches = Account.objects.filter(Q(name__icontains=term) | Q(pk__in=owners)).values_list("pk", flat=True)
    return list(matches[:ACCOUNT_MATCHES])
