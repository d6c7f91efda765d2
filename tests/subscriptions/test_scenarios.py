"""The worked examples (tests/scenarios/*.json: help-page cases with expected invoices), run through the command."""

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.json"))


def mismatches(expected: dict, got: dict) -> list[str]:
    """The comparison of tests/scenarios/check.py."""
    bad = []
    for key in ("invoices", "credit_notes", "refunds"):
        e, g = expected.get(key, []), got.get(key) or []
        if len(e) != len(g):
            bad.append(f"{key}: expected {len(e)}, got {len(g)}")
            continue
        for n, (ei, gi) in enumerate(zip(e, g, strict=True)):
            bad += [f"{key}[{n}].{k}: expected {v!r}, got {gi.get(k)!r}" for k, v in ei.items() if gi.get(k) != v]
    if "errors" in expected and expected["errors"] != len(got.get("errors") or []):
        bad.append(f"errors: expected {expected['errors']}, got {got.get('errors')}")
    for key in ("account", "subscription"):
        for k, v in (expected.get(key) or {}).items():
            if (got.get(key) or {}).get(k) != v:
                bad.append(f"{key}.{k}: expected {v!r}, got {(got.get(key) or {}).get(k)!r}")
    return bad


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_worked_example(path):
    out = io.StringIO()
    call_command("billing_scenario", str(path), stdout=out)
    got = json.loads(out.getvalue())
    assert mismatches(json.loads(path.read_text())["expect"], got) == []


@pytest.mark.django_db(transaction=True)
def test_runner_rolls_back_unless_commit(tmp_path):
    from invoicing.models import Invoice

    call_command("billing_scenario", str(SCENARIOS[0]), stdout=io.StringIO())
    assert Invoice.objects.count() == 0
    call_command("billing_scenario", str(SCENARIOS[0]), "--commit", stdout=io.StringIO())
    assert Invoice.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_malformed_event_exits_non_zero_naming_it(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"plans": [], "events": [{"on": "2026-11-01", "do": "subscribe"}, {"do": "dance"}]}))
    with pytest.raises(SystemExit) as exc:
        call_command("billing_scenario", str(bad), stdout=io.StringIO())
    assert exc.value.code != 0
    assert "event 1" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_refused_event_is_listed_and_changes_nothing(tmp_path):
    story = json.loads(SCENARIOS[0].read_text())
    story["plans"][0]["max_seats"] = 1
    path = tmp_path / "refused.json"
    path.write_text(json.dumps(story))
    out = io.StringIO()
    call_command("billing_scenario", str(path), stdout=out)
    got = json.loads(out.getvalue())
    assert got["errors"] == [{"event": 1, "message": "The Pro plan allows at most 1 user."}]
    assert [i["total"] for i in got["invoices"]] == ["7.00", "7.00"]
    assert got["subscription"]["seats_in_use"] == 1
