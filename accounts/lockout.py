"""Login throttling with django-axes: how an attempt is named, and the page a locked-out person sees.

Axes counts failed logins per (address, IP) pair (settings.AXES_*). Both the login page and the admin's
login go through authenticate(), so one counter covers both; API keys never do and are not counted.
"""

import math

from axes.helpers import get_cool_off
from django.conf import settings
from django.shortcuts import render
from django.utils import timezone


def username_of(request, credentials) -> str:
    """The address an attempt is for, lower-cased as accounts store it: “OLGA@…” and “olga@…” share a counter."""
    raw = (credentials or {}).get("username") or (credentials or {}).get("email")
    if raw is None:
        raw = request.POST.get("username", "") if request is not None else ""
    return str(raw).strip().lower()


def lockout_response(request, original_response=None, credentials=None):
    """The lockout page (429): why, and when to try again. Every attempt while locked restarts the cool-off."""
    cool_off = get_cool_off(request)
    retry_at = timezone.now() + cool_off
    return render(
        request,
        "registration/locked_out.html",
        {
            "failure_limit": settings.AXES_FAILURE_LIMIT,
            "minutes": math.ceil(cool_off.total_seconds() / 60),
            "retry_at": retry_at,
            "email": username_of(request, credentials),
        },
        status=429,
    )
