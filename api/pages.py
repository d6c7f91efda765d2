"""Settings › API keys (SPEC §3): owners and admins create and revoke the account's keys."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.decorators import forbidden, members_required
from api.keys import api_key_create, api_key_revoke
from api.models import ApiKey
from common.errors import Refused


def _api_keys_page(request, *, new_secret=None, error=None, status=200):
    return render(
        request,
        "api/api_keys.html",
        {
            "section": "api_keys",
            "keys": ApiKey.objects.filter(account=request.account).select_related("created_by"),
            "roles": ApiKey.Role.choices,
            "new_secret": new_secret,
            "error": error,
        },
        status=status,
    )


@members_required
def api_keys(request):
    if request.method != "POST":
        return _api_keys_page(request)
    try:
        _, secret = api_key_create(
            account=request.account,
            name=request.POST.get("name", ""),
            role=request.POST.get("role", ""),
            by=request.membership,
        )
    except Refused as refused:
        if refused.code == "permission_denied":
            return forbidden(request, "members")
        return _api_keys_page(request, error=str(refused), status=400)
    # Shown once, on this response only; it is not stored anywhere.
    return _api_keys_page(request, new_secret=secret)


@require_POST
@members_required
def api_key_revoke_view(request, pk: int):
    key = get_object_or_404(ApiKey, pk=pk, account=request.account)
    try:
        api_key_revoke(api_key=key, by=request.membership)
        messages.success(request, f"“{key.name}” is revoked.")
    except Refused as refused:
        messages.error(request, str(refused))
    return redirect("api_keys")
