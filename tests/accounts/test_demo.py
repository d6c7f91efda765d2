"""`manage.py demo` builds its accounts through the services and can run again without harm."""

import io
import re
from base64 import b32decode

from django.core.management import call_command
from django.test import Client
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Account, Membership, User
from invoicing.models import Invoice
from subscriptions.models import Plan


def test_demo_is_idempotent_and_prints_logins(db):
    first = io.StringIO()
    call_command("demo", months=1, stdout=first)
    counts = (User.objects.count(), Account.objects.count(), Membership.objects.count(), Invoice.objects.count())
    second = io.StringIO()
    call_command("demo", months=1, stdout=second)
    assert (
        User.objects.count(),
        Account.objects.count(),
        Membership.objects.count(),
        Invoice.objects.count(),
    ) == counts
    assert "already in place" in second.getvalue()
    for out in (first.getvalue(), second.getvalue()):
        assert "admin@prorata.localhost" in out and "prorata-demo" in out and "nora@northwind.example" in out
    assert User.objects.get(email="admin@prorata.localhost").is_superuser
    # Issue 18: the admin asks staff for a TOTP code; the demo enrols its staff with one key and prints it
    key = re.search(r"add the key ([A-Z2-7]+) to an authenticator app", first.getvalue()).group(1)
    assert key in second.getvalue()
    for email in ("admin@prorata.localhost", "support@prorata.localhost", "finance@prorata.localhost"):
        device = TOTPDevice.objects.get(user__email=email, confirmed=True)
        assert device.bin_key == b32decode(key)
    client = Client()
    assert (
        client.post("/admin/login/", {"username": "finance@prorata.localhost", "password": "prorata-demo"}).status_code
        == 302
    )
    code = f"{totp(b32decode(key)):06d}"  # what an authenticator app with the printed key shows
    assert client.post("/accounts/2fa/", {"code": code, "next": "/admin/"})["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    # Issue 17, item 14: a Support and a Finance login, to try what each group may do
    for email, group in (("support@prorata.localhost", "Support"), ("finance@prorata.localhost", "Finance")):
        user = User.objects.get(email=email)
        assert user.is_staff and not user.is_superuser and list(user.groups.values_list("name", flat=True)) == [group]
        assert user.check_password("prorata-demo") and email in first.getvalue()
    assert set(Plan.objects.values_list("code", flat=True)) >= {"pro", "standard", "team", "fixed", "free"}
    assert Account.objects.count() == 4
    for account in Account.objects.all():
        roles = set(account.memberships.values_list("role", flat=True))
        assert {"owner", "admin", "billing_admin", "member"} <= roles
        assert account.invoices.exists()
    assert User.objects.get(email="nora@northwind.example").check_password("prorata-demo")
    assert User.objects.get(email="sam@northwind.example").memberships.count() == 2


def test_demo_timebook_plan_issues_two_switch_documents(db):
    # Timebook's help page: a switch to annual sends a prorated credit first, then the annual invoice
    call_command("demo", months=1, stdout=io.StringIO())
    assert Plan.objects.get(code="team").switch_documents == "credit_note_and_invoice"
