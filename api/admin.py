"""Support: per-account API keys and the stored idempotent responses (SPEC §3, API), read-only.

A key's secret is shown once to the customer and never stored, so keys are created and revoked
from Settings › API keys (api/keys.py), not here.
"""

from django.contrib import admin

from api.models import ApiKey, IdempotentResponse
from common.admin import ReadOnlyAdminMixin


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "account", "role", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_select_related = ["account", "created_by"]
    list_filter = ["role", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "=prefix", "account__name"]
    search_help_text = "A key's name or prefix, or an account name."
    exclude = ["hashed"]


@admin.register(IdempotentResponse)
class IdempotentResponseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["key", "scope", "method", "path", "status_code", "created_at"]
    list_filter = ["method", "status_code"]
    search_fields = ["=key", "=scope", "path"]
    date_hierarchy = "created_at"
