"""Changes written with queryset update() still leave a history row (issue 7); the money-back
guarantee voids what is still open so that dunning never locks the expired account (SPEC §2.5)."""

from datetime import date

import pytest

from accounts.models import Account
from invoicing.models import Invoice, Refund
from invoicing.services import invoice_pay
from subscriptions import services
from subscriptions.models import Coupon
from subscriptions.selectors import account_status
from tests.builders import invite, make_account, make_coupon, make_plan, owner_of, usd

pytestmark = pytest.mark.django_db

NOV1 = date(2026, 11, 1)


def reasons(obj) -> list[str]:
    return list(obj.history.order_by("history_date", "history_id").values_list("history_change_reason", flat=True))


def invoices(account) -> list[Invoice]:
    return list(Invoice.objects.filter(account=account).order_by("issued_on", "id"))


def test_the_daily_runs_lock_and_the_unlock_on_payment_are_in_the_accounts_history():
    account = make_account()
    services.subscription_create(account=account, plan=make_plan(), cycle="monthly", on=NOV1)
    [inv] = invoices(account)
    # locked on issued_on + 14 grace days = Nov 15
    services.billing_run(on=date(2026, 11, 15), accounts=[account])
    account.refresh_from_db()
    assert account.locked_on == date(2026, 11, 15)
    invoice_pay(invoice=inv, on=date(2026, 11, 16))
    account.refresh_from_db()
    assert account.locked_on is None
    *_, locked, unlocked = account.history.order_by("history_date", "history_id")
    assert (locked.history_type, locked.locked_on) == ("~", date(2026, 11, 15))
    assert locked.history_change_reason == f"Locked: {inv.number} unpaid past its grace days"
    assert (unlocked.locked_on, unlocked.history_change_reason) == (None, "Unlocked: nothing unpaid past its lock day")


def test_a_second_overdue_invoice_neither_locks_again_nor_counts():
    account = make_account()
    plan = make_plan()
    services.subscription_create(account=account, plan=plan, cycle="monthly", on=NOV1)
    invite(account, 1, on=date(2026, 11, 2))  # a seat-add invoice, issued Nov 2
    assert len(invoices(account)) == 2
    summary = services.dunning_run(on=date(2026, 11, 20), accounts=[account])
    assert summary == {"locked": 1}
    assert len([r for r in reasons(account) if r and r.startswith("Locked: INV-")]) == 1


def test_support_unlock_records_who_and_why():
    account = make_account()
    Account.objects.filter(pk=account.pk).update(locked_on=NOV1)
    staff = owner_of(account)
    services.account_unlock(account=account, on=date(2026, 11, 2), by=staff, reason="Paid by phone")
    last = account.history.latest("history_date")
    assert (last.locked_on, last.history_user, last.history_change_reason) == (None, staff, "Paid by phone")


def test_redeeming_a_coupon_writes_a_coupon_history_row_with_the_count():
    coupon = make_coupon()
    account = make_account()
    services.subscription_create(account=account, plan=make_plan(), cycle="monthly", on=NOV1, coupon=coupon.code)
    row = Coupon.history.filter(id=coupon.pk).latest("history_date")
    assert (row.history_type, row.times_redeemed) == ("~", 1)
    assert row.history_change_reason.startswith(f"Redeemed by {account}")


def paid_purchase_and_open_seat_add():
    """A purchase paid by bank transfer on Nov 1 under a 30-day guarantee, and a seat-add invoice of Nov 10."""
    account = make_account()  # pays by bank transfer: nothing is collected by itself
    plan = make_plan(refund_window_days=30)
    sub = services.subscription_create(account=account, plan=plan, cycle="monthly", on=NOV1)
    [first] = invoices(account)
    invoice_pay(invoice=first, on=NOV1)
    invite(account, 1, on=date(2026, 11, 10))
    [_, seat_add] = invoices(account)
    return account, sub, first, seat_add


def assert_expired_and_never_locked(account):
    """A month on, the daily run finds nothing owed: the account is expired, not locked."""
    services.billing_run(on=date(2026, 12, 12), accounts=[account])
    account.refresh_from_db()
    assert account.locked_on is None
    assert account_status(account) == "expired"


def test_the_money_back_guarantee_voids_open_invoices_and_the_account_expires_unlocked():
    account, sub, first, seat_add = paid_purchase_and_open_seat_add()
    assert (seat_add.reason, seat_add.status) == ("seats", "open")

    refunds = services.subscription_request_refund(subscription=sub, on=date(2026, 11, 12))

    # the paid purchase comes back in full: 7.00; the unpaid seat-add invoice is void
    assert [(r.invoice_id, r.amount) for r in refunds] == [(first.pk, usd("7.00"))]
    assert Refund.objects.filter(invoice__account=account).count() == 1
    seat_add.refresh_from_db()
    assert seat_add.status == "void"
    assert seat_add.history.latest("history_date").history_change_reason == services.REFUND_VOID_REASON
    sub.refresh_from_db()
    assert sub.status == "expired"

    assert_expired_and_never_locked(account)


def test_going_back_to_bank_transfer_is_in_the_accounts_history():
    from invoicing.stripe_services import payment_method_remove

    account = make_account()
    Account.objects.filter(pk=account.pk).update(payment_gateway=Account.Gateway.STRIPE)
    payment_method_remove(account=account)
    last = account.history.latest("history_date")
    assert (last.payment_gateway, last.history_change_reason) == (
        "bank_transfer",
        "Card removed; pays by bank transfer",
    )


def test_the_money_back_guarantee_refunds_a_partly_paid_open_invoice_then_voids_it():
    account, sub, first, seat_add = paid_purchase_and_open_seat_add()
    invoice_pay(invoice=seat_add, on=date(2026, 11, 11), amount=usd("1.00"))  # part of what is due
    seat_add.refresh_from_db()
    assert (seat_add.status, seat_add.amount_paid) == ("open", usd("1.00"))

    refunds = services.subscription_request_refund(subscription=sub, on=date(2026, 11, 12))

    assert [(r.invoice_id, r.amount) for r in refunds] == [(first.pk, usd("7.00")), (seat_add.pk, usd("1.00"))]
    seat_add.refresh_from_db()
    assert seat_add.status == "void"
    assert_expired_and_never_locked(account)


def test_a_partly_paid_invoice_is_not_voided_until_its_payment_is_refunded():
    from common.errors import Refused
    from invoicing.services import invoice_refund, invoice_void

    account = make_account()
    services.subscription_create(account=account, plan=make_plan(), cycle="monthly", on=NOV1)
    [inv] = invoices(account)
    invoice_pay(invoice=inv, on=NOV1, amount=usd("2.00"))
    with pytest.raises(Refused, match="partly paid"):
        invoice_void(invoice=inv, on=NOV1)
    assert Invoice.objects.get(pk=inv.pk).status == "open"
    invoice_refund(invoice=inv, on=NOV1, reason="Paid by mistake")
    assert invoice_void(invoice=inv, on=NOV1).status == "void"
