"""Settings › Licences (SPEC §2.7)."""

import re

from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts import permissions
from accounts.decorators import billing_required, members_required
from common.errors import Refused
from licensing import keys
from licensing.models import Activation
from licensing.selectors import activations_of, licences_of
from licensing.services import activation_deactivate, activation_offline
from subscriptions.selectors import live_subscription


def _licences_page(request, *, error=None, instance_id="", status=200):
    sub = live_subscription(request.account)
    return render(
        request,
        "licensing/licences.html",
        {
            "section": "licences",
            "subscription": sub,
            "licences": licences_of(request.account),
            "activations": activations_of(sub),
            "can_activate": permissions.can_manage_members(request.membership),
            "error": error,
            "instance_id": instance_id,
        },
        status=status,
    )


@billing_required
def licences(request):
    return _licences_page(request)


@require_POST
@members_required
def offline_activation(request):
    """Download a signed activation file for an on-premise server that cannot reach us."""
    sub = live_subscription(request.account)
    instance_id = request.POST.get("instance_id", "")
    if sub is None:
        return _licences_page(request, error="There is no subscription to activate.", status=400)
    try:
        _, signed = activation_offline(subscription=sub, instance_id=instance_id)
    except Refused as refused:
        return _licences_page(request, error=str(refused), instance_id=instance_id, status=400)
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", instance_id.strip())[:60]
    response = HttpResponse(signed, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="prorata-licence-{safe}.json"'
    return response


@require_POST
@members_required
def activation_deactivate_view(request, pk: int):
    activation = get_object_or_404(Activation, pk=pk, subscription__account=request.account)
    try:
        activation_deactivate(activation=activation)
        messages.success(request, f"{activation.instance_id} is deactivated; its place is free.")
    except Refused as refused:
        messages.error(request, str(refused))
    return redirect("licences")


def public_key(request):
    """The PEM public key that verifies licences; public, like the API's JSON version."""
    try:
        pem = keys.public_key_pem()
    except ImproperlyConfigured as exc:
        return HttpResponse(str(exc), status=503, content_type="text/plain")
    response = HttpResponse(pem, content_type="application/x-pem-file")
    response["Content-Disposition"] = 'attachment; filename="prorata-licence-public-key.pem"'
    return response
