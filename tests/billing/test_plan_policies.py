"""The plan settings `downgrade` and `minimum_invoice` (SPEC §2.4), decided by the pure core. No database."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from moneyed import Money

from billing.plan import (
    DOWNGRADE_AT_PERIOD_END,
    DOWNGRADE_NOW,
    below_minimum_invoice,
    is_downgrade,
    plan_change_waits,
)


def usd(value) -> Money:
    return Money(Decimal(str(value)), "USD")


def test_a_lower_price_per_seat_is_a_downgrade():
    # Team 7.00 → Start 4.00 a seat a month: 4.00 < 7.00
    assert is_downgrade(current_price=usd("7.00"), new_price=usd("4.00"))
    # Start 4.00 → Team 7.00: an upgrade
    assert not is_downgrade(current_price=usd("4.00"), new_price=usd("7.00"))


def test_the_same_price_is_not_a_downgrade():
    assert not is_downgrade(current_price=usd("7.00"), new_price=usd("7.00"))


def test_prices_in_two_currencies_are_not_compared():
    with pytest.raises(TypeError):
        is_downgrade(current_price=usd("7.00"), new_price=Money("4.00", "EUR"))


@given(
    st.decimals(min_value=0, max_value=10_000, places=2),
    st.decimals(min_value=0, max_value=10_000, places=2),
)
def test_at_most_one_direction_is_a_downgrade(a, b):
    down = is_downgrade(current_price=usd(a), new_price=usd(b))
    up = is_downgrade(current_price=usd(b), new_price=usd(a))
    assert not (down and up)
    assert (down or up) == (a != b)


def test_only_a_downgrade_under_at_period_end_waits():
    team, start = usd("7.00"), usd("4.00")
    assert plan_change_waits(downgrade=DOWNGRADE_AT_PERIOD_END, current_price=team, new_price=start)
    assert not plan_change_waits(downgrade=DOWNGRADE_AT_PERIOD_END, current_price=start, new_price=team)  # upgrade
    assert not plan_change_waits(downgrade=DOWNGRADE_NOW, current_price=team, new_price=start)  # the default


def test_below_minimum_invoice():
    # 7.00 × 1 seat × 2/31 days = 0.45 < 1.00: held back
    assert below_minimum_invoice(usd("0.45"), usd("1.00"))
    # 7.00 × 1 × 15/30 = 3.50 ≥ 1.00: issued
    assert not below_minimum_invoice(usd("3.50"), usd("1.00"))
    # exactly the minimum is issued: "less than it" waits
    assert not below_minimum_invoice(usd("1.00"), usd("1.00"))
    # no minimum: every invoice is issued
    assert not below_minimum_invoice(usd("0.01"), None)
