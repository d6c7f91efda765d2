"""Two-factor sign-in (issue 18): staff pass a TOTP code before the admin; enrolment on first sign-in,
recovery codes that work once, and OTP_REQUIRED_FOR_OWNERS for account owners. Codes are computed from
the device's secret as an authenticator app would."""

import re
import time
from base64 import b32decode

import pytest
import time_machine
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from tests.builders import make_account, owner_of, totp_code, verified_login

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


@pytest.fixture
def root():
    return User.objects.create_superuser(email="root@prorata.example", password=PASSWORD)


def unthrottle(user) -> None:
    """A wrong code delays the next try (django-otp's throttling: 1 s, 2 s, 4 s…); the test does not wait."""
    TOTPDevice.objects.filter(user=user).update(throttling_failure_count=0, throttling_failure_timestamp=None)


def password_login(client, email, password=PASSWORD):
    response = client.post("/admin/login/?next=/admin/", {"username": email, "password": password})
    assert response.status_code == 302
    return response


def test_staff_enrol_on_first_sign_in_then_the_admin_opens(client, root):
    response = password_login(client, root.email)
    # the password alone does not open the admin: its login sends staff to enrol
    assert client.get("/admin/").status_code == 302
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/setup/?next=%2Fadmin%2F"
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    secret = re.search(r"<code data-secret>([A-Z2-7 ]+)</code>", html).group(1).replace(" ", "")
    assert "otpauth://totp/Prorata%3Aroot%40prorata.example?secret=" in html
    assert 'src="data:image/svg+xml' in html  # the QR code, as an image the CSP allows
    # the app is set up from the secret shown; a wrong code is refused, the app's code confirms
    assert client.post("/accounts/2fa/setup/", {"code": "000000", "next": "/admin/"}).status_code == 400
    assert client.get("/admin/").status_code == 302
    unthrottle(root)
    code = f"{totp(b32decode(secret)):06d}"
    done = client.post("/accounts/2fa/setup/", {"code": code, "next": "/admin/"})
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", done.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert StaticToken.objects.filter(device__user=root).count() == 10
    assert TOTPDevice.objects.get(user=root).confirmed
    admin = client.get("/admin/")
    assert admin.status_code == 200 and b"Prorata support" in admin.content


def test_enrolled_staff_must_give_the_current_code_and_a_wrong_one_is_refused(client, root):
    device = TOTPDevice.objects.create(user=root, name="Authenticator app", confirmed=True)
    password_login(client, root.email)
    response = client.get("/admin/login/?next=/admin/invoicing/invoice/")
    assert response["Location"] == "/accounts/2fa/?next=%2Fadmin%2Finvoicing%2Finvoice%2F"
    with time_machine.travel(time.time(), tick=False):  # the wait below holds however slow the machine
        wrong = client.post("/accounts/2fa/", {"code": "123456", "next": "/admin/"})
        assert wrong.status_code == 400 and b"That code is not right" in wrong.content
        # guessing slows down: even the right code is refused until the wait is over, and the page says so
        again = client.post("/accounts/2fa/", {"code": totp_code(device), "next": "/admin/"})
        assert again.status_code == 400 and "1 wrong in a row: wait 1 s before the next try." in again.content.decode()
    assert client.get("/admin/").status_code == 302
    unthrottle(root)
    device.refresh_from_db()
    right = client.post("/accounts/2fa/", {"code": totp_code(device), "next": "/admin/invoicing/invoice/"})
    assert right.status_code == 302 and right["Location"] == "/admin/invoicing/invoice/"
    assert client.get("/admin/invoicing/invoice/").status_code == 200
    # the same code cannot be used again in another session
    other = Client()
    other.force_login(root)
    assert other.post("/accounts/2fa/", {"code": totp_code(device)}).status_code == 400


def test_an_enrolled_person_cannot_enrol_a_second_app(client, root):
    TOTPDevice.objects.create(user=root, name="Authenticator app", confirmed=True)
    password_login(client, root.email)
    response = client.get("/accounts/2fa/setup/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/?")
    assert TOTPDevice.objects.filter(user=root).count() == 1


def test_a_recovery_code_works_once(root):
    enrolling = Client()
    enrolling.force_login(root)
    enrolling.get("/accounts/2fa/setup/")
    device = TOTPDevice.objects.get(user=root)
    codes = re.findall(
        r"<li><code>([a-z2-7]+)</code></li>",
        enrolling.post("/accounts/2fa/setup/", {"code": totp_code(device)}).content.decode(),
    )
    first, second = Client(), Client()
    first.force_login(root)
    used = first.post("/accounts/2fa/", {"code": codes[0].upper(), "next": "/admin/"}, follow=True)
    assert used.status_code == 200 and b"You used a recovery code; 9 left." in used.content
    assert first.get("/admin/").status_code == 200
    second.force_login(root)
    assert second.post("/accounts/2fa/", {"code": codes[0]}).status_code == 400
    assert second.get("/admin/").status_code == 302
    assert StaticToken.objects.filter(device__user=root).count() == 9


def test_force_login_alone_never_opens_the_admin_and_the_helper_signs_in_honestly(client, root):
    client.force_login(root)
    assert client.get("/admin/").status_code == 302
    verified_login(client, root)
    assert client.get("/admin/").status_code == 200


def test_next_is_kept_on_this_site(client, root):
    device = TOTPDevice.objects.create(user=root, name="Authenticator app", confirmed=True)
    client.force_login(root)
    response = client.post("/accounts/2fa/", {"code": totp_code(device), "next": "https://evil.example/"})
    assert response["Location"] == "/admin/"


def test_owners_are_asked_only_when_the_setting_says_so(client, settings):
    account = make_account()
    owner = owner_of(account)
    client.force_login(owner)
    assert client.get("/settings/").status_code == 200  # off by default
    settings.OTP_REQUIRED_FOR_OWNERS = True
    response = client.get("/settings/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/setup/?next=%2Fsettings%2F"
    assert client.get("/api/v1/subscription")["Location"].startswith("/accounts/2fa/setup/")  # the session API too
    assert client.get("/accounts/2fa/setup/?next=/settings/").status_code == 200
    device = TOTPDevice.objects.get(user=owner)
    client.post("/accounts/2fa/setup/", {"code": totp_code(device), "next": "/settings/"})
    assert client.get("/settings/").status_code == 200
    # a member who is not an owner is not asked
    member = User.objects.create_user(email="mo@acme.example", password=None)
    other = Client()
    other.force_login(member)
    response = other.get("/settings/")
    assert "/2fa/" not in response.get("Location", "")


def test_the_admin_resets_a_lost_device_without_ever_showing_a_key(client, root):
    lost = TOTPDevice.objects.create(user=User.objects.create_user(email="sam@prorata.example", is_staff=True))
    verified_login(client, root)
    page = client.get(f"/admin/otp_totp/totpdevice/{lost.pk}/change/").content.decode()
    assert lost.key not in page and "qrcode" not in page
    assert client.get(f"/admin/otp_totp/totpdevice/{lost.pk}/qrcode/").status_code == 403
    assert client.post(f"/admin/otp_totp/totpdevice/{lost.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not TOTPDevice.objects.filter(pk=lost.pk).exists()
