"""The Revenue page of the admin and the revenue strip of an account's page (issue 21).

The page is the change list of `RevenueMonth`, so the admin index links it under "Revenue" for those
allowed to see it (Finance and superusers); everyone else gets 403.
"""

import csv
from datetime import date, timedelta

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html

from accounts.models import Account
from billing import revenue as core
from billing.calendar import add_months
from common.admin import ReadOnlyAdminMixin
from common.clock import today
from revenue import charts
from revenue.models import RevenueMonth
from revenue.permissions import can_see_revenue
from revenue.selectors import account_revenue, revenue_page
from support.admin.accounts import AccountAdmin
from support.admin.base import show_money

DEFAULT_MONTHS = 12


def _month(value: str | None) -> date | None:
    try:
        return date.fromisoformat(f"{value}-01") if value else None
    except ValueError:
        return None


@admin.register(RevenueMonth)
class RevenueAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Not a list of rows: the Revenue page, with its CSV exports (`?csv=<table>`)."""

    def has_module_permission(self, request):
        return can_see_revenue(request.user)

    def has_view_permission(self, request, obj=None):
        return can_see_revenue(request.user)

    def changelist_view(self, request, extra_context=None):
        if not can_see_revenue(request.user):
            raise PermissionDenied
        now = today()
        last = _month(request.GET.get("to")) or core.month_start(now)
        first = _month(request.GET.get("from")) or add_months(last, -(DEFAULT_MONTHS - 1))
        if first > last:
            first, last = last, first
        page = revenue_page(
            currency=request.GET.get("currency"),
            first=first,
            last=last,
            today=now,
            trim_empty_start=not request.GET.get("from"),
            only=request.GET.get("csv"),
        )
        wanted = request.GET.get("csv")
        if wanted:
            return self._csv(page, wanted)
        context = {
            **self.admin_site.each_context(request),
            "title": "Revenue",
            "page": page,
            "today": now,
            "opts": self.model._meta,
            "query": request.GET.urlencode(),
            "mrr_chart": charts.mrr_chart(page.months, page.currency) if page.currency else "",
            "movements_chart": charts.movements_chart(page.months, page.currency) if page.currency else "",
        }
        return TemplateResponse(request, "admin/revenue/revenue.html", context)

    def _csv(self, page, key: str) -> HttpResponse:
        table = next((t for t in page.tables if t.key == key), None)
        if table is None:
            raise PermissionDenied  # pragma: no cover - only our own links ask
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        name = f"revenue-{key}-{page.currency}-{page.first:%Y-%m}-{page.last:%Y-%m}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        writer = csv.writer(response)
        writer.writerow(table.headers)
        writer.writerows(table.text_rows())
        return response


admin.site.unregister(Account)


@admin.register(Account)
class AccountRevenueAdmin(AccountAdmin):
    """The account page, with its revenue strip for those who may see revenue."""

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "revenue_strip"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or not can_see_revenue(request.user):
            return fieldsets
        return [*fieldsets[:3], ("Revenue", {"fields": ["revenue_strip"]}), *fieldsets[3:]]

    @admin.display(description="Revenue")
    def revenue_strip(self, obj):
        figures = account_revenue(obj, since=today() - timedelta(days=365))
        if figures is None:
            return "No subscription yet"
        mrr = show_money(figures.mrr, obj.locale) if figures.mrr is not None else "– (no snapshot yet)"
        return format_html(
            '<div class="revenue-strip">MRR <strong>{}</strong> · lifetime invoiced <strong>{}</strong> · '
            "paid <strong>{}</strong><br>{}<br><small>Seats over the last 12 months: paid (solid), "
            "in use (dashed)</small></div>",
            mrr,
            show_money(figures.invoiced, obj.locale),
            show_money(figures.paid, obj.locale),
            charts.seats_chart(figures.seats),
        )
