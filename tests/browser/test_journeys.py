"""The customer's journeys through Settings in real Chromium, each asserting what the page shows (issue 6)."""

from datetime import date

import pytest

from accounts import services as accounts_services
from accounts.models import Account
from invoicing.models import Invoice
from subscriptions import services
from subscriptions.models import SeatRemoval
from tests.browser.conftest import CHROMIUM, PHONE
from tests.builders import make_team_plan, world

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (apt-get install chromium)"),
    pytest.mark.django_db(transaction=True),
]

NOV_1, NOV_15 = date(2026, 11, 1), date(2026, 11, 15)


def test_1_invite_on_day_15_shows_the_prorated_charge_then_the_invoice_and_its_pdf(clock, open_as, shot):
    w = world(on=NOV_1, people=2)  # Team: $7.00 per active user a month; 3 seats paid for Nov 1 – Dec 1
    page = open_as(w.owner)
    page.goto("/settings/members/")
    page.fill("textarea[name=emails]", "ana@example.com")
    page.get_by_role("button", name="Invite").click()
    assert page.locator("h1").inner_text() == "Invite ana@example.com"
    assert page.locator("[data-cost]").all_inner_texts() == ["+1 seat: $3.50 invoiced now ($3.50 due now)."]
    assert "Nov 16 – Nov 30, 2026 · 15 of 30 days · 1 seat × $7.00" in page.locator(".preview-doc").inner_text()
    shot(page, "1-invite-confirm")
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/settings/members/")
    invoice = Invoice.objects.get(account=w.account, reason="seats")
    assert f"Invoice {invoice.number}: $3.50, $3.50 due." in page.locator(".messages").inner_text()
    page.goto("/settings/invoices/")
    row = page.locator("tr.invoice", has_text=invoice.number)
    assert "$3.50" in row.inner_text() and "Open" in row.inner_text()
    shot(page, "1-invoice-list")
    with page.expect_download() as download:
        row.get_by_role("link", name="PDF").click()
    assert download.value.suggested_filename.endswith(".pdf")
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"


def test_2_switch_monthly_to_annual_shows_credit_and_charge_then_the_annual_period(clock, open_as, shot):
    w = world(on=NOV_1, people=2)
    page = open_as(w.owner)
    page.goto("/settings/subscription/")
    shot(page, "2-subscription-monthly")
    page.get_by_role("link", name="Switch to annual billing").click()
    lines = page.locator(".preview-doc tbody").inner_text()
    assert "Unused time on Team (monthly) · 3 seats" in lines and "-$10.50" in lines  # 3 × 7.00 × 15/30
    assert "Team (annual) · 3 seats" in lines and "$210.00" in lines  # 3 × 70.00, Nov 16, 2026 – Nov 15, 2027
    assert page.locator(".amount-due").inner_text() == "$199.50"
    shot(page, "2-switch-confirm")
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/settings/subscription/")
    assert "You are now billed annually." in page.locator(".messages").inner_text()
    assert page.locator(".summary h2").inner_text() == "Team, billed annually"
    assert page.locator(".period").inner_text() == "Current period: Nov 16, 2026 – Nov 15, 2027"
    phone = open_as(w.owner, viewport=PHONE)
    phone.goto("/settings/subscription/")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # nothing runs off a phone
    shot(phone, "2-subscription-annual-phone")


def test_3_roles_billing_admin_pays_member_gets_403_none_gets_the_locked_door(clock, open_as, shot):
    w = world(on=NOV_1, people=2)
    accounts_services.membership_invite(account=w.account, email="ana@example.com", on=NOV_15)
    due = Invoice.objects.get(account=w.account, status="open")
    billing_admin, member, nobody = w.person("billing_admin"), w.person("member"), w.person("none")

    page = open_as(billing_admin)
    page.goto("/settings/invoices/")
    assert due.number in page.locator(".due-now").inner_text()
    assert "IBAN" in page.locator(".how-to-pay").inner_text()
    shot(page, "3-billing-admin-invoices")
    page.locator(f"[data-pay='{due.number}']").click()
    assert f"Paid {due.number}: $3.50." in page.locator(".messages").inner_text()
    assert page.locator(".due-now").count() == 0
    assert page.goto("/settings/members/").status == 403
    assert page.locator("h1").inner_text() == "You can't open this page"

    page = open_as(member)
    assert page.goto("/settings/subscription/").status == 403
    assert "Only the account's owner and admins and billing admins" in page.locator("main").inner_text()
    assert page.locator("a[href='/settings/subscription/']").count() == 0
    shot(page, "3-member-403")

    page = open_as(nobody)
    assert page.goto("/app/").status == 403
    assert page.locator("h1").inner_text() == "This door is locked"


def test_4_a_locked_account_can_only_pay_and_paying_unlocks(clock, open_as, shot):
    w = world(on=date(2026, 10, 1), people=2)  # renewed Nov 1, unpaid; locked on Nov 15 (14 days' grace)
    services.billing_run(on=NOV_15, accounts=[w.account])
    assert Account.objects.get(pk=w.account.pk).locked_on == NOV_15
    page = open_as(w.owner, viewport=PHONE)
    assert page.goto("/app/").status == 402
    assert page.locator("h1").inner_text() == "Acme is locked"
    page.get_by_role("link", name="See the unpaid invoice and pay").click()
    page.wait_for_url("**/settings/invoices/")
    assert "Acme is locked" in page.locator(".due-now").inner_text()
    assert page.locator(".due-now .amount-due").inner_text() == "$21.00"
    shot(page, "4-locked-invoices-phone")
    assert page.goto("/settings/subscription/").status == 200
    page.goto("/settings/invoices/")
    page.get_by_role("button", name="Pay now").click()
    assert "The account is unlocked." in page.locator(".messages").inner_text()
    assert page.goto("/app/").status == 200
    assert page.locator("h1").inner_text() == "Acme"


def test_5_archive_under_keep_until_renewal_then_invite_fills_the_free_seat(clock, open_as, shot):
    w = world(on=NOV_1, people=2, plan_obj=make_team_plan(seat_removal=SeatRemoval.KEEP_UNTIL_RENEWAL))
    leaving = w.account.memberships.filter(role="member").order_by("email").first()
    page = open_as(w.owner)
    page.goto("/settings/members/")
    page.locator(f"#member-{leaving.pk}").get_by_role("button", name="Archive").click()
    assert page.locator("[data-cost]").all_inner_texts() == [
        "−1 seat: no credit. The freed seat stays paid until Nov 30, 2026 and can be refilled at no charge."
    ]
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/settings/members/")
    page.goto("/settings/subscription/")
    assert "1 seat freed this period can be refilled at no charge until Nov 30, 2026" in page.inner_text("main")
    page.goto("/settings/members/")
    page.fill("textarea[name=emails]", "ben@example.com")
    page.get_by_role("button", name="Invite").click()
    assert page.locator("[data-cost]").all_inner_texts() == ["Fills a free seat: no charge."]
    shot(page, "5-fills-a-free-seat")
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/settings/members/")
    assert Invoice.objects.filter(account=w.account).count() == 1  # only the purchase
