"""A downgrade that waits for the period's end, and its undo, in real Chromium (issue 22, SPEC §2.4 `downgrade`)."""

from datetime import date

import pytest

from invoicing.models import Invoice
from subscriptions.models import Downgrade, Subscription
from tests.browser.conftest import CHROMIUM
from tests.builders import make_plan, make_team_plan, world

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (apt-get install chromium)"),
    pytest.mark.django_db(transaction=True),
]


def test_a_downgrade_is_scheduled_for_the_renewal_shown_on_the_page_and_undone(clock, open_as, shot):
    team = make_team_plan(downgrade=Downgrade.AT_PERIOD_END)  # $7.00 a seat a month
    make_plan("start", monthly="4.00", annual="40.00")
    w = world(on=date(2026, 11, 1), people=2, plan_obj=team)  # 3 seats on Team, Nov 1 – Dec 1; today is Nov 15
    page = open_as(w.owner)
    page.goto("/settings/subscription/")
    page.get_by_role("link", name="Change plan").click()
    assert page.locator("[data-starts=start]").inner_text() == "Dec 1, 2026"

    page.locator("[data-plan-card=start]").get_by_role("link", name="See what it costs").click()
    assert page.locator("h1").inner_text() == "Change to Start on Dec 1, 2026"
    assert "you stay on Team until Nov 30, 2026, and from Dec 1, 2026 you are on Start" in page.inner_text("main")
    assert page.locator(".nothing").inner_text() == "Nothing is invoiced or credited today."
    later = page.locator("[data-later]")
    assert later.locator("h2").inner_text() == "Your invoice on Dec 1, 2026"
    assert "Start (monthly) · 3 seats" in later.inner_text() and "Unused time" not in later.inner_text()
    assert later.locator(".amount-due").inner_text() == "$12.00"  # 3 seats × 4.00, no credit
    shot(page, "6-downgrade-confirm")

    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url("**/settings/subscription/")
    assert "Scheduled: you move to the Start plan on Dec 1, 2026." in page.locator(".messages").inner_text()
    scheduled = page.locator("[data-scheduled-change]")
    assert scheduled.inner_text().startswith("Scheduled Changes to Start on Dec 1, 2026 — undo")
    assert page.locator(".summary h2").inner_text() == "Team, billed monthly"  # until then
    assert page.locator(".next-invoice .amount-due").inner_text() == "$12.00"
    shot(page, "6-downgrade-scheduled")
    assert Invoice.objects.filter(account=w.account).count() == 1  # only the purchase

    scheduled.get_by_role("button", name="undo").click()
    page.wait_for_url("**/settings/subscription/")
    assert "The change to Start is undone: you stay on Team." in page.locator(".messages").inner_text()
    assert page.locator("[data-scheduled-change]").count() == 0
    assert page.locator(".next-invoice .amount-due").inner_text() == "$21.00"  # 3 × 7.00 on Team again
    shot(page, "6-downgrade-undone")
    assert Subscription.objects.get(account=w.account).pending_plan is None
