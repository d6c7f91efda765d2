"""Webhook endpoints, the event outbox and deliveries in the support admin. A secret is shown once, when it is
created. Replays go through `webhooks.delivery`, like every send: the same queue, the same `webhook-id`."""

import json

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils.html import format_html

from common.admin import ReadOnlyAdminMixin
from webhooks.delivery import deliveries_replay, endpoint_replay_failed, events_replay
from webhooks.models import Attempt, Delivery, Event, EventType, WebhookEndpoint


def _replayed(modeladmin, request, count: int) -> None:
    modeladmin.message_user(
        request, f"{count} deliveries queued to be sent again (deliveries to a disabled endpoint are left alone)."
    )


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
    list_display = ["url", "description", "types", "enabled", "delivery_counts", "created_at"]
    list_filter = ["enabled"]
    readonly_fields = ["secret_hint", "delivery_counts", "failures_in_a_row", "created_at"]
    actions = ["replay_failed"]

    def get_queryset(self, request):
        statuses = {s: Count("deliveries", filter=Q(deliveries__status=s)) for s in Delivery.Status.values}
        return super().get_queryset(request).annotate(**statuses)

    @admin.display(description="Deliveries")
    def delivery_counts(self, obj):
        if not obj.pk:
            return "–"
        url = reverse("admin:webhooks_delivery_changelist") + f"?endpoint__id__exact={obj.pk}"
        counts = ", ".join(f"{getattr(obj, s, 0)} {s}" for s in Delivery.Status.values)
        return format_html('<a href="{}">{}</a>', url, counts)

    @admin.action(description="Replay all failed deliveries (after fixing and enabling the endpoint)")
    def replay_failed(self, request, queryset):
        _replayed(self, request, sum(endpoint_replay_failed(endpoint) for endpoint in queryset))

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
class EventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The outbox, read only: events are written by the changes that cause them."""

    list_display = ["created_at", "type", "account", "event_id"]
    list_filter = ["type"]
    search_fields = ["event_id", "account__name"]
    list_select_related = ["account"]
    fields = ["event_id", "type", "account", "created_at", "payload_json"]
    readonly_fields = fields
    actions = ["replay"]

    @admin.action(description="Replay: send again to every enabled endpoint that wants it (same webhook-id)")
    def replay(self, request, queryset):
        _replayed(self, request, events_replay(queryset))

    @admin.display(description="Payload")
    def payload_json(self, obj):
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False))


class AttemptInline(admin.TabularInline):
    model = Attempt
    fields = ["at", "status_code", "latency_ms", "response", "error"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


def _last_attempt(field: str) -> Subquery:
    return Subquery(Attempt.objects.filter(delivery=OuterRef("pk")).order_by("-id").values(field)[:1])


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each event on its way to each endpoint, with its attempts; read only but for the Replay action."""

    list_display = [
        "event",
        "account",
        "endpoint",
        "status",
        "attempt_count",
        "last_code",
        "last_latency",
        "last_answer",
    ]
    list_filter = ["status", "endpoint", "event__type"]
    search_fields = ["event__event_id", "account__name"]
    list_select_related = ["event", "account", "endpoint"]
    fields = ["event", "account", "endpoint", "status", "attempt_count", "next_attempt_at", "created_at"]
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["replay"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                last_status_code=_last_attempt("status_code"),
                last_latency_ms=_last_attempt("latency_ms"),
                last_response=_last_attempt("response"),
                last_error=_last_attempt("error"),
            )
        )

    @admin.display(description="Last answer")
    def last_code(self, obj):
        return obj.last_status_code or ("error" if obj.last_error else "–")

    @admin.display(description="Latency (ms)")
    def last_latency(self, obj):
        return obj.last_latency_ms

    @admin.display(description="Answer or error")
    def last_answer(self, obj):
        return (obj.last_response or obj.last_error or "")[:80]

    @admin.action(description="Replay: send again (same webhook-id)")
    def replay(self, request, queryset):
        _replayed(self, request, deliveries_replay(queryset))
