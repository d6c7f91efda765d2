"""The daily run (issue 3): renewals write the rows worked out by hand, in a chunk or one at a time; idempotent;
concurrent on PostgreSQL."""

import io
import threading
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing import plan as core
from billing.calendar import Period
from invoicing.models import CreditEntry, Invoice, InvoiceLine
from invoicing.services import invoice_issue, invoice_pay
from licensing.models import Licence
from subscriptions import services
from subscriptions.models import CouponRedemption, SeatChange, Subscription
from subscriptions.services import daily_run
from tests.builders import archive, invite, make_account, make_coupon, make_plan, usd
from webhooks.models import Event

NOV1, NOV15, DEC1 = date(2026, 11, 1), date(2026, 11, 15), date(2026, 12, 1)
DEC1_2025 = date(2025, 12, 1)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    # PDFs and emails run after commit (not at all in the tests that drop the commit's callbacks).
    settings.MEDIA_ROOT = str(tmp_path)


def subscribe(account, plan, **kw) -> Subscription:
    kw.setdefault("cycle", "monthly")
    kw.setdefault("on", NOV1)
    return services.subscription_create(account=account, plan=plan, **kw)


def world() -> list[Subscription]:
    """Subscriptions renewing on Dec 1 with every feature a renewal reads."""
    pro = make_plan("pro")
    later = make_plan("later", seat_add_billing_monthly="next_invoice")
    keep = make_plan("keep")
    named = make_plan("named", seat_mode="fixed", seat_removal="credit_prorated", monthly="12.00")
    yen = make_plan("yen", currency="JPY", monthly="900", annual="9000")
    make_coupon("QUARTER", duration_periods=3)
    make_coupon("ONCE", percent_off=None, amount_off=usd("5.00"), duration_periods=1)
    subs = []

    plain = make_account("Plain")
    invite(plain, 2, on=date(2026, 10, 31))
    subs.append(subscribe(plain, pro))

    waiting = make_account("Waiting")
    subs.append(subscribe(waiting, later))
    invite(waiting, 2, on=NOV15)  # 2 × 7.00 × 15/30 = 7.00 waits for the renewal

    quarter = make_account("Quarter", tax_rate=Decimal("0.2"))
    subs.append(subscribe(quarter, pro, coupon="QUARTER"))  # 25% off, still active on Dec 1

    once = make_account("Once")
    subs.append(subscribe(once, pro, coupon="ONCE"))  # used up on Dec 1

    credit = make_account("Credit")
    sub = subscribe(credit, named, seats=5)
    services.subscription_set_seats(subscription=sub, seats=2, on=NOV15)  # credit note: 3 × 12.00 × 15/30 = 18.00
    subs.append(sub)

    dropped = make_account("Dropped")
    invite(dropped, 3, on=date(2026, 10, 31))
    subs.append(subscribe(dropped, keep))
    archive(dropped, 2, on=NOV15)  # paid seats fall from 4 to 2 at the renewal: saved one by one

    minimum = make_account("Minimum")
    sub = subscribe(minimum, pro)
    services.subscription_set_minimum_seats(subscription=sub, seats=3, on=NOV15)
    subs.append(sub)

    jpy = make_account("Yen")
    subs.append(subscribe(jpy, yen))

    annual = make_account("Annual")
    invite(annual, 1, on=date(2025, 11, 30))
    subs.append(subscribe(annual, pro, cycle="annual", on=DEC1_2025))  # its first year ends on Dec 1

    ending = make_account("Ending")
    sub = subscribe(ending, pro)
    services.subscription_cancel(subscription=sub, on=NOV15)  # not a plain renewal: expires one by one
    subs.append(sub)
    for inv in Invoice.objects.filter(status="open"):
        invoice_pay(invoice=inv, on=inv.issued_on)
    return subs


def outcome() -> dict:
    """Everything a Dec 1 run writes, without row ids."""
    invoices = Invoice.objects.filter(issued_on=DEC1).order_by("number")
    return {
        "invoices": [
            {
                **{
                    k: v
                    for k, v in Invoice.objects.filter(pk=inv.pk).values().get().items()
                    if k not in ("id", "created_at")
                },
                "lines": list(
                    InvoiceLine.objects.filter(invoice=inv)
                    .order_by("position")
                    .values_list(
                        "position",
                        "kind",
                        "description",
                        "period_start",
                        "period_end",
                        "quantity",
                        "unit_price",
                        "days",
                        "period_days",
                        "amount",
                    )
                ),
            }
            for inv in invoices
        ],
        "credit": list(
            CreditEntry.objects.filter(on=DEC1).order_by("id").values_list("account__name", "amount", "memo")
        ),
        "ledger": list(
            SeatChange.objects.filter(on=DEC1)
            .order_by("subscription_id", "id")
            .values_list("subscription__account__name", "reason", "seats_in_use", "paid_seats", "bought_seats")
        ),
        "subscriptions": list(
            Subscription.objects.order_by("id").values_list(
                "status", "period_start", "period_end", "paid_seats", "bought_seats", "anchor"
            )
        ),
        "redemptions": list(
            CouponRedemption.objects.order_by("id").values_list(
                "periods_used", "active_period_start", "ended_on", "ended_reason"
            )
        ),
        "licences": Licence.objects.count(),
    }


class Rollback(Exception):
    pass


def rolled_back(run) -> dict:
    try:
        with transaction.atomic():
            run()
            result = outcome()
            raise Rollback
    except Rollback:
        return result


def one_subscription_at_a_time() -> None:
    """Each due subscription in its own transaction, as the run does for all but plain renewals: batches of one."""
    summary = services.RunSummary(on=DEC1)
    for pk in Subscription.objects.filter(period_end__lte=DEC1).order_by("pk").values_list("pk", flat=True):
        daily_run._run_one(pk, on=DEC1, summary=summary)


def the_daily_run() -> None:
    services.billing_run(on=DEC1)


# Each renewal on Dec 1, by hand: (total, discount, credit applied, amount due, [(kind, seats, amount), …]).
RENEWALS = {
    "Plain": ("21.00", "0.00", "0.00", "21.00", [("subscription", 3, "21.00")]),  # 3 seats × 7.00
    # waiting: 2 × 7.00 × 15/30 = 7.00 (Nov 16 – Nov 30), first; then 3 seats × 7.00 = 21.00
    "Waiting": ("28.00", "0.00", "0.00", "28.00", [("proration", 2, "7.00"), ("subscription", 3, "21.00")]),
    # 7.00 − 25% (1.75) = 5.25, + 20% tax 1.05 = 6.30
    "Quarter": ("6.30", "1.75", "0.00", "6.30", [("subscription", 1, "7.00")]),
    "Once": ("7.00", "0.00", "0.00", "7.00", [("subscription", 1, "7.00")]),  # the $5 coupon is used up
    # 2 bought seats × 12.00 = 24.00, of which the Nov 15 credit note's 18.00 pays
    "Credit": ("24.00", "0.00", "18.00", "6.00", [("subscription", 2, "24.00")]),
    "Dropped": ("14.00", "0.00", "0.00", "14.00", [("subscription", 2, "14.00")]),  # 4 paid → 2 in use
    "Minimum": ("21.00", "0.00", "0.00", "21.00", [("subscription", 3, "21.00")]),  # minimum 3 × 7.00
    "Yen": ("900", "0", "0", "900", [("subscription", 1, "900")]),
    "Annual": ("120.00", "0.00", "0.00", "120.00", [("subscription", 2, "120.00")]),  # 2 seats × 60.00 a year
}


@pytest.mark.django_db
@pytest.mark.parametrize("run", [the_daily_run, one_subscription_at_a_time], ids=["chunk", "one at a time"])
def test_a_renewal_writes_the_rows_worked_out_by_hand(run):
    world()
    due = list(Subscription.objects.filter(period_end__lte=DEC1).order_by("pk").values_list("pk", flat=True))
    plain = [s for s in Subscription.objects.filter(pk__in=due) if daily_run._plain_renewal(s, plan=s.plan, on=DEC1)]
    assert len(plain) == len(due) - 1  # all but the canceled one renew together in the daily run's chunk
    run()
    result = outcome()
    by_name = {inv["buyer"]["name"]: inv for inv in result["invoices"]}
    assert {
        name: (
            inv["total"],
            inv["discount"],
            inv["credit_applied"],
            inv["amount_due"],
            [(kind, quantity, amount) for _, kind, _, _, _, quantity, _, _, _, amount in inv["lines"]],
        )
        for name, inv in by_name.items()
    } == {
        name: (*map(Decimal, amounts), [(kind, seats, Decimal(amount)) for kind, seats, amount in lines])
        for name, (*amounts, lines) in RENEWALS.items()
    }
    assert {inv["reason"] for inv in result["invoices"]} == {"renewal"}
    assert {inv["billing_key"] for inv in result["invoices"]} == {f"period:{pk}:{DEC1}" for pk in due[:-1]}
    assert by_name["Quarter"]["discount_label"] == "Coupon QUARTER"
    # every charge is for the new period [Dec 1, Jan 1): 31 of 31 days; the annual one's [Dec 1, Dec 1 2027)
    charges = {name: [line for line in inv["lines"] if line[1] == "subscription"] for name, inv in by_name.items()}
    assert {(line[3], line[4], line[7], line[8]) for name, lines in charges.items() for line in lines} == {
        (DEC1, date(2027, 1, 1), 31, 31),
        (DEC1, date(2027, 12, 1), 365, 365),
    }
    assert [line[3:5] for line in charges["Annual"]] == [(DEC1, date(2027, 12, 1))]
    assert by_name["Waiting"]["lines"][0][3:5] == (date(2026, 11, 16), DEC1)  # the waiting line keeps its days
    # The seat ledger: (account, reason, seats in use, paid seats, bought seats)
    assert result["ledger"] == [
        ("Plain", "renewed", 3, 3, 0),
        ("Waiting", "renewed", 3, 3, 0),
        ("Quarter", "renewed", 1, 1, 0),
        ("Once", "renewed", 1, 1, 0),
        ("Credit", "renewed", 1, 2, 2),
        ("Dropped", "renewed", 2, 2, 0),
        ("Minimum", "renewed", 1, 3, 0),
        ("Yen", "renewed", 1, 1, 0),
        ("Annual", "renewed", 2, 2, 0),
        ("Ending", "canceled; period ended", 1, 1, 0),
    ]
    # (status, period start, period end, paid seats, bought seats, anchor); the ledger's seats, in the same order
    renewed = [("active", DEC1, date(2027, 1, 1), paid, bought, NOV1) for _, _, _, paid, bought in result["ledger"][:8]]
    annual = ("active", DEC1, date(2027, 12, 1), 2, 0, DEC1_2025)
    assert result["subscriptions"] == [*renewed, annual, ("expired", NOV1, DEC1, 1, 0, NOV1)]
    # QUARTER (3 periods) counts its 2nd period from Dec 1; ONCE (1 period) ends, used up
    assert result["redemptions"] == [(2, DEC1, None, ""), (1, NOV1, DEC1, "used up")]
    [(account, amount, memo)] = result["credit"]
    assert (account, amount, memo) == ("Credit", Decimal("-18.00"), f"Applied to {by_name['Credit']['number']}")
    numbers = [inv["number"] for inv in result["invoices"]]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


@pytest.mark.django_db
def test_a_trial_end_is_a_renewal_of_one_that_saves_its_new_terms():
    account = make_account("Trial")
    invite(account, 1, on=NOV1)
    sub = subscribe(account, make_plan(trial_days=14, trial_offer=usd("5.00")), trial=True)
    services.subscription_accept_trial_offer(subscription=sub, on=NOV1)
    rows_before = sub.history.count()
    services.billing_run(on=NOV15)
    [inv] = Invoice.objects.filter(account=account)
    # 2 seats × 7.00 = 14.00 for [Nov 15, Dec 15), less the 5.00 trial offer = 9.00
    assert (inv.reason, inv.issued_on, inv.total, inv.discount_label) == ("purchase", NOV15, usd("9.00"), "Trial offer")
    assert inv.billing_key == f"period:{sub.pk}:{NOV15}"
    assert list(inv.lines.values_list("kind", "quantity", "period_start", "period_end", "amount")) == [
        ("subscription", 2, NOV15, date(2026, 12, 15), Decimal("14.00"))
    ]
    sub.refresh_from_db()
    assert (sub.status, sub.anchor, sub.period_start, sub.period_end) == ("active", NOV15, NOV15, date(2026, 12, 15))
    assert SeatChange.objects.filter(subscription=sub).latest("id").reason == "trial ended"
    assert sub.history.count() == rows_before + 1  # its status and anchor changed: the row is saved


@pytest.mark.django_db
def test_the_daily_run_twice_the_same_day_creates_nothing_the_second_time():
    world()
    first = services.billing_run(on=DEC1)
    before = outcome()
    second = services.billing_run(on=DEC1)
    assert (first.renewed, first.issued, first.expired) == (9, 9, 1)  # the canceled one expires, nothing to bill
    assert (second.renewed, second.issued, second.expired) == (0, 0, 0)
    assert outcome() == before


@pytest.mark.django_db
def test_queries_do_not_grow_with_subscriptions_or_past_invoices():
    plan = make_plan()

    def run_for(n: int, months: int) -> int:
        accounts = [make_account(f"A{n}-{i}") for i in range(n)]
        for account in accounts:
            services.subscription_create(account=account, plan=plan, cycle="monthly", on=date(2026, 11 - months, 1))
            services.billing_run(on=date(2026, 11, 1), accounts=[account])  # `months` past invoices each
            for inv in Invoice.objects.filter(account=account, status="open"):
                invoice_pay(invoice=inv, on=inv.issued_on)
        with CaptureQueriesContext(connection) as queries:
            summary = services.billing_run(on=DEC1, accounts=accounts)
        assert summary.renewed == n
        return len(queries)

    with transaction.atomic():
        few = run_for(2, 0)
        transaction.set_rollback(True)
    with transaction.atomic():
        many = run_for(6, 5)
        transaction.set_rollback(True)
    assert few == many


@pytest.mark.django_db
def test_run_billing_prints_a_one_line_summary():
    account = make_account("Acme")
    invite(account, 1, on=date(2026, 10, 31))
    services.subscription_create(account=account, plan=make_plan(), cycle="monthly", on=NOV1)
    invoice_pay(invoice=Invoice.objects.get(account=account), on=NOV1)
    out = io.StringIO()
    call_command("run_billing", "--on", "2026-12-01", stdout=out)
    # 2 seats × 7.00 = 14.00
    assert out.getvalue().strip() == (
        "2026-12-01: 1 subscriptions renewed, 1 invoices issued (USD 14.00), 0 expired, 0 accounts locked."
    )


def test_run_billing_refuses_a_bad_date():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--on must be a date"):
        call_command("run_billing", "--on", "tomorrow")


# ---------------------------------------------------------------- PostgreSQL: concurrency


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("row locks (select_for_update, skip_locked) need PostgreSQL; CI runs this on its PostgreSQL pass")


def in_threads(n: int, work) -> list:
    """Run `work(i)` in `n` threads that start together, each on its own connection."""
    barrier, results, errors = threading.Barrier(n), [None] * n, []

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # reported below, in the test's thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return results


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_bill_every_subscription_exactly_once(postgres, monkeypatch):
    monkeypatch.setattr(daily_run, "RUN_CHUNK", 3)  # several chunks, so the runs interleave
    plan = make_plan()
    accounts = [make_account(f"Acme {i}") for i in range(10)]
    for account in accounts:
        services.subscription_create(account=account, plan=plan, cycle="monthly", on=NOV1)
    Invoice.objects.update(emailed_at=timezone.now())  # the purchases were delivered: no PDFs to render here
    summaries = in_threads(2, lambda i: services.billing_run(on=DEC1))
    renewals = Invoice.objects.filter(issued_on=DEC1, reason="renewal")
    assert sorted(renewals.values_list("subscription__account__name", flat=True)) == sorted(a.name for a in accounts)
    assert sum(s.renewed for s in summaries) == 10
    numbers = sorted(Invoice.objects.values_list("number", flat=True))
    assert numbers == [f"INV-2026-{n:06d}" for n in range(1, 21)]  # 10 purchases, 10 renewals, no gap
    assert SeatChange.objects.filter(on=DEC1, reason="renewed").count() == 10


@pytest.mark.django_db(transaction=True)
def test_invoice_numbers_stay_gapless_when_issued_at_once(postgres):
    n = 8
    accounts = [make_account(f"Acme {i}", currency="USD") for i in range(n)]
    line = core.charge_line(description="Seats", unit_price=usd("7.00"), quantity=1, period=Period(NOV1, DEC1))

    def issue(i):
        inv = invoice_issue(account=accounts[i], subscription=None, reason=Invoice.Reason.SEATS, on=NOV15, lines=[line])
        return inv.number

    numbers = in_threads(n, issue)
    assert sorted(numbers) == [f"INV-2026-{k:06d}" for k in range(1, n + 1)]


# ---------------------------------------------------------------- the run's fast paths and its shares


@pytest.mark.django_db
def test_rows_write_writes_what_bulk_create_writes():
    from invoicing.services import ids_next, row_of, rows_write
    from invoicing.services.rows import _table

    world()
    services.billing_run(on=DEC1)
    made = list(Invoice.objects.filter(issued_on=DEC1).order_by("pk"))
    skip = {"id", "number", "billing_key", "invoice_id", "created_at"}

    def copies(model, rows, **extra) -> list:
        return [model(**{**{k: v for k, v in row.items() if k not in skip}, **extra}) for row in rows]

    def write(model, objs) -> list[int]:
        """The same objects through the row writer, with ids taken first: the ids written."""
        ids = ids_next(model, len(objs))
        keys = [key for key, _ in _table(model).spec if key != "id"]
        rows_write(
            model,
            [row_of(model, {"id": pk, **{k: getattr(o, k) for k in keys}}) for pk, o in zip(ids, objs, strict=True)],
        )
        return ids

    rows = list(Invoice.objects.filter(pk__in=[i.pk for i in made]).order_by("pk").values())
    fast, orm = copies(Invoice, rows, status="draft"), copies(Invoice, rows, status="draft")
    fast_ids = write(Invoice, fast)
    Invoice.objects.bulk_create(orm)
    assert Invoice.objects.filter(pk__in=fast_ids).count() == len(fast)
    line_rows = list(InvoiceLine.objects.filter(invoice__in=made).order_by("pk").values())
    write(InvoiceLine, copies(InvoiceLine, line_rows, invoice_id=fast_ids[0]))
    InvoiceLine.objects.bulk_create(copies(InvoiceLine, line_rows, invoice=orm[0]))

    def written(model, **by) -> list:
        return [
            {k: v for k, v in row.items() if k not in skip}
            for row in model.objects.filter(**by).order_by("pk").values()
        ]

    assert written(Invoice, pk__in=fast_ids) == written(Invoice, pk__in=[o.pk for o in orm])
    assert written(InvoiceLine, invoice=fast_ids[0]) == written(InvoiceLine, invoice=orm[0])
    assert [o.created_at for o in fast] == list(
        Invoice.objects.filter(pk__in=fast_ids).order_by("pk").values_list("created_at", flat=True)
    )


@pytest.mark.django_db
def test_shares_of_a_run_bill_every_subscription_exactly_once():
    world()
    parts = [services.renewals_run(on=DEC1, part=part, parts=3) for part in range(3)]
    again = services.billing_run(on=DEC1)
    assert sum(p.renewed for p in parts) == 9 and sum(p.expired for p in parts) == 1  # as one run: 9 renewed
    assert (again.renewed, again.issued) == (0, 0)
    renewals = Invoice.objects.filter(issued_on=DEC1, reason="renewal")
    assert renewals.count() == renewals.values("subscription").distinct().count() == 9
    numbers = sorted(renewals.values_list("number", flat=True))
    first = Invoice.objects.exclude(issued_on=DEC1).filter(issued_on__year=2026).count() + 1
    assert numbers == [f"INV-2026-{n:06d}" for n in range(first, first + 9)]  # no gap, no repeat
    total = services.RunSummary(on=DEC1)
    for p in parts:
        total.add(p)
    assert (total.renewed, total.issued, total.expired) == (9, 9, 1)


@pytest.mark.django_db(transaction=True)
def test_run_billing_twice_bills_every_subscription_once(postgres):
    plan = make_plan()
    accounts = [make_account(f"Acme {i}") for i in range(6)]
    for account in accounts:
        services.subscription_create(account=account, plan=plan, cycle="monthly", on=NOV1)
    for inv in Invoice.objects.all():
        invoice_pay(invoice=inv, on=NOV1)
    Invoice.objects.update(emailed_at=timezone.now())  # the purchases were delivered: no PDFs to render here
    out = io.StringIO()
    call_command("run_billing", "--on", "2026-12-01", stdout=out)
    call_command("run_billing", "--on", "2026-12-01", stdout=out)
    # 6 renewals of 1 seat × 7.00 = 42.00; the second run of the day finds nothing left
    assert out.getvalue().splitlines() == [
        "2026-12-01: 6 subscriptions renewed, 6 invoices issued (USD 42.00), 0 expired, 0 accounts locked.",
        "2026-12-01: 0 subscriptions renewed, 0 invoices issued (nothing), 0 expired, 0 accounts locked.",
    ]
    renewals = Invoice.objects.filter(issued_on=DEC1, reason="renewal")
    assert sorted(renewals.values_list("subscription__account__name", flat=True)) == sorted(a.name for a in accounts)
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [f"INV-2026-{n:06d}" for n in range(1, 13)]


@pytest.mark.django_db
def test_the_chunk_writes_each_invoice_once_in_its_final_state(postgres):
    world()

    def written() -> tuple[int, int]:
        """Invoice rows inserted and updated so far in this transaction (PostgreSQL's own counters)."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT n_tup_ins, n_tup_upd FROM pg_stat_xact_user_tables WHERE relname = 'invoicing_invoice'"
            )
            return cursor.fetchone()

    inserted, updated = written()
    summary = daily_run.renewals_run(on=DEC1)
    renewals = Invoice.objects.filter(issued_on=DEC1)
    assert summary.renewed == renewals.count() > 1
    assert written() == (inserted + renewals.count(), updated)  # no draft → open UPDATE
    assert set(renewals.values_list("status", flat=True)) <= {"open", "paid"}
    assert not renewals.filter(number__isnull=True).exists()
    renewed = set(renewals.values_list("number", flat=True))
    issued = [e.payload["invoice"]["number"] for e in Event.objects.filter(type="invoice.issued")]
    assert renewed <= set(issued)  # the batch's events, written with COPY, with their invoice's number
