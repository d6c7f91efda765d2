"""Webhook endpoints and the event outbox in the support admin. A secret is shown once, when it is created."""

import json

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from webhooks.models import Event, EventType, WebhookEndpoint


class WebhookEndpointForm(forms.ModelForm):
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None chosen: every event type.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "event_types", "enabled"]

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.startswith("https://") and not url.startswith("http://127.0.0.1"):
            raise forms.ValidationError("Use an https:// address (http:// only for 127.0.0.1, to test).")
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["url", "description", "types", "enabled", "created_at"]
    list_filter = ["enabled"]
    readonly_fields = ["secret_hint", "created_at"]

    @admin.display(description="Event types")
    def types(self, obj):
        return ", ".join(obj.event_types) or "every type"

    @admin.display(description="Signing secret")
    def secret_hint(self, obj):
        # Shown in full once, in the message after it is created; afterwards only its start.
        return f"{obj.secret[:10]}…" if obj.pk else "Made when the endpoint is saved, and shown once."

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            self.message_user(
                request,
                format_html(
                    "Signing secret for {}: <code>{}</code> — copy it now; it is not shown again.", obj.url, obj.secret
                ),
                messages.WARNING,
            )


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """The outbox, read only: events are written by the changes that cause them."""

    list_display = ["created_at", "type", "account", "event_id"]
    list_filter = ["type"]
    search_fields = ["event_id", "account__name"]
    list_select_related = ["account"]
    fields = ["event_id", "type", "account", "created_at", "payload_json"]
    readonly_fields = fields

    @admin.display(description="Payload")
    def payload_json(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False))

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
