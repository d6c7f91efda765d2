"""Support: licences, activations and the offline activation file (SPEC §2.7, §3 admin actions)."""

import re

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from simple_history.admin import SimpleHistoryAdmin

from common.errors import Refused
from licensing.models import Activation, Licence
from licensing.services import activation_deactivate, activation_offline
from subscriptions.models import Subscription


class OfflineLicenceForm(forms.Form):
    subscription_id = forms.CharField(max_length=100, help_text="sub_…, from the subscription's page.")
    instance_id = forms.CharField(max_length=100, help_text="The customer's on-premise server instance ID.")


@admin.register(Licence)
class LicenceAdmin(SimpleHistoryAdmin):
    list_display = ["id", "account", "membership", "assigned_on"]
    list_select_related = ["account", "membership"]
    search_fields = ["account__name", "membership__email"]
    readonly_fields = ["account", "membership", "assigned_on", "created_at"]

    def has_add_permission(self, request):
        return False  # licences follow paid seats (licensing.services.licence_sync)


@admin.register(Activation)
class ActivationAdmin(SimpleHistoryAdmin):
    list_display = ["instance_id", "subscription", "kind", "first_activated_at", "last_activated_at", "deactivated_at"]
    list_select_related = ["subscription__account"]
    list_filter = ["kind"]
    search_fields = ["instance_id", "=subscription__public_id", "subscription__account__name"]
    readonly_fields = [
        "subscription",
        "instance_id",
        "kind",
        "first_activated_at",
        "last_activated_at",
        "times_issued",
        "deactivated_at",
    ]
    actions = ["deactivate"]
    change_list_template = "licensing/admin_activation_changelist.html"

    def add_view(self, request, form_url="", extra_context=None):
        # An activation is only ever made by signing a licence for a server: the offline page does that.
        return redirect("admin:licensing_activation_offline")

    def get_urls(self):
        view = self.admin_site.admin_view(self.offline_view)
        return [path("offline/", view, name="licensing_activation_offline"), *super().get_urls()]

    @admin.action(description="Deactivate (frees the place under the plan's server limit)", permissions=["change"])
    def deactivate(self, request, queryset):
        for activation in queryset.filter(deactivated_at__isnull=True):
            activation_deactivate(activation=activation)
        messages.success(request, "Deactivated.")

    def offline_view(self, request):
        """Issue offline licence: a signed activation file for a subscription and an instance ID."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = OfflineLicenceForm(request.POST or None, initial={"subscription_id": request.GET.get("subscription")})
        if request.method == "POST" and form.is_valid():
            sub = Subscription.objects.filter(public_id=form.cleaned_data["subscription_id"].strip()).first()
            try:
                if sub is None:
                    raise Refused("No subscription has this ID.", field="subscription_id")
                _, signed = activation_offline(subscription=sub, instance_id=form.cleaned_data["instance_id"])
            except Refused as refused:
                form.add_error(refused.field if refused.field in form.fields else None, str(refused))
            else:
                safe = re.sub(r"[^A-Za-z0-9._-]", "_", form.cleaned_data["instance_id"].strip())[:60]
                response = HttpResponse(signed, content_type="application/json")
                response["Content-Disposition"] = f'attachment; filename="prorata-licence-{safe}.json"'
                return response
        context = {
            **self.admin_site.each_context(request),
            "title": "Issue an offline licence",
            "form": form,
            "opts": self.model._meta,
            "changelist_url": reverse("admin:licensing_activation_changelist"),
        }
        return render(request, "licensing/admin_offline.html", context)
