"""Trials, coupons, money-back refunds, dunning and reminders (SPEC §2.4–2.5), against the database."""

import threading
from datetime import date, timedelta

import pytest
from django.core import mail
from django.db import connection

from accounts.models import Account
from common.errors import Refused
from invoicing.models import Invoice, Refund
from invoicing.services import invoice_pay
from subscriptions import services
from subscriptions.models import Coupon, CouponRedemption, Subscription
from subscriptions.selectors import account_status
from tests.builders import archive, invite, make_account, make_coupon, make_plan, snapshot, usd

pytestmark = pytest.mark.django_db

NOV1, NOV15, DEC1 = date(2026, 11, 1), date(2026, 11, 15), date(2026, 12, 1)


def subscribe(account, plan, *, cycle="monthly", on=NOV1, **kw) -> Subscription:
    return services.subscription_create(account=account, plan=plan, cycle=cycle, on=on, **kw)


def invoices(account) -> list[Invoice]:
    return list(Invoice.objects.filter(account=account).order_by("issued_on", "id"))


def refresh(obj):
    obj.refresh_from_db()
    return obj


def pay_all(account, on):
    for inv in Invoice.objects.filter(account=account, status="open"):
        invoice_pay(invoice=inv, on=on)


@pytest.fixture
def stripe_on(settings):
    """Stripe configured, so a card account without a card on file has no way to pay."""
    settings.STRIPE_SECRET_KEY, settings.STRIPE_PUBLISHABLE_KEY = "sk_test_x", "pk_test_x"


def reminders() -> list:
    """Reminder emails: the invoice email itself (with its PDF) is the PDF helper's."""
    return [m for m in mail.outbox if not m.attachments]


def run_days(account, first: date, last: date, *, twice=False, run=services.billing_run):
    day = first
    while day <= last:
        for _ in range(2 if twice else 1):
            run(on=day, accounts=[account])
        day += timedelta(days=1)


# ---------------------------------------------------------------- trials


def test_trial_issues_nothing_and_seats_change_freely():
    account = make_account()
    sub = subscribe(account, make_plan(trial_days=14), trial=True)
    assert (sub.status, sub.period_start, sub.trial_end) == ("trialing", NOV1, NOV15)
    invite(account, 3, on=date(2026, 11, 5))
    archive(account, 1, on=date(2026, 11, 8))
    run_days(account, NOV1, date(2026, 11, 14))
    assert invoices(account) == []
    assert refresh(sub).paid_seats == 3
    services.billing_run(on=NOV15, accounts=[account])
    # trial over: 3 seats in use × 7.00 = 21.00 for [Nov 15, Dec 15)
    [first] = invoices(account)
    assert (first.issued_on, first.reason, first.total) == (NOV15, "purchase", usd("21.00"))
    assert (refresh(sub).status, sub.period_start, sub.period_end) == ("active", NOV15, date(2026, 12, 15))


def test_trial_ends_with_at_least_the_minimum():
    account = make_account()
    subscribe(account, make_plan(trial_days=14), trial=True, minimum_seats=3)
    services.billing_run(on=NOV15, accounts=[account])
    # max(1 in use, minimum 3) × 7.00 = 21.00
    assert invoices(account)[0].total == usd("21.00")


def test_trial_expires_at_its_end_without_a_way_to_pay(stripe_on):
    account = make_account(payment_gateway=Account.Gateway.STRIPE)
    sub = subscribe(account, make_plan(trial_days=14), trial=True)
    services.billing_run(on=NOV15, accounts=[account])
    assert (refresh(sub).status, sub.expired_on, invoices(account)) == ("expired", NOV15, [])
    assert account_status(account) == "expired"


def test_canceled_trial_expires_at_its_end_without_an_invoice():
    account = make_account()
    sub = subscribe(account, make_plan(trial_days=14), trial=True)
    services.subscription_cancel(subscription=sub, on=date(2026, 11, 5))
    services.billing_run(on=NOV15, accounts=[account])
    assert (refresh(sub).status, invoices(account)) == ("expired", [])


def test_trial_offer_comes_off_the_first_monthly_invoice():
    account = make_account()
    invite(account, 1, on=NOV1)
    sub = subscribe(account, make_plan(trial_days=14, trial_offer=usd("5.00")), trial=True)
    services.subscription_accept_trial_offer(subscription=sub, on=date(2026, 11, 3))
    services.billing_run(on=NOV15, accounts=[account])
    # 2 × 7.00 = 14.00 − 5.00 offer = 9.00
    first = invoices(account)[0]
    assert (first.subtotal, first.discount, first.total) == (usd("14.00"), usd("5.00"), usd("9.00"))
    services.billing_run(on=date(2026, 12, 15), accounts=[account])
    # the next renewal is full price: 14.00
    assert invoices(account)[-1].total == usd("14.00")


def test_trial_offer_lost_by_choosing_annual():
    account = make_account()
    sub = subscribe(account, make_plan(trial_days=14, trial_offer=usd("5.00")), trial=True)
    services.subscription_accept_trial_offer(subscription=sub, on=date(2026, 11, 3))
    services.subscription_switch_cycle(subscription=sub, cycle="annual", on=date(2026, 11, 4))
    assert refresh(sub).trial_offer_accepted is False
    services.billing_run(on=NOV15, accounts=[account])
    # annual 1 × 60.00, no offer
    first = invoices(account)[0]
    assert (first.discount, first.total) == (usd("0.00"), usd("60.00"))
    assert (refresh(sub).cycle, sub.period_end) == ("annual", date(2027, 11, 15))


def test_trial_offer_only_during_the_trial():
    account = make_account()
    sub = subscribe(account, make_plan(trial_offer=usd("5.00")))
    with pytest.raises(Refused, match="only be taken during the trial"):
        services.subscription_accept_trial_offer(subscription=sub, on=date(2026, 11, 3))


def test_trial_reminder_three_days_before_the_end_once(django_capture_on_commit_callbacks):
    account = make_account()
    subscribe(account, make_plan(name="Pro", trial_days=14), trial=True)
    with django_capture_on_commit_callbacks(execute=True):
        for day in range(8, 15):  # Nov 8 … Nov 14, each day twice
            services.dunning_run(on=date(2026, 11, day), accounts=[account])
            services.dunning_run(on=date(2026, 11, day), accounts=[account])
    # trial ends Nov 15: one reminder, on Nov 12
    assert [m.subject for m in mail.outbox] == ["Your Pro trial ends on Nov 15, 2026"]
    assert "From then on you are billed monthly" in mail.outbox[0].body
    assert mail.outbox[0].to == [account.memberships.get(role="owner").email]
    assert refresh(Subscription.objects.get(account=account)).trial_reminder_sent_on == date(2026, 11, 12)


def test_an_extended_trial_is_reminded_again(django_capture_on_commit_callbacks):
    account = make_account()
    sub = subscribe(account, make_plan(name="Pro", trial_days=14), trial=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.dunning_run(on=date(2026, 11, 12), accounts=[account])
    services.subscription_extend_trial(subscription=sub, days=7, on=date(2026, 11, 13))
    for day in (13, 18, 19, 20):
        with django_capture_on_commit_callbacks(execute=True):
            services.dunning_run(on=date(2026, 11, day), accounts=[account])
    # ends Nov 15, then Nov 22: one reminder for each end, the second on Nov 19
    assert [m.subject for m in mail.outbox] == [
        "Your Pro trial ends on Nov 15, 2026",
        "Your Pro trial ends on Nov 22, 2026",
    ]


def test_trial_reminder_warns_when_there_is_no_way_to_pay(stripe_on, django_capture_on_commit_callbacks):
    account = make_account(payment_gateway=Account.Gateway.STRIPE, billing_email="ap@acme.example")
    subscribe(account, make_plan(trial_days=14), trial=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.dunning_run(on=date(2026, 11, 12), accounts=[account])
    [message] = mail.outbox
    assert message.to == ["ap@acme.example"]
    assert "will end with the trial" in message.body


# ---------------------------------------------------------------- money-back guarantee


def test_refund_on_the_last_day_of_the_window():
    account = make_account()
    sub = subscribe(account, make_plan(refund_window_days=30))
    invite(account, 1, on=date(2026, 11, 10))
    pay_all(account, date(2026, 11, 10))
    # Nov 1 + 30 days = Dec 1, the last day: every paid invoice refunded (7.00 and 7.00 × 20/30 = 4.67)
    refunds = services.subscription_request_refund(subscription=sub, on=DEC1)
    assert sorted(r.amount for r in refunds) == [usd("4.67"), usd("7.00")]
    assert Refund.objects.filter(invoice__account=account).count() == 2
    assert (refresh(sub).status, sub.expired_on) == ("expired", DEC1)
    assert account_status(account) == "expired"


def test_refund_the_day_after_the_window_is_refused_with_the_date():
    account = make_account()
    sub = subscribe(account, make_plan(refund_window_days=30))
    pay_all(account, NOV1)
    before = snapshot(account)
    with pytest.raises(Refused, match=r"The money-back guarantee ended on Dec 1, 2026\.") as exc:
        services.subscription_request_refund(subscription=sub, on=date(2026, 12, 2))
    assert exc.value.code == "refund_window_over"
    assert snapshot(account) == before
    assert Refund.objects.count() == 0


def test_refund_without_a_guarantee_is_refused():
    account = make_account()
    sub = subscribe(account, make_plan())
    pay_all(account, NOV1)
    with pytest.raises(Refused, match="has no money-back guarantee"):
        services.subscription_request_refund(subscription=sub, on=date(2026, 11, 2))


# ---------------------------------------------------------------- dunning


def unpaid(grace_days=14):
    account = make_account()
    sub = subscribe(account, make_plan(grace_days=grace_days))
    return account, sub, invoices(account)[0]


def test_open_invoice_past_due_makes_the_subscription_past_due():
    account, sub, _ = unpaid()
    services.dunning_run(on=NOV1, accounts=[account])
    assert refresh(sub).status == "active"
    services.dunning_run(on=date(2026, 11, 2), accounts=[account])
    assert refresh(sub).status == "past_due"


def test_lock_exactly_on_issued_on_plus_grace_days():
    account, _, _ = unpaid(grace_days=14)
    services.dunning_run(on=date(2026, 11, 14), accounts=[account])
    # Nov 1 + 14 = Nov 15: not the day before
    assert refresh(account).locked_on is None
    services.dunning_run(on=NOV15, accounts=[account])
    assert refresh(account).locked_on == NOV15
    assert account_status(account) == "locked"


def test_payment_unlocks_at_once():
    account, sub, inv = unpaid()
    services.dunning_run(on=NOV15, accounts=[account])
    invoice_pay(invoice=inv, on=date(2026, 11, 20))
    assert (refresh(account).locked_on, refresh(sub).status) == (None, "active")
    assert account_status(account) == "active"


def test_paying_one_of_two_overdue_invoices_keeps_the_lock():
    account, _, first = unpaid()
    invite(account, 1, on=date(2026, 11, 2))
    services.dunning_run(on=date(2026, 11, 16), accounts=[account])
    invoice_pay(invoice=first, on=date(2026, 11, 16))
    # the Nov 2 invoice reaches its lock day on Nov 16 too: still locked
    assert refresh(account).locked_on == NOV15 + timedelta(days=1)


def test_reminders_at_due_date_and_before_the_lock_once(settings, django_capture_on_commit_callbacks):
    settings.BANK_TRANSFER_PAYMENT_TERMS_DAYS = 7
    account, _, inv = unpaid(grace_days=14)
    assert inv.due_on == date(2026, 11, 8)
    with django_capture_on_commit_callbacks(execute=True):
        run_days(account, NOV1, date(2026, 11, 20), twice=True, run=services.dunning_run)
    # due Nov 8 → one reminder; lock Nov 15 → one warning on Nov 12; nothing after the lock
    assert [m.subject for m in reminders()] == [
        f"Invoice {inv.number} is due",
        f"Acme will be locked on Nov 15, 2026: invoice {inv.number} is unpaid",
    ]
    assert [r["kind"] for r in refresh(inv).reminders_sent] == ["due", "lock"]
    assert [r["on"] for r in inv.reminders_sent] == ["2026-11-08", "2026-11-12"]
    assert "$7.00" in reminders()[0].body


def test_no_due_reminder_when_the_invoice_was_due_on_issue(django_capture_on_commit_callbacks):
    account, _, inv = unpaid(grace_days=14)
    with django_capture_on_commit_callbacks(execute=True):
        run_days(account, NOV1, date(2026, 11, 16), twice=True, run=services.dunning_run)
    # the invoice email said "due today"; only the lock warning follows, on Nov 12
    assert [m.subject for m in reminders()] == [f"Acme will be locked on Nov 15, 2026: invoice {inv.number} is unpaid"]


def test_no_reminder_for_a_paid_invoice(django_capture_on_commit_callbacks):
    account, _, inv = unpaid(grace_days=14)
    invoice_pay(invoice=inv, on=date(2026, 11, 2))
    with django_capture_on_commit_callbacks(execute=True):
        run_days(account, NOV1, date(2026, 11, 16), run=services.dunning_run)
    assert reminders() == []


# ---------------------------------------------------------------- coupons


def coupon_refused(sub, code, message):
    account = sub.account
    before = snapshot(account), CouponRedemption.objects.count(), list(Coupon.objects.values_list("times_redeemed"))
    with pytest.raises(Refused, match=message) as exc:
        services.subscription_apply_coupon(subscription=sub, code=code, on=date(2026, 11, 10))
    assert (
        snapshot(account),
        CouponRedemption.objects.count(),
        list(Coupon.objects.values_list("times_redeemed")),
    ) == before
    return exc.value


def test_coupon_for_new_customers_only_names_its_reason():
    make_coupon("WELCOME25", new_customers_only=True)
    sub = subscribe(make_account(), make_plan())
    assert coupon_refused(sub, "WELCOME25", r"^WELCOME25 is for new customers only\.$").code == "coupon_new_only"


def test_an_expired_trial_is_not_a_new_customer(stripe_on):
    make_coupon("WELCOME25", new_customers_only=True)
    account = make_account(payment_gateway=Account.Gateway.STRIPE)
    plan = make_plan(trial_days=14)
    subscribe(account, plan, trial=True)
    services.billing_run(on=NOV15, accounts=[account])
    with pytest.raises(Refused, match=r"^WELCOME25 is for new customers only\.$"):
        subscribe(account, plan, on=date(2026, 12, 1), coupon="WELCOME25")
    assert Subscription.objects.filter(account=account).count() == 1


def test_a_trial_may_redeem_a_new_customer_coupon():
    make_coupon("WELCOME25", new_customers_only=True)
    account = make_account()
    sub = subscribe(account, make_plan(trial_days=14), trial=True)
    services.subscription_apply_coupon(subscription=sub, code="WELCOME25", on=date(2026, 11, 5))
    services.billing_run(on=NOV15, accounts=[account])
    # first paid month: 7.00 − 25% = 5.25
    assert invoices(account)[0].total == usd("5.25")


def test_coupon_excluded_cycle_names_its_reason():
    make_coupon("MONTHLY25", valid_annual=False)
    sub = subscribe(make_account(), make_plan(), cycle="annual")
    assert coupon_refused(sub, "MONTHLY25", r"^MONTHLY25 is not valid with annual billing\.$").code == "coupon_cycle"


def test_expired_coupon_names_its_date():
    make_coupon("FALL", redeem_by=date(2026, 10, 31))
    sub = subscribe(make_account(), make_plan())
    assert coupon_refused(sub, "FALL", r"^FALL expired on Oct 31, 2026\.$").code == "coupon_expired"


def test_fully_redeemed_coupon_is_refused():
    make_coupon("FIRST100", max_redemptions=1)
    subscribe(make_account("First"), make_plan(), coupon="FIRST100")
    sub = subscribe(make_account("Second"), Subscription.objects.get().plan)
    assert coupon_refused(sub, "FIRST100", r"^FIRST100 has been fully redeemed\.$").code == "coupon_used_up"
    assert Coupon.objects.get(code="FIRST100").times_redeemed == 1


def test_one_coupon_at_a_time():
    make_coupon("SAVE25")
    make_coupon("SAVE10", percent_off=10)
    sub = subscribe(make_account(), make_plan(), coupon="SAVE25")
    assert coupon_refused(sub, "SAVE10", r"^SAVE25 is already active; one coupon at a time\.$").code == "coupon_one"


def test_unknown_coupon_is_refused():
    sub = subscribe(make_account(), make_plan())
    coupon_refused(sub, "NOPE", r"^NOPE is not a valid coupon\.$")


def test_subscribe_naming_a_refused_coupon_is_refused_as_a_whole():
    make_coupon("MONTHLY25", valid_annual=False)
    account = make_account()
    with pytest.raises(Refused, match="not valid with annual billing"):
        subscribe(account, make_plan(), cycle="annual", coupon="MONTHLY25")
    assert (Subscription.objects.count(), invoices(account), refresh(account).currency) == (0, [], "")


def test_coupon_at_purchase_discounts_the_first_periods():
    make_coupon("WELCOME25", duration_periods=2)
    account = make_account()
    subscribe(account, make_plan(), coupon="WELCOME25")
    invite(account, 1, on=NOV15)
    run_days(account, DEC1, DEC1)
    services.billing_run(on=date(2027, 1, 1), accounts=[account])
    # Nov: 7.00 − 25% = 5.25; seat Nov 15: 3.50 − 0.875 → 3.50 − 0.88 = 2.62;
    # Dec: 14.00 − 3.50 = 10.50; Jan: used up, 14.00
    assert [i.total for i in invoices(account)] == [usd("5.25"), usd("2.62"), usd("10.50"), usd("14.00")]


def test_coupon_redeemed_after_purchase_starts_at_the_next_renewal():
    make_coupon("SAVE25", duration_periods=1)
    account = make_account()
    sub = subscribe(account, make_plan())
    services.subscription_apply_coupon(subscription=sub, code="save25", on=date(2026, 11, 10))
    invite(account, 1, on=NOV15)
    # this period is not discounted: 7.00 × 15/30 = 3.50
    assert invoices(account)[-1].total == usd("3.50")
    services.billing_run(on=DEC1, accounts=[account])
    services.billing_run(on=date(2027, 1, 1), accounts=[account])
    # Dec: 2 × 7.00 = 14.00 − 25% = 10.50; Jan: 14.00
    assert [i.total for i in invoices(account)[-2:]] == [usd("10.50"), usd("14.00")]


def test_coupon_excluding_annual_is_ended_by_a_switch_and_credit_is_what_was_charged():
    make_coupon("WELCOME25", duration_periods=2, valid_annual=False)
    account = make_account()
    sub = subscribe(account, make_plan(), coupon="WELCOME25")
    # Nov: 7.00 − 25% = 5.25 charged
    assert invoices(account)[0].total == usd("5.25")
    services.subscription_switch_cycle(subscription=sub, cycle="annual", on=date(2026, 11, 10))
    # credit what was charged: −7.00 × 0.75 × 20/30 = −3.50; annual 60.00, no coupon; total 56.50
    switch = invoices(account)[-1]
    assert sorted(line.amount for line in switch.lines.all()) == [usd("-3.50"), usd("60.00")]
    assert (switch.discount, switch.total) == (usd("0.00"), usd("56.50"))
    redemption = CouponRedemption.objects.get()
    assert (redemption.ended_on, redemption.ended_reason) == (
        date(2026, 11, 10),
        "WELCOME25 is not valid with annual billing",
    )


def test_credit_for_unused_time_is_the_share_actually_charged():
    make_coupon("SAVE25", duration_periods=2)
    account = make_account()
    sub = subscribe(account, make_plan(), coupon="SAVE25")
    services.subscription_switch_cycle(subscription=sub, cycle="annual", on=date(2026, 11, 10))
    # credit −7.00 × 0.75 × 20/30 = −3.50; annual 60.00 − 25% (15.00, second period of the coupon); total 41.50
    switch = invoices(account)[-1]
    assert (switch.subtotal, switch.discount, switch.total) == (usd("56.50"), usd("15.00"), usd("41.50"))


def test_credit_after_the_trial_offer_is_what_was_charged():
    account = make_account()
    sub = subscribe(account, make_plan(trial_days=14, trial_offer=usd("5.00")), trial=True)
    services.subscription_accept_trial_offer(subscription=sub, on=date(2026, 11, 3))
    services.billing_run(on=NOV15, accounts=[account])
    # first month [Nov 15, Dec 15): 7.00 − 5.00 offer = 2.00 charged
    assert invoices(account)[0].total == usd("2.00")
    services.subscription_switch_cycle(subscription=sub, cycle="annual", on=date(2026, 11, 24))
    # credit Nov 25 – Dec 15 of what was charged: −2.00 × 20/30 = −1.33 (not −7.00 × 20/30 = −4.67); + 60.00 = 58.67
    switch = invoices(account)[-1]
    assert sorted(line.amount for line in switch.lines.all()) == [usd("-1.33"), usd("60.00")]
    assert switch.total == usd("58.67")


def test_credit_after_an_amount_off_coupon_is_what_was_charged():
    make_coupon("FIVE", percent_off=None, amount_off=usd("5.00"))
    account = make_account()
    sub = subscribe(account, make_plan(), coupon="FIVE")
    # Nov: 7.00 − 5.00 = 2.00 charged
    assert invoices(account)[0].total == usd("2.00")
    services.subscription_switch_cycle(subscription=sub, cycle="annual", on=date(2026, 11, 10))
    # credit −2.00 × 20/30 = −1.33; annual 60.00 (the one-period coupon is used up); total 58.67
    assert invoices(account)[-1].total == usd("58.67")


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks under concurrency need PostgreSQL")
def test_coupon_limit_holds_under_concurrency():
    make_coupon("ONLYONE", max_redemptions=1)
    plan = make_plan()
    subs = [subscribe(make_account(f"Team {n}"), plan) for n in range(4)]
    barrier = threading.Barrier(len(subs))
    outcomes = []

    def redeem(sub):
        try:
            barrier.wait()
            services.subscription_apply_coupon(subscription=sub, code="ONLYONE", on=date(2026, 11, 10))
            outcomes.append("ok")
        except Refused as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem, args=(sub,)) for sub in subs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["coupon_used_up"] * 3 + ["ok"]
    assert (Coupon.objects.get().times_redeemed, CouponRedemption.objects.count()) == (1, 1)
