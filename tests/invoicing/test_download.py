"""`/settings/invoices/<number>.pdf` for owner, admin and billing admin only; 404 for everyone else."""

import io
from datetime import date

import pytest
from pypdf import PdfReader

from accounts.models import Membership, User
from invoicing.models import CreditNote, Invoice
from subscriptions.services import subscription_create
from tests.builders import make_billed_account, make_credit_grant, make_pro_plan


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)


@pytest.fixture
def billed():
    acc = make_billed_account()
    subscription_create(account=acc, plan=make_pro_plan(), cycle="monthly", on=date(2026, 11, 1))
    return acc, Invoice.objects.get(account=acc)


def person(acc, role: str, status: str = Membership.Status.ACTIVE) -> User:
    user = User.objects.create_user(email=f"{role}.{acc.pk}.{status}@example.com")
    Membership.objects.create(account=acc, user=user, email=user.email, role=role, status=status)
    return user


def text_of(response) -> str:
    return PdfReader(io.BytesIO(response.content)).pages[0].extract_text()


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["owner", "admin", "billing_admin"])
def test_billing_roles_download_the_pdf_named_by_its_number(client, billed, role):
    acc, invoice = billed
    user = acc.memberships.get(role="owner").user if role == "owner" else person(acc, role)
    client.force_login(user)

    response = client.get(f"/settings/invoices/{invoice.number}.pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert invoice.number in text_of(response)


@pytest.mark.django_db
def test_everyone_else_gets_404_not_403(client, billed):
    acc, invoice = billed
    url = f"/settings/invoices/{invoice.number}.pdf"
    assert client.get(url).status_code == 404  # anonymous
    for user in (
        person(acc, "member"),
        person(acc, "none"),
        person(acc, "admin", status=Membership.Status.INVITED),
        make_billed_account().memberships.get(role="owner").user,  # the owner of another account
    ):
        client.force_login(user)
        assert client.get(url).status_code == 404, user
    client.force_login(acc.memberships.get(role="owner").user)
    assert client.get("/settings/invoices/INV-2026-999999.pdf").status_code == 404


@pytest.mark.django_db
def test_credit_notes_download_by_number_too(client, billed):
    acc, _ = billed
    note = make_credit_grant(acc, "2.00", on=date(2026, 11, 5))
    client.force_login(acc.memberships.get(role="owner").user)

    response = client.get(f"/settings/invoices/{note.number}.pdf")

    assert response.status_code == 200 and note.number in text_of(response)
    assert response["Content-Disposition"] == f'attachment; filename="{note.number}.pdf"'


@pytest.mark.django_db
def test_downloads_are_served_from_storage_once_stored(client, billed):
    acc, invoice = billed
    client.force_login(acc.memberships.get(role="owner").user)

    first = client.get(f"/settings/invoices/{invoice.number}.pdf").content
    invoice.refresh_from_db()
    stored = invoice.pdf.name
    second = client.get(f"/settings/invoices/{invoice.number}.pdf").content

    invoice.refresh_from_db()
    assert first == second and invoice.pdf.name == stored


@pytest.mark.django_db
def test_next_invoice_preview_is_a_draft_and_creates_nothing(client, billed, django_capture_on_commit_callbacks):
    acc, invoice = billed
    make_credit_grant(acc, "1.00", on=date(2026, 11, 5))
    client.force_login(acc.memberships.get(role="owner").user)
    before = (Invoice.objects.count(), CreditNote.objects.count(), Invoice.objects.get(pk=invoice.pk).status)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.get("/settings/invoices/next.pdf")

    assert callbacks == []  # the renewal's PDF, email and charge were rolled back with it

    text = text_of(response)
    assert response.status_code == 200 and "DRAFT" in text
    assert "Pro (monthly) · 1 seat" in text and "Dec 1, 2026" in text  # the renewal on Dec 1
    assert "Credit applied -$1.00" in text and "Amount due $6.00" in text  # 7.00 − 1.00 of credit
    assert "INV-2026-000002" not in text  # a draft has no number
    assert (Invoice.objects.count(), CreditNote.objects.count(), Invoice.objects.get(pk=invoice.pk).status) == before
    client.force_login(person(acc, "member"))
    assert client.get("/settings/invoices/next.pdf").status_code == 403  # SPEC §1: the page that says who to ask


@pytest.mark.django_db
def test_support_staff_with_the_view_permission_open_any_invoice_from_the_admin(client, billed):
    from django.contrib.auth.models import Permission

    _, invoice = billed
    staff = User.objects.create_user(email="support@prorata.example", is_staff=True)
    client.force_login(staff)
    assert client.get(f"/settings/invoices/{invoice.number}.pdf").status_code == 404  # staff without permission

    staff.user_permissions.add(Permission.objects.get(codename="view_invoice", content_type__app_label="invoicing"))
    staff = User.objects.get(pk=staff.pk)  # a fresh permission cache
    client.force_login(staff)
    assert client.get(f"/settings/invoices/{invoice.number}.pdf").status_code == 200
