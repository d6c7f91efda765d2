"""Amounts as people read them: the currency's decimals, never “-$0.00” (issue 16, SPEC §2.6, §4)."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from moneyed import Money

from billing.proration import amount_text
from invoicing.formatting import money
from invoicing.models import CreditEntry, CreditNote
from invoicing.selectors import credit_balance, credit_balances
from tests.builders import world

NOV_1 = date(2026, 11, 1)


def test_a_zero_is_never_negative_on_a_page():
    assert money(-Money("0.00", "USD")) == "$0.00"
    assert money(Money(Decimal("-0.004"), "USD")) == "$0.00"
    assert money(Money("1000.00", "JPY")) == "¥1,000"
    assert money(Money("-1533.00", "JPY")) == "-¥1,533"


@pytest.mark.django_db
def test_a_ledger_netting_to_zero_is_zero_on_every_database():
    w = world(on=NOV_1, people=0)
    note = CreditNote.objects.create(
        account=w.account, reason="grant", currency="USD", issued_on=NOV_1, total=Money("12.26", "USD")
    )
    # +12.26 − 12.00 − 0.26 = 0; summed as floats (SQLite's SUM) it is −1.8e-16, which rounded is “-0.00”
    for amount in ("12.26", "-12.00", "-0.26"):
        CreditEntry.objects.create(account=w.account, amount=Money(amount, "USD"), on=NOV_1, memo="x", credit_note=note)

    balance = credit_balance(w.account)

    assert balance == Money("0.00", "USD") and not balance.amount.is_signed()
    assert amount_text(balance) == "0.00"
    assert credit_balances([w.account])[w.account.pk] == balance


@pytest.mark.django_db
def test_the_subscription_page_shows_a_zero_balance_as_zero(client):
    w = world(on=NOV_1, people=0)
    note = CreditNote.objects.create(
        account=w.account, reason="grant", currency="USD", issued_on=NOV_1, total=Money("12.26", "USD")
    )
    for amount in ("12.26", "-12.00", "-0.26"):
        CreditEntry.objects.create(account=w.account, amount=Money(amount, "USD"), on=NOV_1, memo="x", credit_note=note)
    client.force_login(w.owner)
    with time_machine.travel("2026-11-15 12:00Z", tick=False):
        page = client.get("/settings/subscription/").content.decode()
    assert "<strong data-credit-balance>$0.00</strong>" in page
