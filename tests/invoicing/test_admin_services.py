"""The services the admin added (issue 7), called directly: what they write and what they refuse."""

import datetime as dt

import pytest
from moneyed import Money

from accounts.models import Account
from common.errors import Refused
from invoicing.models import CreditEntry, CreditNote, Invoice
from invoicing.selectors import credit_balance, invoice_outstanding
from invoicing.services import (
    credit_grant,
    invoice_credit,
    invoice_mark_uncollectible,
    invoice_pay,
    invoice_void,
)
from subscriptions import services
from subscriptions.models import Cycle, Plan, Subscription
from tests.builders import invite, make_account, make_plan, snapshot, usd

NOV_1 = dt.date(2026, 11, 1)
NOV_15 = dt.date(2026, 11, 15)


@pytest.fixture
def sub(db) -> Subscription:
    """Acme on Pro ($7/month): owner + 1 member, Nov 1 purchase invoice of 2 × 7.00 = 14.00, open."""
    account = make_account("Acme", on=NOV_1)
    invite(account, 1, on=NOV_1)
    return services.subscription_create(account=account, plan=make_plan("pro"), cycle=Cycle.MONTHLY, on=NOV_1)


def purchase(sub) -> Invoice:
    return Invoice.objects.get(subscription=sub, reason=Invoice.Reason.PURCHASE)


def test_void_refuses_a_paid_invoice(sub):
    inv = purchase(sub)
    invoice_pay(invoice=inv, on=NOV_1)
    with pytest.raises(Refused, match="only an open invoice can be voided"):
        invoice_void(invoice=inv, on=NOV_15, reason="x")
    inv.refresh_from_db()
    assert inv.status == Invoice.Status.PAID


def test_uncollectible_unlocks_the_account(sub):
    inv = purchase(sub)
    Account.objects.filter(pk=sub.account_id).update(locked_on=NOV_15)
    invoice_mark_uncollectible(invoice=inv, on=NOV_15, reason="gone")
    inv.refresh_from_db()
    assert inv.status == Invoice.Status.UNCOLLECTIBLE
    assert Account.objects.get(pk=sub.account_id).locked_on is None


def test_credit_grant_refuses_another_currency_and_nothing_changes(sub):
    before = snapshot(sub.account)
    with pytest.raises(Refused, match="billed in USD"):
        credit_grant(account=sub.account, amount=Money("5.00", "EUR"), reason="x", on=NOV_15)
    with pytest.raises(Refused, match="Say why"):
        credit_grant(account=sub.account, amount=usd("5.00"), reason=" ", on=NOV_15)
    assert snapshot(sub.account) == before
    assert credit_balance(sub.account) == usd("0.00")


def test_credit_grant_is_used_by_the_next_invoice(sub):
    note = credit_grant(account=sub.account, amount=usd("5.00"), reason="outage", on=NOV_15)
    assert note.reason == CreditNote.Reason.GRANT and note.number.startswith("CN-2026-")
    services.billing_run(on=dt.date(2026, 12, 1), accounts=[sub.account])
    renewal = Invoice.objects.get(subscription=sub, reason=Invoice.Reason.RENEWAL)
    # 2 × 7.00 = 14.00, less the 5.00 credit: 9.00 due
    assert renewal.credit_applied == usd("5.00") and renewal.amount_due == usd("9.00")


def test_invoice_credit_needs_lines_or_an_amount_and_caps_at_what_is_left(sub):
    inv = purchase(sub)
    with pytest.raises(Refused, match="Choose lines or an amount"):
        invoice_credit(invoice=inv, on=NOV_15, reason="x")
    invoice_credit(invoice=inv, on=NOV_15, reason="half", amount=usd("7.00"))
    with pytest.raises(Refused, match="At most"):
        invoice_credit(invoice=inv, on=NOV_15, reason="more", amount=usd("7.01"))
    invoice_credit(invoice=inv, on=NOV_15, reason="rest", amount=usd("7.00"))
    assert sum((n.total for n in inv.credit_notes.all()), usd("0")) == usd("14.00")
    # The invoice was open: 7.00 + 7.00 credited settles its 14.00; nothing joins the balance.
    inv.refresh_from_db()
    assert inv.status == Invoice.Status.PAID and inv.amount_credited == usd("14.00")
    assert credit_balance(sub.account) == usd("0.00")


def test_a_credit_note_on_an_open_invoice_lowers_what_is_left_to_pay(sub):
    """Issue 17, item 4: the $5 correction came off the credit balance and the customer paid the full amount."""
    inv = purchase(sub)  # 14.00 open
    note = invoice_credit(invoice=inv, on=NOV_15, reason="one seat too many for a week", amount=usd("5.00"))
    inv.refresh_from_db()
    assert inv.amount_due == usd("14.00")  # the issued amounts never change
    assert inv.amount_credited == usd("5.00") and invoice_outstanding(inv) == usd("9.00")  # 14.00 − 5.00
    assert not CreditEntry.objects.filter(credit_note=note).exists() and credit_balance(sub.account) == usd("0.00")
    invoice_pay(invoice=inv, on=NOV_15)  # pays what is left: 9.00, not 14.00
    inv.refresh_from_db()
    assert inv.status == Invoice.Status.PAID and inv.amount_paid == usd("9.00")
    assert credit_balance(sub.account) == usd("0.00")


def test_a_credit_note_beyond_what_is_left_sends_the_rest_to_the_balance(sub):
    inv = purchase(sub)
    invoice_pay(invoice=inv, on=NOV_1, amount=usd("10.00"))  # 4.00 left to pay
    note = invoice_credit(invoice=inv, on=NOV_15, reason="both seats unused", amount=usd("6.00"))
    inv.refresh_from_db()
    # 4.00 settles the invoice, the other 2.00 (6.00 − 4.00) joins the credit balance
    assert inv.status == Invoice.Status.PAID and inv.amount_credited == usd("4.00")
    assert CreditEntry.objects.get(credit_note=note).amount == usd("2.00") == credit_balance(sub.account)


def test_a_credit_note_that_settles_an_open_invoice_unlocks_the_account(sub):
    inv = purchase(sub)
    Account.objects.filter(pk=sub.account_id).update(locked_on=NOV_15)
    invoice_credit(invoice=inv, on=NOV_15, reason="goodwill", amount=usd("14.00"))
    assert Account.objects.get(pk=sub.account_id).locked_on is None


def test_a_credit_note_on_a_paid_invoice_goes_to_the_balance(sub):
    inv = purchase(sub)
    invoice_pay(invoice=inv, on=NOV_1)
    note = invoice_credit(invoice=inv, on=NOV_15, reason="one seat too many", amount=usd("5.00"))
    assert CreditEntry.objects.get(credit_note=note).amount == usd("5.00") == credit_balance(sub.account)


def test_extend_trial_refuses_a_paid_subscription(sub):
    with pytest.raises(Refused, match="in its trial"):
        services.subscription_extend_trial(subscription=sub, days=7, on=NOV_15)


def test_cancel_now_invoices_waiting_lines_and_expires(db):
    plan = make_plan("pro", seat_add_billing_monthly="next_invoice")
    account = make_account("Acme", on=NOV_1)
    sub = services.subscription_create(account=account, plan=plan, cycle=Cycle.MONTHLY, on=NOV_1)
    invite(account, 1, on=dt.date(2026, 11, 10))  # waits: 1 × 7.00 × 20/30 = 4.67
    final = services.subscription_cancel_now(subscription=sub, on=NOV_15)
    assert final.reason == Invoice.Reason.FINAL and final.total == usd("4.67")
    sub.refresh_from_db()
    assert sub.status == Subscription.Status.EXPIRED and sub.expired_on == NOV_15


def test_keep_price_moves_live_subscriptions_to_a_hidden_copy(sub):
    copy = services.plan_keep_price_for_subscribers(plan=sub.plan, on=NOV_15)
    sub.refresh_from_db()
    assert sub.plan == copy and copy.code == "pro-20261115" and not copy.is_public
    assert copy.monthly_price == usd("7.00")
    assert services.plan_keep_price_for_subscribers(plan=Plan.objects.get(code="pro"), on=NOV_15) is None
    assert CreditEntry.objects.filter(account=sub.account).count() == 0
