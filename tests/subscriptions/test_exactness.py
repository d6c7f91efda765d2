"""Issue 16 through the services: the rules behind tests/scenarios/16_*.json on every path, arithmetic in comments."""

from datetime import date
from decimal import Decimal

import pytest

from accounts.services import membership_archive_many
from common.errors import Refused
from invoicing.models import CreditNote, Invoice
from invoicing.selectors import credit_balance
from subscriptions import services
from subscriptions.models import Coupon, SeatRemoval, Subscription, SwitchDocuments
from subscriptions.previews import preview
from tests.builders import archive, invite, make_account, make_plan, snapshot, usd

pytestmark = pytest.mark.django_db

JAN1 = date(2026, 1, 1)


def subscribe(account, plan, *, cycle="monthly", on=JAN1, **kw) -> Subscription:
    return services.subscription_create(account=account, plan=plan, cycle=cycle, on=on, **kw)


def invoices(account) -> list[Invoice]:
    return list(Invoice.objects.filter(account=account).order_by("issued_on", "id"))


# ---------------------------------------------------------------- item 3: the anchor day


def test_support_switch_to_monthly_keeps_the_annual_anchor_day():
    account = make_account(on=date(2028, 2, 29))
    sub = subscribe(account, make_plan(monthly="10.00", annual="100.00"), cycle="annual", on=date(2028, 2, 29))
    services.subscription_switch_cycle(subscription=sub, cycle="monthly", on=date(2028, 6, 1), by_support=True)
    services.billing_run(on=date(2029, 3, 29), accounts=[account])
    sub.refresh_from_db()
    # [2028-02-29, 2029-02-28) annual, then monthly from the anchor day 29: Feb 28 → Mar 29 → Apr 29
    assert [i.issued_on for i in invoices(account)] == [date(2028, 2, 29), date(2029, 2, 28), date(2029, 3, 29)]
    assert (sub.cycle, sub.period_start, sub.period_end) == ("monthly", date(2029, 3, 29), date(2029, 4, 29))


# ---------------------------------------------------------------- item 4: what was charged


def test_credit_after_a_discounted_switch_is_of_what_the_switch_charged():
    account = make_account()
    plan = make_plan("alpha", monthly="10.00", annual="100.00", seat_removal=SeatRemoval.CREDIT_PRORATED)
    Coupon.objects.create(code="AMT", amount_off=usd("20.00"), duration_periods=None)
    invite(account, 1, on=JAN1)
    sub = subscribe(account, plan, coupon="AMT")
    services.subscription_switch_cycle(subscription=sub, cycle="annual", on=date(2026, 1, 10))
    # the switch charged 2 × 100.00 = 200.00 less 20.00: 90% of the list price
    members = list(account.memberships.filter(role="member"))
    membership_archive_many(memberships=members, on=date(2026, 2, 10))
    # 1 seat × 100.00 × 0.9 × 334/365 (Feb 11, 2026 – Jan 10, 2027) = 82.356 → 82.36
    note = CreditNote.objects.get(account=account)
    assert note.total == usd("82.36")


# ---------------------------------------------------------------- items 5–7: limits on every path


def test_max_seats_refuses_invites_that_paid_seats_would_cover():
    account = make_account()
    plan = make_plan("free", monthly="1.00", annual=None, name="Free", max_seats=3)
    subscribe(account, plan, minimum_seats=5)
    before = snapshot(account)
    with pytest.raises(Refused) as refused:
        invite(account, 3, on=date(2026, 1, 2))
    assert refused.value.message == "The Free plan allows at most 3 users."
    assert snapshot(account) == before
    invite(account, 2, on=date(2026, 1, 3))  # 3 users: at the limit, not over it


def test_leaving_a_plan_over_its_limit_is_never_refused():
    account = make_account()
    plan = make_plan("free", monthly="1.00", annual=None, name="Free", max_seats=5)
    subscribe(account, plan)
    invite(account, 4, on=date(2026, 1, 2))
    plan.max_seats = 2  # support lowered it
    plan.save()
    archive(account, 1, on=date(2026, 1, 3))  # 4 users on a plan of 2: going down is allowed


def test_fixed_seats_below_the_minimum_refuse_invites_after_renewal_too():
    account = make_account()
    sub = subscribe(account, make_plan(seat_mode="fixed", monthly="10.00"), seats=1, minimum_seats=2)
    services.billing_run(on=date(2026, 2, 1), accounts=[account])
    sub.refresh_from_db()
    # renewal charges max(1 bought, 2 minimum) = 2 seats; 1 stays bought
    assert (sub.bought_seats, sub.paid_seats, invoices(account)[-1].total) == (1, 2, usd("20.00"))
    with pytest.raises(Refused, match="All 1 seats are taken"):
        invite(account, 1, on=date(2026, 2, 5))


def test_plan_change_refused_when_bought_seats_exceed_the_new_plan_limit():
    account = make_account()
    sub = subscribe(account, make_plan("alpha", seat_mode="fixed", monthly="10.00"), seats=6)
    beta = make_plan("beta", seat_mode="fixed", monthly="20.00", max_seats=3, name="Beta")
    before = snapshot(account)
    with pytest.raises(Refused) as refused:
        services.subscription_change_plan(subscription=sub, plan=beta, on=date(2026, 1, 11))
    assert refused.value.message == "The Beta plan allows at most 3 users."
    assert snapshot(account) == before


def test_plan_change_from_auto_to_fixed_checks_the_seats_it_would_buy():
    account = make_account()
    invite(account, 3, on=JAN1)
    sub = subscribe(account, make_plan("alpha", monthly="10.00"), minimum_seats=5)  # 5 paid, 4 in use
    small = make_plan("small", seat_mode="fixed", monthly="20.00", max_seats=4, name="Small")
    with pytest.raises(Refused, match=r"The Small plan allows at most 4 users\."):
        services.subscription_change_plan(subscription=sub, plan=small, on=date(2026, 1, 11))


# ---------------------------------------------------------------- switch_documents (SPEC §2.4)


def timebook(switch_documents, tax_rate="0"):
    """Timebook's April 10 switch: Apr 1 monthly, 3 seats × 10.00; Apr 10 to annual (3 × 100.00)."""
    account = make_account(on=date(2026, 3, 25), tax_rate=Decimal(tax_rate))
    plan = make_plan(f"team-{switch_documents}", monthly="10.00", annual="100.00", switch_documents=switch_documents)
    invite(account, 2, on=date(2026, 3, 25))
    sub = subscribe(account, plan, on=date(2026, 4, 1))
    invoice = services.subscription_switch_cycle(subscription=sub, cycle="annual", on=date(2026, 4, 10))
    return account, invoice


@pytest.mark.parametrize("tax_rate", ["0", "0.2", "0.07"])
def test_two_switch_documents_ask_what_one_invoice_does(tax_rate):
    one_account, one = timebook(SwitchDocuments.ONE_INVOICE, tax_rate)
    two_account, two = timebook(SwitchDocuments.CREDIT_NOTE_AND_INVOICE, tax_rate)
    # credit 3 × 10.00 × 20/30 = 20.00; annual 300.00.  One invoice: 280.00 + tax.
    # Two: a credit note of 20.00 + the tax it takes off, then 300.00 + tax less that credit.
    note = CreditNote.objects.get(account=two_account)
    assert note.reason == CreditNote.Reason.CYCLE_SWITCH and note.issued_on == date(2026, 4, 10)
    assert note.lines.first().amount == usd("20.00")
    assert two.credit_applied == note.total and two.subtotal == usd("300.00")
    assert two.amount_due == one.amount_due
    assert credit_balance(two_account) == credit_balance(one_account) == usd("0.00")
    assert note.pk and note.created_at <= two.created_at  # the note first


def test_two_switch_documents_with_tax_20_percent():
    account, invoice = timebook(SwitchDocuments.CREDIT_NOTE_AND_INVOICE, "0.2")
    note = CreditNote.objects.get(account=account)
    # one invoice: (300.00 − 20.00) × 1.2 = 336.00; the invoice alone: 300.00 × 1.2 = 360.00;
    # the note: 360.00 − 336.00 = 24.00 (20.00 + 4.00 tax); due 360.00 − 24.00 = 336.00
    assert [line.amount for line in note.lines.order_by("id")] == [usd("20.00"), usd("4.00")]
    assert (note.total, invoice.total, invoice.credit_applied, invoice.amount_due) == (
        usd("24.00"),
        usd("360.00"),
        usd("24.00"),
        usd("336.00"),
    )


def test_the_switch_preview_shows_both_documents():
    account = make_account(on=date(2026, 3, 25))
    plan = make_plan("team", monthly="10.00", annual="100.00", switch_documents="credit_note_and_invoice")
    invite(account, 2, on=date(2026, 3, 25))
    sub = subscribe(account, plan, on=date(2026, 4, 1))
    shown = preview(services.subscription_switch_cycle, subscription=sub, cycle="annual", on=date(2026, 4, 10))
    assert [n.total for n in shown.credit_notes] == [usd("20.00")]
    assert [(i.total, i.credit_applied, i.amount_due) for i in shown.invoices] == [
        (usd("300.00"), usd("20.00"), usd("280.00"))
    ]
    assert not CreditNote.objects.filter(account=account).exists()
