"""Plan settings `downgrade` and `minimum_invoice` (SPEC §2.4, issue 22) through the scenario runner; sums by hand."""

import io
import json

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=True)

# Team leaves by `downgrade: at_period_end`; Start is cheaper per seat, Business dearer.
TEAM = {"code": "team", "name": "Team", "currency": "USD", "monthly": "7.00", "annual": "70.00"}
START = {"code": "start", "name": "Start", "currency": "USD", "monthly": "4.00", "annual": "40.00"}
BUSINESS = {"code": "business", "name": "Business", "currency": "USD", "monthly": "12.00", "annual": "120.00"}
PLANS = [{**TEAM, "downgrade": "at_period_end"}, START, BUSINESS]
PRO_MINIMUM = {"code": "pro", "name": "Pro", "currency": "USD", "monthly": "7.00", "minimum_invoice": "1.00"}


def run(tmp_path, events, *, plans=PLANS) -> dict:
    path = tmp_path / "story.json"
    path.write_text(json.dumps({"plans": list(plans), "events": events}))
    out = io.StringIO()
    call_command("billing_scenario", str(path), stdout=out)
    return json.loads(out.getvalue())


def lines(invoice) -> list[tuple]:
    return sorted((x["kind"], x["description"], x["quantity"], x["amount"]) for x in invoice["lines"])


def totals(got) -> list[tuple]:
    return [(i["issued_on"], i["total"]) for i in got["invoices"]]


TEAM_FOR_TWO = [
    {"on": "2026-11-01", "do": "invite", "count": 1},
    {"on": "2026-11-01", "do": "subscribe", "plan": "team", "cycle": "monthly"},
]


def test_a_downgrade_is_scheduled_then_the_renewal_is_on_the_new_plan_without_credit(tmp_path):
    events = [*TEAM_FOR_TWO, {"on": "2026-11-10", "do": "change_plan", "plan": "start"}]
    before = run(tmp_path, [*events, {"on": "2026-11-30", "do": "advance"}])
    # Nov 1: 2 seats × 7.00 = 14.00; the change on Nov 10 invoices nothing and waits for Dec 1
    assert totals(before) == [("2026-11-01", "14.00")]
    assert before["subscription"]["plan"] == "team"
    assert before["subscription"]["scheduled_change"] == {"plan": "start", "on": "2026-12-01"}

    after = run(tmp_path, [*events, {"on": "2026-12-01", "do": "advance"}])
    # Dec 1 renewal on Start: 2 × 4.00 = 8.00, and no credit for Nov 11 – Nov 30 on Team
    assert totals(after) == [("2026-11-01", "14.00"), ("2026-12-01", "8.00")]
    assert lines(after["invoices"][1]) == [("subscription", "Start (monthly) · 2 seats", 2, "8.00")]
    assert after["credit_notes"] == [] and after["account"]["credit_balance"] == "0.00"
    assert after["subscription"]["plan"] == "start"
    assert after["subscription"]["scheduled_change"] is None
    assert after["subscription"]["current_period"] == ["2026-12-01", "2027-01-01"]


def test_a_scheduled_downgrade_undone_renews_on_the_old_plan(tmp_path):
    got = run(
        tmp_path,
        [
            *TEAM_FOR_TWO,
            {"on": "2026-11-10", "do": "change_plan", "plan": "start"},
            {"on": "2026-11-20", "do": "undo_change_plan"},
            {"on": "2026-11-21", "do": "undo_change_plan"},
            {"on": "2026-12-01", "do": "advance"},
        ],
    )
    # Nov 1: 2 × 7.00 = 14.00; undone on Nov 20, so Dec 1 renews on Team: 2 × 7.00 = 14.00
    assert totals(got) == [("2026-11-01", "14.00"), ("2026-12-01", "14.00")]
    assert lines(got["invoices"][1]) == [("subscription", "Team (monthly) · 2 seats", 2, "14.00")]
    assert got["errors"] == [{"event": 4, "message": "No plan change is scheduled."}]
    assert got["subscription"]["plan"] == "team" and got["subscription"]["scheduled_change"] is None


def test_choosing_the_current_plan_again_also_undoes_the_scheduled_downgrade(tmp_path):
    got = run(
        tmp_path,
        [
            *TEAM_FOR_TWO,
            {"on": "2026-11-10", "do": "change_plan", "plan": "start"},
            {"on": "2026-11-12", "do": "change_plan", "plan": "start"},
            {"on": "2026-11-20", "do": "change_plan", "plan": "team"},
            {"on": "2026-12-01", "do": "advance"},
        ],
    )
    # Dec 1 on Team again: 2 × 7.00 = 14.00
    assert totals(got) == [("2026-11-01", "14.00"), ("2026-12-01", "14.00")]
    assert got["errors"] == [
        {"event": 3, "message": "The change to the Start plan is already scheduled for Dec 1, 2026."}
    ]


def test_an_upgrade_under_at_period_end_is_prorated_at_once(tmp_path):
    got = run(
        tmp_path,
        [
            *TEAM_FOR_TWO,
            {"on": "2026-11-15", "do": "change_plan", "plan": "business"},
            {"on": "2026-12-01", "do": "advance"},
        ],
    )
    # Nov 15, Nov 16 – Nov 30 is 15 of 30 days: credit 2 × 7.00 × 15/30 = −7.00, charge 2 × 12.00 × 15/30 = 12.00
    assert totals(got) == [("2026-11-01", "14.00"), ("2026-11-15", "5.00"), ("2026-12-01", "24.00")]
    assert lines(got["invoices"][1]) == [
        ("credit", "Unused time on Team (monthly) · 2 seats", 2, "-7.00"),
        ("proration", "Business (monthly) · 2 seats", 2, "12.00"),
    ]
    # Dec 1: 2 × 12.00 = 24.00
    assert got["subscription"]["plan"] == "business" and got["subscription"]["scheduled_change"] is None


def test_an_upgrade_replaces_a_scheduled_downgrade(tmp_path):
    got = run(
        tmp_path,
        [
            *TEAM_FOR_TWO,
            {"on": "2026-11-10", "do": "change_plan", "plan": "start"},
            {"on": "2026-11-15", "do": "change_plan", "plan": "business"},
            {"on": "2026-12-01", "do": "advance"},
        ],
    )
    # Nov 15 prorated as above (12.00 − 7.00 = 5.00); Dec 1 on Business, 2 × 12.00 = 24.00, not Start
    assert totals(got) == [("2026-11-01", "14.00"), ("2026-11-15", "5.00"), ("2026-12-01", "24.00")]
    assert got["subscription"]["plan"] == "business"


def test_the_default_downgrade_now_is_prorated_as_before(tmp_path):
    got = run(
        tmp_path,
        [*TEAM_FOR_TWO, {"on": "2026-11-15", "do": "change_plan", "plan": "start"}],
        plans=[TEAM, START],
    )
    # credit 2 × 7.00 × 15/30 = −7.00, charge 2 × 4.00 × 15/30 = 4.00: total −3.00 to the credit balance
    assert totals(got) == [("2026-11-01", "14.00"), ("2026-11-15", "-3.00")]
    assert got["account"]["credit_balance"] == "3.00"
    assert got["subscription"]["plan"] == "start"


def test_a_proration_under_the_minimum_invoice_waits_for_the_renewal(tmp_path):
    got = run(
        tmp_path,
        [
            {"on": "2026-12-01", "do": "subscribe", "plan": "pro", "cycle": "monthly"},
            {"on": "2026-12-29", "do": "invite", "count": 1},
            {"on": "2027-01-01", "do": "advance"},
        ],
        plans=[PRO_MINIMUM],
    )
    # Dec 29 of Dec 1 – Jan 1 (31 days): Dec 30 – Dec 31 is 2 days, 7.00 × 2/31 = 0.4516 → 0.45 < 1.00: no invoice
    # Jan 1 renewal: 2 × 7.00 = 14.00 + the waiting 0.45 = 14.45
    assert totals(got) == [("2026-12-01", "7.00"), ("2027-01-01", "14.45")]
    assert lines(got["invoices"][1]) == [
        ("proration", "Pro (monthly) · 1 seat added", 1, "0.45"),
        ("subscription", "Pro (monthly) · 2 seats", 2, "14.00"),
    ]
    assert got["invoices"][1]["lines"][0]["period"] == ["2026-12-30", "2027-01-01"]


def test_a_proration_above_the_minimum_invoice_is_invoiced_at_once(tmp_path):
    got = run(
        tmp_path,
        [
            {"on": "2026-11-01", "do": "subscribe", "plan": "pro", "cycle": "monthly"},
            {"on": "2026-11-15", "do": "invite", "count": 1},
        ],
        plans=[PRO_MINIMUM],
    )
    # Nov 15 of Nov 1 – Dec 1: 7.00 × 15/30 = 3.50 ≥ 1.00: invoiced that day
    assert totals(got) == [("2026-11-01", "7.00"), ("2026-11-15", "3.50")]
    assert lines(got["invoices"][1]) == [("proration", "Pro (monthly) · 1 seat added", 1, "3.50")]


def test_a_waiting_line_joins_the_next_invoice_issued_and_counts_towards_the_minimum(tmp_path):
    got = run(
        tmp_path,
        [
            {"on": "2026-12-01", "do": "subscribe", "plan": "pro", "cycle": "monthly"},
            {"on": "2026-12-29", "do": "invite", "count": 1},
            {"on": "2026-12-30", "do": "invite", "count": 3},
            {"on": "2027-01-01", "do": "advance"},
        ],
        plans=[PRO_MINIMUM],
    )
    # Dec 29: 7.00 × 2/31 = 0.45 waits. Dec 30: 3 × 7.00 × 1/31 = 0.677 → 0.68; with the 0.45 waiting,
    # 1.13 ≥ 1.00, so one invoice of both lines is issued on Dec 30. Jan 1: 5 × 7.00 = 35.00, nothing waiting.
    assert totals(got) == [("2026-12-01", "7.00"), ("2026-12-30", "1.13"), ("2027-01-01", "35.00")]
    assert lines(got["invoices"][1]) == [
        ("proration", "Pro (monthly) · 1 seat added", 1, "0.45"),
        ("proration", "Pro (monthly) · 3 seats added", 3, "0.68"),
    ]
