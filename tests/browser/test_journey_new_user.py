"""What a new user met (issue 17), in real Chromium: a Free plan, support's changes, a phone-width Members page."""

from datetime import date

import pytest
from pypdf import PdfReader

from invoicing.stripe_services import payment_gateway_choose
from subscriptions import services
from subscriptions.models import ToMonthly
from tests.browser.conftest import CHROMIUM, PHONE
from tests.builders import make_plan, make_team_plan, world
from tests.invoicing.conftest import localstripe, setup_card, stripe_on  # noqa: F401 (fixtures)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (apt-get install chromium)"),
    pytest.mark.django_db(transaction=True),
]

NOV_1, NOV_15 = date(2026, 11, 1), date(2026, 11, 15)


def test_a_free_plan_account_sees_its_subscription(clock, open_as, shot):
    w = world(on=NOV_15, people=1, subscribe=False)
    free = make_plan("free", monthly="0", annual=None, name="Free", max_seats=3)
    services.subscription_create(account=w.account, plan=free, cycle="monthly", on=NOV_15)
    page = open_as(w.owner)
    response = page.goto("/settings/subscription/")
    assert response.status == 200  # was a 500 (AssertionError in the template)
    assert page.locator(".summary h2").inner_text() == "Free, billed monthly"
    assert "Nothing to invoice on Dec 15, 2026." in page.locator(".next-invoice").inner_text()
    shot(page, "7-free-plan")


def test_support_changes_are_shown_to_the_customer(clock, open_as, shot):
    plan = make_team_plan(to_monthly=ToMonthly.SUPPORT_ONLY)
    w = world(on=NOV_1, people=6, cycle="annual", plan_obj=plan)  # 7 people on Team, annual
    services.subscription_set_minimum_seats(subscription=w.sub, seats=9, on=NOV_15)
    services.subscription_switch_cycle(subscription=w.sub, cycle="monthly", on=NOV_15, by_support=True)
    page = open_as(w.owner)
    page.goto("/settings/subscription/")
    said = page.locator("[data-commitment]").all_inner_texts()
    assert said == [
        "Commitment Minimum 9 seats: from the next invoice (Nov 1, 2027) you pay for at least 9 seats, "
        "even with fewer in use.",
        "Scheduled From Nov 1, 2027 you are billed monthly; until then this period stays billed annually.",
    ]
    assert "contact support" not in page.inner_text("main")
    shot(page, "8-support-changes")


def test_members_fit_a_phone_and_the_header_names_the_account(clock, open_as, shot):
    w = world(on=NOV_1, people=4)
    page = open_as(w.owner, viewport=PHONE)
    page.goto("/settings/members/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide"  # was 921 px
    archive = page.get_by_role("button", name="Archive").first
    box = archive.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert page.locator(".who .account-name").is_visible() and page.locator(".who .account-name").inner_text() == "Acme"
    shot(page, "9-members-phone")


def test_change_plan_shows_plan_cards(clock, open_as, shot):
    team = make_team_plan(features="Timesheets\nTeam approvals")
    make_plan("start", monthly="4.00", annual="40.00", name="Start", features="Timesheets")
    w = world(on=NOV_1, people=2, plan_obj=team)
    page = open_as(w.owner)
    page.goto("/settings/subscription/plan/")
    cards = page.locator("[data-plan-card]")
    assert cards.count() == 2
    start = page.locator("[data-plan-card=start]")
    assert "$4.00 per seat a month" in start.inner_text() and "Timesheets" in start.inner_text()
    assert "Your plan" in page.locator("[data-plan-card=team]").inner_text()
    shot(page, "10-plan-cards")


def test_paying_an_invoice_gives_a_receipt_to_download(clock, open_as, shot, tmp_path):
    w = world(on=NOV_1, people=2, subscribe=False)
    services.subscription_create(account=w.account, plan=make_plan(), cycle="monthly", on=NOV_1)
    invoice = w.account.invoices.get()  # open, paid by bank transfer; demo self-pay is on
    page = open_as(w.owner)
    page.goto("/settings/invoices/")
    page.locator(f'[data-pay="{invoice.number}"]').click()
    assert f"Paid {invoice.number}" in page.locator(".messages").inner_text()
    link = page.locator(f'[data-receipt="{invoice.number}-R1"]')
    with page.expect_download() as download:
        link.click()
    path = tmp_path / "receipt.pdf"
    download.value.save_as(path)
    text = "\n".join(p.extract_text() for p in PdfReader(path).pages)
    assert "Receipt" in text and f"{invoice.number}-R1" in text and "Left to pay" in text
    shot(page, "10-receipt-link")


@pytest.mark.usefixtures("stripe_on")
def test_pay_now_with_the_saved_card(clock, open_as, shot):
    w = world(on=NOV_1, people=1, subscribe=False)
    setup_card(w.account)
    # The team paid by transfer when the invoice was issued, then chose its card again: the invoice is open.
    payment_gateway_choose(account=w.account, gateway="bank_transfer")
    services.subscription_create(account=w.account, plan=make_plan(), cycle="monthly", on=NOV_1)
    payment_gateway_choose(account=w.account, gateway="stripe")
    invoice = w.account.invoices.get()
    page = open_as(w.owner)
    page.goto("/settings/invoices/")
    button = page.locator(f'[data-pay-card="{invoice.number}"]')
    assert button.inner_text() == "Pay $14.00 now with Visa •••• 4242, expires 12/30"  # 2 seats × $7.00
    shot(page, "11-pay-now-card")
    button.click()
    assert f"Paid {invoice.number}: $14.00." in page.locator(".messages").inner_text()
    assert page.locator(f'[data-receipt="{invoice.number}-R1"]').is_visible()
    invoice.refresh_from_db()
    assert invoice.status == "paid"
