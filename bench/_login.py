"""Sign a staff member into the admin as a person would: the password step, then a TOTP code (django-otp)."""


def staff_client(user):
    """A test Client signed in as `user` with a verified second factor (the admin requires one)."""
    from django.test import Client
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="Bench authenticator", confirmed=True)
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"
    response = client.post("/accounts/2fa/", {"code": code})
    if response.status_code != 302:
        raise SystemExit(f"bench: the two-factor step failed ({response.status_code})")
    return client
