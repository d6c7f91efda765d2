"""Subscription services against the database: one test per rule of SPEC §2.3–2.4, arithmetic in comments."""

import io
import json
import threading
from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection

from common.errors import Refused
from invoicing.models import CreditNote, Invoice, InvoiceLine
from invoicing.selectors import credit_balance
from invoicing.services import invoice_pay
from subscriptions import services
from subscriptions.models import Subscription
from tests.builders import archive, invite, make_account, make_plan, snapshot, usd

pytestmark = pytest.mark.django_db

NOV1, DEC1 = date(2026, 11, 1), date(2026, 12, 1)


def subscribe(account, plan, *, cycle="monthly", on=NOV1, **kw) -> Subscription:
    return services.subscription_create(account=account, plan=plan, cycle=cycle, on=on, **kw)


def invoices(account) -> list[Invoice]:
    return list(Invoice.objects.filter(account=account).order_by("issued_on", "id"))


def refresh(sub: Subscription) -> Subscription:
    sub.refresh_from_db()
    return sub


# ---------------------------------------------------------------- purchase and renewal


def test_purchase_invoices_the_first_period_in_advance():
    account = make_account()
    sub = subscribe(account, make_plan())
    # 1 seat (the owner) × 7.00 = 7.00 for [Nov 1, Dec 1)
    [inv] = invoices(account)
    assert (inv.number, inv.issued_on, inv.total, inv.reason) == ("INV-2026-000001", NOV1, usd("7.00"), "purchase")
    assert (sub.period_start, sub.period_end, sub.paid_seats) == (NOV1, DEC1, 1)
    assert account.currency == "USD"


def test_renewal_resets_paid_seats_and_charges_the_period():
    account = make_account()
    plan = make_plan()
    invite(account, 2, on=date(2026, 10, 31))
    sub = subscribe(account, plan)
    archive(account, 1, on=date(2026, 11, 10))
    services.billing_run(on=DEC1, accounts=[account])
    # renewal: seats in use 2 × 7.00 = 14.00 for [Dec 1, Jan 1)
    renewal = invoices(account)[-1]
    assert (renewal.reason, renewal.total) == ("renewal", usd("14.00"))
    assert (refresh(sub).period_start, sub.period_end, sub.paid_seats) == (DEC1, date(2027, 1, 1), 2)


# ---------------------------------------------------------------- auto seats, seat_add_billing


def test_auto_seat_invoice_now():
    account = make_account()
    sub = subscribe(account, make_plan())
    invite(account, 1, on=date(2026, 11, 15))
    # added Nov 15, billed Nov 16 – Dec 1: 7.00 × 1 × 15/30 = 3.50, invoiced that day
    inv = invoices(account)[-1]
    assert (inv.issued_on, inv.reason, inv.total) == (date(2026, 11, 15), "seats", usd("3.50"))
    [line] = inv.lines.all()
    assert (line.kind, line.days, line.period_days, line.period_start) == ("proration", 15, 30, date(2026, 11, 16))
    assert refresh(sub).paid_seats == 2


def test_auto_seat_next_invoice_waits_for_the_renewal():
    account = make_account()
    subscribe(account, make_plan(seat_add_billing_monthly="next_invoice"))
    invite(account, 1, on=date(2026, 11, 15))
    assert len(invoices(account)) == 1
    [waiting] = InvoiceLine.objects.filter(invoice__isnull=True)
    # 7.00 × 15/30 = 3.50, waiting for Dec 1
    assert (waiting.amount, waiting.bill_on) == (usd("3.50"), DEC1)
    services.billing_run(on=DEC1, accounts=[account])
    # renewal 2 × 7.00 = 14.00 + waiting 3.50 = 17.50
    renewal = invoices(account)[-1]
    assert renewal.total == usd("17.50")
    assert sorted(line.kind for line in renewal.lines.all()) == ["proration", "subscription"]


def test_monthly_true_up_on_the_next_anniversary():
    account = make_account()
    plan = make_plan(seat_add_billing_annual="monthly_true_up")
    subscribe(account, plan, cycle="annual", on=date(2026, 1, 10))
    invite(account, 1, on=date(2026, 3, 25))
    # period Jan 10 2026 – Jan 10 2027 = 365 days; from Mar 26: 290 days; 60.00 × 290/365 = 47.67
    [waiting] = InvoiceLine.objects.filter(invoice__isnull=True)
    assert (waiting.amount, waiting.bill_on, waiting.days) == (usd("47.67"), date(2026, 4, 10), 290)
    services.billing_run(on=date(2026, 4, 9), accounts=[account])
    assert len(invoices(account)) == 1
    services.billing_run(on=date(2026, 4, 10), accounts=[account])
    true_up = invoices(account)[-1]
    assert (true_up.reason, true_up.issued_on, true_up.total) == ("true_up", date(2026, 4, 10), usd("47.67"))


def test_monthly_true_up_date_on_a_month_end_anchor():
    account = make_account()
    subscribe(account, make_plan(seat_add_billing_annual="monthly_true_up"), cycle="annual", on=date(2026, 1, 31))
    invite(account, 1, on=date(2026, 2, 10))
    invite(account, 1, on=date(2026, 4, 30))
    # anchored on the 31st: Feb → the 28th; added on Apr 30 (an anniversary) → May 31
    bill_days = list(InvoiceLine.objects.filter(invoice__isnull=True).order_by("id").values_list("bill_on", flat=True))
    assert bill_days == [date(2026, 2, 28), date(2026, 5, 31)]


# ---------------------------------------------------------------- seat removal


def test_keep_until_renewal_refills_freed_seats_free():
    account = make_account()
    invite(account, 2, on=date(2026, 10, 31))
    sub = subscribe(account, make_plan())
    # 3 seats × 7.00 = 21.00
    assert invoices(account)[0].total == usd("21.00")
    archive(account, 1, on=date(2026, 11, 10))
    assert refresh(sub).paid_seats == 3
    invite(account, 1, on=date(2026, 11, 20))
    # the freed seat is filled again: no invoice, no credit note
    assert (len(invoices(account)), CreditNote.objects.count(), refresh(sub).paid_seats) == (1, 0, 3)
    archive(account, 1, on=date(2026, 11, 25))
    services.billing_run(on=DEC1, accounts=[account])
    # at renewal paid seats drop to the 2 in use: 2 × 7.00 = 14.00
    assert invoices(account)[-1].total == usd("14.00")
    assert refresh(sub).paid_seats == 2


def test_credit_prorated_issues_a_credit_note_today():
    account = make_account()
    invite(account, 2, on=date(2026, 10, 31))
    sub = subscribe(account, make_plan(seat_removal="credit_prorated"))
    archive(account, 1, on=date(2026, 11, 10))
    # unused Nov 11 – Dec 1: 7.00 × 1 × 20/30 = 4.67, credited by a numbered note
    [note] = CreditNote.objects.all()
    assert (note.number, note.issued_on, note.total) == ("CN-2026-000001", date(2026, 11, 10), usd("4.67"))
    assert refresh(sub).paid_seats == 2
    assert credit_balance(account) == usd("4.67")
    services.billing_run(on=DEC1, accounts=[account])
    # renewal 2 × 7.00 = 14.00 − credit 4.67 = 9.33 due
    renewal = invoices(account)[-1]
    assert (renewal.total, renewal.credit_applied, renewal.amount_due) == (usd("14.00"), usd("4.67"), usd("9.33"))
    assert credit_balance(account) == usd("0.00")


# ---------------------------------------------------------------- fixed seats


def test_fixed_seats_are_bought_and_raised_with_proration():
    account = make_account()
    plan = make_plan("named", seat_mode="fixed")
    sub = subscribe(account, plan, seats=2)
    # 2 seats × 7.00 = 14.00
    assert invoices(account)[0].total == usd("14.00")
    services.subscription_set_seats(subscription=sub, seats=4, on=date(2026, 11, 15))
    # 2 more from Nov 16: 7.00 × 2 × 15/30 = 7.00
    assert invoices(account)[-1].total == usd("7.00")
    assert (refresh(sub).bought_seats, sub.paid_seats) == (4, 4)


def test_fixed_seats_lowered_keep_until_renewal():
    account = make_account()
    sub = subscribe(account, make_plan("named", seat_mode="fixed"), seats=4)
    services.subscription_set_seats(subscription=sub, seats=3, on=date(2026, 11, 20))
    # no credit: paid stays 4 this period, bought 3
    assert (refresh(sub).bought_seats, sub.paid_seats, CreditNote.objects.count()) == (3, 4, 0)
    services.billing_run(on=DEC1, accounts=[account])
    # renewal: 3 bought × 7.00 = 21.00
    assert invoices(account)[-1].total == usd("21.00")


def test_fixed_seats_lowered_credit_prorated():
    account = make_account()
    sub = subscribe(account, make_plan("named", seat_mode="fixed", seat_removal="credit_prorated"), seats=4)
    services.subscription_set_seats(subscription=sub, seats=2, on=date(2026, 11, 10))
    # 2 seats removed, Nov 11 – Dec 1: 7.00 × 2 × 20/30 = 9.33
    assert CreditNote.objects.get().total == usd("9.33")
    assert refresh(sub).paid_seats == 2


def test_fixed_seats_inviting_beyond_the_count_is_refused():
    account = make_account()
    subscribe(account, make_plan("named", seat_mode="fixed"), seats=2)
    invite(account, 1, on=date(2026, 11, 2))
    before = snapshot(account)
    with pytest.raises(Refused, match="All 2 seats are taken"):
        invite(account, 1, on=date(2026, 11, 3))
    assert snapshot(account) == before


def test_set_seats_below_members_is_refused_and_changes_nothing():
    account = make_account()
    invite(account, 2, on=date(2026, 10, 31))
    sub = subscribe(account, make_plan("named", seat_mode="fixed"), seats=4)
    before = snapshot(account)
    with pytest.raises(Refused, match="3 people take seats") as exc:
        services.subscription_set_seats(subscription=sub, seats=2, on=date(2026, 11, 10))
    assert exc.value.code == "below_members"
    assert snapshot(account) == before


def test_set_seats_on_an_auto_plan_is_refused():
    account = make_account()
    sub = subscribe(account, make_plan())
    before = snapshot(account)
    with pytest.raises(Refused, match="follow your members"):
        services.subscription_set_seats(subscription=sub, seats=3, on=date(2026, 11, 10))
    assert snapshot(account) == before


# ---------------------------------------------------------------- max seats


def test_over_max_seats_is_refused_with_plan_and_limit():
    account = make_account()
    subscribe(account, make_plan("free", name="Free", monthly="1.00", max_seats=3))
    invite(account, 2, on=date(2026, 11, 2))
    before = snapshot(account)
    with pytest.raises(Refused, match=r"^The Free plan allows at most 3 users\.$"):
        invite(account, 1, on=date(2026, 11, 3))
    assert snapshot(account) == before


def test_max_seats_message_is_singular_for_one():
    account = make_account()
    subscribe(account, make_plan("solo", name="Solo", max_seats=1))
    before = snapshot(account)
    with pytest.raises(Refused, match=r"^The Solo plan allows at most 1 user\.$"):
        invite(account, 1, on=date(2026, 11, 3))
    assert snapshot(account) == before


def test_fixed_set_seats_over_max_is_refused():
    account = make_account()
    sub = subscribe(account, make_plan("team5", name="Team", seat_mode="fixed", max_seats=5), seats=2)
    before = snapshot(account)
    with pytest.raises(Refused, match="The Team plan allows at most 5 users"):
        services.subscription_set_seats(subscription=sub, seats=6, on=date(2026, 11, 3))
    assert snapshot(account) == before


# ---------------------------------------------------------------- minimum seats


def test_minimum_seats_charges_nothing_until_the_next_renewal():
    account = make_account()
    sub = subscribe(account, make_plan())
    services.subscription_set_minimum_seats(subscription=sub, seats=5, on=date(2026, 11, 10))
    assert (len(invoices(account)), refresh(sub).paid_seats) == (1, 1)
    services.billing_run(on=DEC1, accounts=[account])
    # renewal: max(1 in use, minimum 5) × 7.00 = 35.00
    assert invoices(account)[-1].total == usd("35.00")
    assert refresh(sub).paid_seats == 5


def test_minimum_seats_at_purchase():
    account = make_account()
    subscribe(account, make_plan(), minimum_seats=3)
    # max(1, 3) × 7.00 = 21.00
    assert invoices(account)[0].total == usd("21.00")


def test_negative_minimum_is_refused():
    account = make_account()
    sub = subscribe(account, make_plan())
    with pytest.raises(Refused):
        services.subscription_set_minimum_seats(subscription=sub, seats=-1, on=date(2026, 11, 10))


# ---------------------------------------------------------------- cycles


def test_monthly_to_annual_credits_unused_days():
    account = make_account()
    sub = subscribe(account, make_plan())
    services.subscription_switch_cycle(subscription=sub, cycle="annual", on=date(2026, 11, 10))
    # credit Nov 11 – Dec 1: −7.00 × 20/30 = −4.67; annual 60.00 from Nov 11; total 55.33
    inv = invoices(account)[-1]
    amounts = sorted(line.amount for line in inv.lines.all())
    assert amounts == [usd("-4.67"), usd("60.00")]
    assert (inv.issued_on, inv.total) == (date(2026, 11, 10), usd("55.33"))
    assert (refresh(sub).cycle, sub.anchor, sub.period_start, sub.period_end) == (
        "annual",
        date(2026, 11, 11),
        date(2026, 11, 11),
        date(2027, 11, 11),
    )


def test_monthly_to_annual_charges_the_minimum():
    account = make_account()
    sub = subscribe(account, make_plan())
    services.subscription_set_minimum_seats(subscription=sub, seats=2, on=date(2026, 11, 5))
    services.subscription_switch_cycle(subscription=sub, cycle="annual", on=date(2026, 11, 10))
    # credit −7.00 × 1 × 20/30 = −4.67; annual max(1, 2) × 60.00 = 120.00; total 115.33
    assert invoices(account)[-1].total == usd("115.33")


def test_annual_to_monthly_support_only_refuses_self_serve():
    account = make_account()
    sub = subscribe(account, make_plan(), cycle="annual", on=date(2026, 1, 1))
    before = snapshot(account)
    with pytest.raises(Refused, match="Contact support") as exc:
        services.subscription_switch_cycle(subscription=sub, cycle="monthly", on=date(2026, 6, 1))
    assert exc.value.code == "support_only"
    assert snapshot(account) == before


def test_annual_to_monthly_by_support_at_period_end_without_credit():
    account = make_account()
    sub = subscribe(account, make_plan(), cycle="annual", on=date(2026, 1, 1))
    services.subscription_switch_cycle(subscription=sub, cycle="monthly", on=date(2026, 6, 1), by_support=True)
    # nothing now: no invoice, no credit, still annual until Jan 1 2027
    assert (len(invoices(account)), credit_balance(account), refresh(sub).cycle) == (1, usd(0), "annual")
    services.billing_run(on=date(2027, 1, 1), accounts=[account])
    # from Jan 1 2027 monthly: 1 × 7.00 for [Jan 1, Feb 1)
    renewal = invoices(account)[-1]
    assert (renewal.issued_on, renewal.total) == (date(2027, 1, 1), usd("7.00"))
    assert (refresh(sub).cycle, sub.period_start, sub.period_end) == ("monthly", date(2027, 1, 1), date(2027, 2, 1))


def test_annual_to_monthly_prorated_goes_to_the_credit_balance():
    account = make_account()
    sub = subscribe(account, make_plan(to_monthly="prorated"), cycle="annual", on=date(2026, 1, 1))
    services.subscription_switch_cycle(subscription=sub, cycle="monthly", on=date(2026, 1, 31))
    # credit Feb 1 2026 – Jan 1 2027: −60.00 × 334/365 = −54.90; monthly Feb 1 – Mar 1: 7.00; total −47.90
    inv = invoices(account)[-1]
    assert (inv.total, inv.amount_due, inv.status) == (usd("-47.90"), usd(0), "paid")
    assert credit_balance(account) == usd("47.90")
    services.billing_run(on=date(2026, 3, 1), accounts=[account])
    # renewal 7.00 paid from the balance: 47.90 − 7.00 = 40.90
    renewal = invoices(account)[-1]
    assert (renewal.credit_applied, renewal.amount_due) == (usd("7.00"), usd(0))
    assert credit_balance(account) == usd("40.90")


def test_switch_to_the_same_cycle_is_refused():
    account = make_account()
    sub = subscribe(account, make_plan())
    with pytest.raises(Refused, match="already billed monthly"):
        services.subscription_switch_cycle(subscription=sub, cycle="monthly", on=date(2026, 11, 10))


# ---------------------------------------------------------------- plan change


def test_plan_change_is_prorated_to_the_same_period_end():
    account = make_account()
    invite(account, 1, on=date(2026, 10, 31))
    sub = subscribe(account, make_plan("start", monthly="5.00"))
    services.subscription_change_plan(subscription=sub, plan=make_plan("team", monthly="9.00"), on=date(2026, 11, 10))
    # credit −5.00 × 2 × 20/30 = −6.67; charge 9.00 × 2 × 20/30 = 12.00; total 5.33
    inv = invoices(account)[-1]
    assert sorted(line.amount for line in inv.lines.all()) == [usd("-6.67"), usd("12.00")]
    assert (inv.reason, inv.total) == ("plan_change", usd("5.33"))
    assert (refresh(sub).plan.code, sub.period_start, sub.period_end) == ("team", NOV1, DEC1)


def test_currency_mismatch_is_refused_and_changes_nothing():
    account = make_account()
    sub = subscribe(account, make_plan())
    euro = make_plan("euro", name="Euro", currency="EUR", monthly="6.00", annual="50.00")
    before = snapshot(account)
    with pytest.raises(Refused, match=r"Acme is billed in USD; the Euro plan is in EUR\.") as exc:
        services.subscription_change_plan(subscription=sub, plan=euro, on=date(2026, 11, 10))
    assert exc.value.code == "currency_mismatch"
    assert snapshot(account) == before


def test_unknown_plan_is_refused_by_the_scenario_runner(tmp_path):
    story = {
        "plans": [{"code": "pro", "currency": "USD", "monthly": "7.00"}],
        "events": [
            {"on": "2026-11-01", "do": "subscribe", "plan": "pro", "cycle": "monthly"},
            {"on": "2026-11-10", "do": "change_plan", "plan": "nope"},
            {"on": "2026-11-11", "do": "subscribe", "plan": "nope", "cycle": "monthly"},
        ],
    }
    path = tmp_path / "unknown.json"
    path.write_text(json.dumps(story))
    out = io.StringIO()
    call_command("billing_scenario", str(path), stdout=out)
    got = json.loads(out.getvalue())
    assert got["errors"] == [
        {"event": 1, "message": "There is no plan “nope”."},
        {"event": 2, "message": "There is no plan “nope”."},
    ]
    # only the purchase: 7.00
    assert [i["total"] for i in got["invoices"]] == ["7.00"]
    assert got["subscription"]["plan"] == "pro"


# ---------------------------------------------------------------- cancel, undo, expiry


def test_cancel_and_undo():
    account = make_account()
    sub = subscribe(account, make_plan())
    invoice_pay(invoice=invoices(account)[0], on=NOV1)
    services.subscription_cancel(subscription=sub, on=date(2026, 11, 10))
    assert (refresh(sub).status, sub.cancel_at_period_end) == ("canceled", True)
    with pytest.raises(Refused, match="Already canceled"):
        services.subscription_cancel(subscription=sub, on=date(2026, 11, 11))
    services.subscription_undo_cancel(subscription=sub, on=date(2026, 11, 12))
    assert (refresh(sub).status, sub.cancel_at_period_end) == ("active", False)
    with pytest.raises(Refused, match="not canceled"):
        services.subscription_undo_cancel(subscription=sub, on=date(2026, 11, 13))
    services.billing_run(on=DEC1, accounts=[account])
    # not canceled any more: it renews for 7.00
    assert invoices(account)[-1].total == usd("7.00")


def test_canceled_subscription_expires_at_period_end_without_an_invoice():
    account = make_account()
    sub = subscribe(account, make_plan())
    services.subscription_cancel(subscription=sub, on=date(2026, 11, 10))
    services.billing_run(on=DEC1, accounts=[account])
    assert (refresh(sub).status, sub.expired_on, len(invoices(account))) == ("expired", DEC1, 1)
    with pytest.raises(Refused, match="already expired"):
        services.subscription_undo_cancel(subscription=sub, on=date(2026, 12, 2))


def test_canceled_subscription_invoices_only_its_waiting_lines():
    account = make_account()
    sub = subscribe(account, make_plan(seat_add_billing_monthly="next_invoice"))
    invite(account, 1, on=date(2026, 11, 15))
    services.subscription_cancel(subscription=sub, on=date(2026, 11, 20))
    services.billing_run(on=DEC1, accounts=[account])
    # final invoice: the waiting 7.00 × 15/30 = 3.50 and no renewal charge
    final = invoices(account)[-1]
    assert (final.reason, final.total) == ("final", usd("3.50"))
    assert [line.kind for line in final.lines.all()] == ["proration"]
    assert refresh(sub).status == "expired"


def test_a_new_subscription_after_expiry():
    account = make_account()
    sub = subscribe(account, make_plan())
    services.subscription_cancel(subscription=sub, on=date(2026, 11, 10))
    services.billing_run(on=DEC1, accounts=[account])
    again = subscribe(account, Subscription.objects.get(pk=sub.pk).plan, on=date(2026, 12, 5))
    assert again.pk != sub.pk
    assert (again.status, again.period_start) == ("active", date(2026, 12, 5))


# ---------------------------------------------------------------- idempotency


def test_billing_run_twice_the_same_day_creates_nothing_the_second_time():
    account = make_account()
    subscribe(account, make_plan(seat_add_billing_monthly="next_invoice"))
    invite(account, 1, on=date(2026, 11, 15))
    first = services.billing_run(on=DEC1)
    before = snapshot(account)
    second = services.billing_run(on=DEC1)
    assert (first.issued, first.renewed) == (1, 1)
    assert (second.issued, second.renewed) == (0, 0)
    assert snapshot(account) == before


def test_billing_run_catches_up_missed_days_once():
    account = make_account()
    subscribe(account, make_plan())
    services.billing_run(on=date(2027, 2, 15))
    # Dec 1, Jan 1 and Feb 1 renewals, each once
    assert [i.issued_on for i in invoices(account)] == [NOV1, DEC1, date(2027, 1, 1), date(2027, 2, 1)]
    services.billing_run(on=date(2027, 2, 15))
    assert len(invoices(account)) == 4


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="skip_locked row claims need PostgreSQL")
def test_two_billing_runs_at_once_bill_everything_exactly_once():
    plan = make_plan()
    for n in range(6):
        subscribe(make_account(f"Team {n}"), plan)
    barrier = threading.Barrier(2)
    failures = []

    def run():
        try:
            barrier.wait()
            services.billing_run(on=DEC1)
        except Exception as exc:  # collected: a thread's exception would otherwise vanish
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    # 6 purchases + 6 renewals, each once, numbered without gaps
    assert Invoice.objects.filter(reason="renewal").count() == 6
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [f"INV-2026-{n:06d}" for n in range(1, 13)]
