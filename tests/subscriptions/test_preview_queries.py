"""The cost previews run the real change in a rolled-back dry run: their query count must not grow with
the account, and stays under a ceiling (issue 15). The switch-cycle page runs the change once for both
the preview and the next invoice after it (`previews.preview_with_next_invoice`), and the daily run once
more for the next invoice without it. The Subscription page previews its next invoice the same way."""

from datetime import date

import pytest
import time_machine

from tests.builders import bulk, make_team_plan, world

pytestmark = pytest.mark.django_db

NOV_1 = date(2026, 11, 1)
SUBSCRIPTION = "/settings/subscription/"
SWITCH = "/settings/subscription/cycle/?cycle=annual"
INVITE = "/settings/members/invite/"
CANCEL = "/settings/subscription/cancel/?reason=too_expensive"

# Measured on SQLite and PostgreSQL alike: switch 75, invite 30, page 30, cancel 54 (issue 15: 30 at most).
# A preview records no history, takes no lock and opens no savepoint of its own inside its dry run.
SWITCH_MOST = 75
INVITE_MOST = 30
PAGE_MOST = 30
CANCEL_MOST = 54


@pytest.fixture(autouse=True)
def on_nov_15():
    with time_machine.travel("2026-11-15 12:00Z", tick=False):
        yield


def queries(client, w, request, most: int, assert_max) -> int:
    client.force_login(w.owner)
    with assert_max(most) as captured:
        response = request(client)
    assert response.status_code == 200
    assert response.context.get("fingerprint") or response.context.get("next_invoice")
    return len(captured)


def counts_at(client, sizes, request, most, assert_max) -> list[int]:
    found, plan = [], make_team_plan()
    for i, members in enumerate(sizes):
        w = world(on=NOV_1, people=2, name=f"Size{i}", plan_obj=plan)
        bulk(w, members=members, invoices=members // 4 if i else 0, on=NOV_1)  # bulk numbers its invoices alike
        found.append(queries(client, w, request, most, assert_max))
    return found


def test_switch_to_annual_preview_is_flat_in_members(client, django_assert_max_num_queries):
    found = counts_at(client, (50, 200), lambda c: c.get(SWITCH), SWITCH_MOST, django_assert_max_num_queries)
    assert found[0] == found[1], found


def test_invite_preview_is_flat_in_members(client, django_assert_max_num_queries):
    post = lambda c: c.post(INVITE, {"emails": "new@x.example", "role": "member"})  # noqa: E731
    found = counts_at(client, (50, 200), post, INVITE_MOST, django_assert_max_num_queries)
    assert found[0] == found[1], found


def test_subscription_page_is_flat_in_members(client, django_assert_max_num_queries):
    found = counts_at(client, (50, 200), lambda c: c.get(SUBSCRIPTION), PAGE_MOST, django_assert_max_num_queries)
    assert found[0] == found[1], found


def test_cancel_preview_is_flat_in_members(client, django_assert_max_num_queries):
    # A preview syncs no licence: the real cancellation's licence sync saves one row per member.
    found = counts_at(client, (50, 200), lambda c: c.get(CANCEL), CANCEL_MOST, django_assert_max_num_queries)
    assert found[0] == found[1], found
