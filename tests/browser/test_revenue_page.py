"""The Revenue admin page in Chromium, on the demo's six months of history (issue 21)."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.models import User
from accounts.staff_groups import FINANCE, SUPPORT

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(clock):
    import io

    call_command("demo", months=6, stdout=io.StringIO())


def staff(group: str) -> User:
    user = User.objects.create_user(email=f"{group.lower()}-browser@prorata.example", password=None, is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def test_finance_sees_the_charts_and_tables_support_is_refused(demo, open_as, shot):
    page = open_as(staff(FINANCE))
    page.goto("/admin/")
    page.get_by_role("link", name="Revenue", exact=True).last.click()
    page.wait_for_selector("svg.revenue-chart")
    assert page.locator("svg.revenue-chart").count() == 2
    assert page.locator("svg.revenue-chart rect").count() > 6  # bars of the months with MRR, and the legend
    # every month of the movements table balances
    checks = page.locator("table[data-table=movements] tbody tr td:last-child").all_inner_texts()
    assert checks and set(checks) == {"✓"}
    full = shot(page, "revenue")
    # the top of the page (charts, MRR and movements), the picture in README
    page.set_viewport_size({"width": 1280, "height": 1640})
    page.screenshot(path=str(full.with_name("revenue-top.png")))
    refused = open_as(staff(SUPPORT))
    response = refused.goto("/admin/revenue/revenuemonth/")
    assert response.status == 403
