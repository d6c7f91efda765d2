"""Two-factor sign-in (django-otp): a TOTP authenticator app, plus ten one-time recovery codes.

Staff must pass it before the admin opens (support.admin_site); with OTP_REQUIRED_FOR_OWNERS, account owners
must pass it before any signed-in page opens. The first time, a person enrols: a TOTP device is made
unconfirmed, its secret shown, and it is confirmed by a code from the app, which also issues the recovery
codes. A person who already has a confirmed device can only verify, never enrol again (support resets a
lost device by deleting it in the admin).
"""

from base64 import b32encode

from django.conf import settings
from django.db import transaction
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django_otp import match_token
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Membership

RECOVERY_CODES = 10


def required_for(user) -> bool:
    """Whether `user` must pass a second factor: staff always; owners when OTP_REQUIRED_FOR_OWNERS is on."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff:
        return True
    return (
        settings.OTP_REQUIRED_FOR_OWNERS
        and Membership.objects.filter(user=user, role=Membership.Role.OWNER, status=Membership.Status.ACTIVE).exists()
    )


def is_enrolled(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def enrolment_device(user) -> TOTPDevice:
    """The unconfirmed authenticator being set up for `user` (made on first call, the same secret afterwards)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def authenticator_enrol(user, *, key: str | None = None) -> TOTPDevice:
    """A confirmed authenticator for `user` without the enrolment page (the demo's staff); `key` is hex."""
    extra = {"key": key} if key else {}
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True, **extra)


def authenticator_key(device: TOTPDevice) -> str:
    """The secret as an authenticator app takes it: base32."""
    return b32encode(device.bin_key).decode()


def current_code(device: TOTPDevice) -> str:
    """The code `device` accepts now (what the app shows)."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def clean_code(code: str) -> str:
    return "".join((code or "").split()).lower()


def enrolment_confirm(user, code: str) -> tuple[TOTPDevice, list[str]] | None:
    """Confirm the enrolment device with a code from the app; then issue the recovery codes. None if wrong."""
    device = enrolment_device(user)
    with transaction.atomic():
        if not device.verify_token(clean_code(code)):
            return None
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return device, recovery_codes_issue(user)


def recovery_codes_issue(user) -> list[str]:
    """Ten new one-time recovery codes for `user`, replacing any earlier ones; shown once, stored for checking."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


def verify(user, code: str):
    """The confirmed device (authenticator or recovery codes) that accepts `code`, or None; a recovery code is spent."""
    return match_token(user, clean_code(code))


def wrong_tries(user) -> int:
    """Wrong codes in a row on `user`'s authenticator: each doubles the wait before the next try (1 s, 2 s, 4 s…)."""
    return max(TOTPDevice.objects.filter(user=user).values_list("throttling_failure_count", flat=True), default=0)


def recovery_codes_left(user) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def challenge(request, next_url: str):
    """Redirect to the enrolment or verification page, then back to `next_url`."""
    name = "two_factor_verify" if is_enrolled(request.user) else "two_factor_setup"
    return redirect(f"{reverse(name)}?{urlencode({'next': next_url})}")


class OwnerTwoFactorMiddleware:
    """With OTP_REQUIRED_FOR_OWNERS: an owner who signed in without a second factor is sent to pass it first."""

    # The API with a key is unaffected (no session user here); with a session cookie it is asked like a page.
    EXEMPT = ("/accounts/2fa/", "/accounts/logout/", "/static/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if (
            settings.OTP_REQUIRED_FOR_OWNERS
            and request.user.is_authenticated
            and not request.user.is_staff  # staff: the admin asks (support.admin_site)
            and not request.user.is_verified()
            and not request.path.startswith(self.EXEMPT)
            and required_for(request.user)
        ):
            return challenge(request, request.get_full_path())
        return self.get_response(request)
