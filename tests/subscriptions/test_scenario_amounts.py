"""Every amount the scenario runner prints has its currency's decimals and is never -0 (issue 16, SPEC §4).

Hypothesis writes scenarios in JPY, USD and EUR: plans with any of the policy settings, a coupon, tax,
and a few months of seat changes, switches, plan changes, coupons, cancellations, refunds and payments.
"""

import re
from datetime import date, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subscriptions.scenario import run_scenario

DECIMALS = {"JPY": 0, "USD": 2, "EUR": 2}
MONEY_KEYS = {"unit_price", "amount", "subtotal", "discount", "tax", "total", "credit_applied", "amount_due"}
START = date(2026, 1, 31)  # a month-end anchor: Feb 28, Mar 31 …


def price(currency: str, low: int, high: int):
    """A price in whole minor units: ¥120, $3.47."""
    places = DECIMALS[currency]
    return st.integers(low, high).map(lambda n: f"{n / 10**places:.{places}f}")


@st.composite
def plans(draw, code: str, currency: str):
    return {
        "code": code,
        "name": code.title(),
        "currency": currency,
        "monthly": draw(price(currency, 100, 5000)),
        "annual": draw(price(currency, 1000, 50000)),
        "seat_mode": draw(st.sampled_from(["auto", "auto", "fixed"])),
        "seat_add_billing": {
            "monthly": draw(st.sampled_from(["invoice_now", "next_invoice"])),
            "annual": draw(st.sampled_from(["invoice_now", "next_invoice", "monthly_true_up"])),
        },
        "seat_removal": draw(st.sampled_from(["keep_until_renewal", "credit_prorated"])),
        "to_monthly": draw(st.sampled_from(["support_only", "prorated"])),
        "switch_documents": draw(st.sampled_from(["one_invoice", "credit_note_and_invoice"])),
        "trial_days": draw(st.sampled_from([0, 0, 14])),
        "refund_window_days": draw(st.sampled_from([0, 30])),
    }


EVENTS = st.sampled_from(
    [
        {"do": "invite", "count": 1},
        {"do": "invite", "count": 3},
        {"do": "archive", "count": 1},
        {"do": "archive", "count": 2},
        {"do": "reactivate", "count": 1},
        {"do": "set_seats", "seats": 2},
        {"do": "set_seats", "seats": 6},
        {"do": "switch_cycle", "cycle": "annual"},
        {"do": "switch_cycle", "cycle": "monthly"},
        {"do": "switch_cycle", "cycle": "monthly", "by": "support"},
        {"do": "change_plan", "plan": "second"},
        {"do": "change_plan", "plan": "first"},
        {"do": "apply_coupon", "coupon": "OFF"},
        {"do": "cancel"},
        {"do": "request_refund"},
        {"do": "pay"},
        {"do": "advance"},
    ]
)


@st.composite
def scenarios(draw):
    currency = draw(st.sampled_from(sorted(DECIMALS)))
    if draw(st.booleans()):
        coupon = {"code": "OFF", "percent_off": draw(st.sampled_from(["10", "25", "33.33", "100"]))}
    else:
        coupon = {"code": "OFF", "amount_off": draw(price(currency, 1, 20000)), "currency": currency}
    coupon["duration_periods"] = draw(st.sampled_from([1, 2, None]))
    gaps = draw(st.lists(st.integers(0, 30), min_size=2, max_size=5))
    day, events = START, [{"on": START.isoformat(), "do": "invite", "count": draw(st.integers(0, 3))}]
    subscribe = {"do": "subscribe", "plan": "first", "cycle": draw(st.sampled_from(["monthly", "annual"]))}
    subscribe |= {"seats": 4, "trial": draw(st.booleans()), "minimum_seats": draw(st.sampled_from([0, 0, 3]))}
    if draw(st.booleans()):
        subscribe["coupon"] = "OFF"
    events.append({"on": START.isoformat(), **subscribe})
    for gap in gaps:
        day += timedelta(days=gap)
        events.append({"on": day.isoformat(), **draw(EVENTS)})
    events.append({"on": (day + timedelta(days=draw(st.integers(0, 35)))).isoformat(), "do": "advance"})
    return {
        "plans": [draw(plans("first", currency)), draw(plans("second", currency))],
        "coupons": [coupon],
        "account": {
            "tax_rate": draw(st.sampled_from(["0", "0.07", "0.1", "0.19", "0.2"])),
            "auto_pay": draw(st.booleans()),
        },
        "events": events,
    }


def printed_amounts(out: dict):
    """(where, text) of every money amount in the runner's output."""
    for n, inv in enumerate(out["invoices"]):
        for key in MONEY_KEYS & set(inv):
            yield f"invoices[{n}].{key}", inv[key]
        for m, line in enumerate(inv["lines"]):
            for key in ("unit_price", "amount"):
                yield f"invoices[{n}].lines[{m}].{key}", line[key]
    for n, note in enumerate(out["credit_notes"]):
        yield f"credit_notes[{n}].total", note["total"]
    for n, refund in enumerate(out["refunds"]):
        yield f"refunds[{n}].amount", refund["amount"]
    yield "account.credit_balance", out["account"]["credit_balance"]


@pytest.mark.django_db
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(story=scenarios())
def test_every_printed_amount_has_the_currency_decimals_and_is_never_minus_zero(story):
    currency = story["plans"][0]["currency"]
    places = DECIMALS[currency]
    exact = re.compile(rf"^-?\d+\.\d{{{places}}}$" if places else r"^-?\d+$")
    with transaction.atomic():
        out = run_scenario(story)
        transaction.set_rollback(True)
    amounts = list(printed_amounts(out))
    assert amounts  # at least the credit balance
    for where, text in amounts:
        assert exact.match(text), f"{where} = {text!r} in {currency}"
        assert not re.match(r"^-0+(\.0+)?$", text), f"{where} = {text!r}"
    assert all(inv["currency"] == currency for inv in out["invoices"])
