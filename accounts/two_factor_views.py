"""The second-factor pages: enrol an authenticator app (first time), verify a code (every sign-in)."""

import segno
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login

from accounts import two_factor


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=32,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "one-time-code", "inputmode": "text"}),
    )


def _next(request) -> str:
    wanted = request.POST.get("next") or request.GET.get("next")
    if wanted and url_has_allowed_host_and_scheme(wanted, {request.get_host()}, require_https=request.is_secure()):
        return wanted
    return reverse("admin:index") if request.user.is_staff else reverse("home")


def _verified(request, device) -> None:
    request.session.cycle_key()  # a new session id once the second factor is passed
    otp_login(request, device)


@never_cache
@login_required
def verify(request):
    if not two_factor.is_enrolled(request.user):
        return two_factor.challenge(request, _next(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = two_factor.verify(request.user, form.cleaned_data["code"])
        if device is not None:
            _verified(request, device)
            if device.name == "Recovery codes":
                left = two_factor.recovery_codes_left(request.user)
                messages.warning(request, f"You used a recovery code; {left} left.")
            return redirect(_next(request))
        tries = two_factor.wrong_tries(request.user)
        wait = f" {tries} wrong in a row: wait {2 ** (tries - 1)} s before the next try." if tries else ""
        form.add_error("code", f"That code is not right (or was used already). Try the current one.{wait}")
    status = 400 if form.errors else 200
    return render(request, "registration/two_factor_verify.html", {"form": form, "next": _next(request)}, status=status)


@never_cache
@login_required
def setup(request):
    if two_factor.is_enrolled(request.user):  # enrolment is once; a lost device is reset by support
        return two_factor.challenge(request, _next(request))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        confirmed = two_factor.enrolment_confirm(request.user, form.cleaned_data["code"])
        if confirmed is not None:
            device, codes = confirmed
            _verified(request, device)
            return render(request, "registration/two_factor_codes.html", {"codes": codes, "next": _next(request)})
        form.add_error("code", "That code is not right. Check the app's clock and enter the current code.")
    device = two_factor.enrolment_device(request.user)
    secret = two_factor.authenticator_key(device)
    context = {
        "form": form,
        "next": _next(request),
        "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        "otpauth": device.config_url,
        "qr": segno.make(device.config_url, error="m").svg_data_uri(scale=4),
    }
    return render(request, "registration/two_factor_setup.html", context, status=400 if form.errors else 200)
