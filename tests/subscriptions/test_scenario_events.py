"""The scenario runner (SPEC §4) for events the worked examples do not cover; totals worked by hand."""

import io
import json

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db(transaction=True)

PRO = {"code": "pro", "name": "Pro", "currency": "USD", "monthly": "7.00", "annual": "60.00"}


def run(tmp_path, events, *, plans=(PRO,), coupons=(), account=None) -> dict:
    path = tmp_path / "story.json"
    path.write_text(
        json.dumps({"plans": list(plans), "coupons": list(coupons), "account": account or {}, "events": events})
    )
    out = io.StringIO()
    call_command("billing_scenario", str(path), stdout=out)
    return json.loads(out.getvalue())


def summary(got) -> list[tuple]:
    return [(i["issued_on"], i["subtotal"], i["discount"], i["total"], i["amount_due"]) for i in got["invoices"]]


def test_accept_trial_offer(tmp_path):
    got = run(
        tmp_path,
        [
            {"on": "2026-11-01", "do": "subscribe", "plan": "pro", "cycle": "monthly", "trial": True},
            {"on": "2026-11-03", "do": "accept_trial_offer"},
            {"on": "2026-12-15", "do": "advance"},
            {"on": "2026-12-16", "do": "accept_trial_offer"},
        ],
        plans=[{**PRO, "trial_days": 14, "trial_offer": "5.00"}],
    )
    # trial Nov 1 – Nov 15; first monthly invoice 7.00 − 5.00 offer = 2.00; Dec 15 full price 7.00
    assert summary(got) == [
        ("2026-11-15", "7.00", "5.00", "2.00", "2.00"),
        ("2026-12-15", "7.00", "0.00", "7.00", "7.00"),
    ]
    assert got["errors"] == [{"event": 3, "message": "The trial offer can only be taken during the trial."}]
    assert got["subscription"]["current_period"] == ["2026-12-15", "2027-01-15"]


def test_apply_coupon_after_purchase(tmp_path):
    got = run(
        tmp_path,
        [
            {"on": "2026-11-01", "do": "subscribe", "plan": "pro", "cycle": "monthly"},
            {"on": "2026-11-10", "do": "apply_coupon", "coupon": "HALF"},
            {"on": "2026-12-05", "do": "apply_coupon", "coupon": "HALF"},
            {"on": "2027-01-01", "do": "advance"},
        ],
        coupons=[{"code": "HALF", "percent_off": "50", "duration_periods": 1}],
    )
    # Nov 7.00 (redeemed mid-period: starts at the next renewal); Dec 7.00 − 50% = 3.50; Jan used up: 7.00
    assert summary(got) == [
        ("2026-11-01", "7.00", "0.00", "7.00", "7.00"),
        ("2026-12-01", "7.00", "3.50", "3.50", "3.50"),
        ("2027-01-01", "7.00", "0.00", "7.00", "7.00"),
    ]
    assert got["errors"] == [{"event": 2, "message": "HALF is already active; one coupon at a time."}]


def test_cancel_undo_cancel_and_expiry(tmp_path):
    got = run(
        tmp_path,
        [
            {"on": "2026-11-01", "do": "subscribe", "plan": "pro", "cycle": "monthly"},
            {"on": "2026-11-05", "do": "cancel"},
            {"on": "2026-11-10", "do": "undo_cancel"},
            {"on": "2026-11-11", "do": "undo_cancel"},
            {"on": "2026-12-01", "do": "advance"},
            {"on": "2026-12-20", "do": "cancel"},
            {"on": "2027-01-01", "do": "advance"},
        ],
    )
    # undone before Dec 1: renewed for 7.00; canceled again: expires Jan 1 with no invoice
    assert summary(got) == [
        ("2026-11-01", "7.00", "0.00", "7.00", "7.00"),
        ("2026-12-01", "7.00", "0.00", "7.00", "7.00"),
    ]
    assert got["errors"] == [{"event": 3, "message": "This subscription is not canceled."}]
    assert (got["subscription"]["status"], got["account"]["status"]) == ("expired", "expired")


def test_canceled_shows_until_period_end(tmp_path):
    got = run(
        tmp_path,
        [
            {"on": "2026-11-01", "do": "subscribe", "plan": "pro", "cycle": "monthly"},
            {"on": "2026-11-05", "do": "cancel"},
        ],
    )
    assert (got["subscription"]["status"], got["account"]["status"]) == ("canceled", "active")


def test_change_plan(tmp_path):
    got = run(
        tmp_path,
        [
            {"on": "2026-11-01", "do": "invite", "count": 1},
            {"on": "2026-11-01", "do": "subscribe", "plan": "start", "cycle": "monthly"},
            {"on": "2026-11-10", "do": "change_plan", "plan": "team"},
            {"on": "2026-12-01", "do": "advance"},
        ],
        plans=[
            {"code": "start", "currency": "USD", "monthly": "5.00"},
            {"code": "team", "currency": "USD", "monthly": "9.00"},
        ],
    )
    # 2 × 5.00 = 10.00; Nov 10: −5.00 × 2 × 20/30 = −6.67 + 9.00 × 2 × 20/30 = 12.00 → 5.33; Dec: 2 × 9.00 = 18.00
    assert [i["total"] for i in got["invoices"]] == ["10.00", "5.33", "18.00"]
    assert [line["amount"] for line in got["invoices"][1]["lines"]] == ["-6.67", "12.00"]
    assert got["subscription"]["plan"] == "team"


def test_set_minimum_seats(tmp_path):
    got = run(
        tmp_path,
        [
            {"on": "2026-11-01", "do": "subscribe", "plan": "pro", "cycle": "monthly"},
            {"on": "2026-11-10", "do": "set_minimum_seats", "seats": 3},
            {"on": "2026-12-01", "do": "advance"},
        ],
    )
    # setting it charges nothing; Dec: max(1, 3) × 7.00 = 21.00
    assert [i["total"] for i in got["invoices"]] == ["7.00", "21.00"]
    assert (got["subscription"]["paid_seats"], got["subscription"]["seats_in_use"]) == (3, 1)


def test_switch_cycle_by_support(tmp_path):
    got = run(
        tmp_path,
        [
            {"on": "2026-11-01", "do": "subscribe", "plan": "pro", "cycle": "annual"},
            {"on": "2026-11-02", "do": "switch_cycle", "cycle": "monthly"},
            {"on": "2026-11-03", "do": "switch_cycle", "cycle": "monthly", "by": "support"},
        ],
    )
    # annual 60.00; self-serve refused; by support: nothing now (no invoice, no credit), monthly from the
    # period end (the renewal itself: tests/subscriptions/test_services.py)
    assert summary(got) == [("2026-11-01", "60.00", "0.00", "60.00", "60.00")]
    assert [e["event"] for e in got["errors"]] == [1]
    assert "Contact support" in got["errors"][0]["message"]
    assert got["account"]["credit_balance"] == "0.00"
    assert (got["subscription"]["cycle"], got["subscription"]["current_period"]) == (
        "annual",
        ["2026-11-01", "2027-11-01"],
    )


def test_reactivate_refills_a_kept_seat(tmp_path):
    got = run(
        tmp_path,
        [
            {"on": "2026-11-01", "do": "invite", "count": 2},
            {"on": "2026-11-01", "do": "subscribe", "plan": "pro", "cycle": "monthly"},
            {"on": "2026-11-05", "do": "archive", "count": 1},
            {"on": "2026-11-10", "do": "reactivate", "count": 1},
            {"on": "2026-11-12", "do": "reactivate", "count": 1},
            {"on": "2026-12-01", "do": "advance"},
        ],
    )
    # 3 × 7.00 = 21.00; the archived seat stays paid and is refilled free; Dec 3 × 7.00 = 21.00
    assert [i["total"] for i in got["invoices"]] == ["21.00", "21.00"]
    assert got["errors"] == [{"event": 4, "message": "There are only 0 archived members."}]


def test_reactivate_with_credit_prorated(tmp_path):
    got = run(
        tmp_path,
        [
            {"on": "2026-11-01", "do": "invite", "count": 1},
            {"on": "2026-11-01", "do": "subscribe", "plan": "pro", "cycle": "monthly"},
            {"on": "2026-11-05", "do": "archive", "count": 1},
            {"on": "2026-11-10", "do": "reactivate", "count": 1},
        ],
        plans=[{**PRO, "seat_removal": "credit_prorated"}],
    )
    # 2 × 7.00 = 14.00; Nov 5 archive: credit 7.00 × 25/30 = 5.83; Nov 10 back: 7.00 × 20/30 = 4.67,
    # paid from the credit balance: 5.83 − 4.67 = 1.16 left
    assert [c["total"] for c in got["credit_notes"]] == ["5.83"]
    assert [(i["total"], i["credit_applied"], i["amount_due"]) for i in got["invoices"]] == [
        ("14.00", "0.00", "14.00"),
        ("4.67", "4.67", "0.00"),
    ]
    assert got["account"]["credit_balance"] == "1.16"
