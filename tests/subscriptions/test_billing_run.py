"""The daily run (issue 3): bulk renewals write what one-by-one renewals write; idempotent; concurrent on PostgreSQL."""

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
from tests.builders import archive, invite, make_account, make_coupon, make_plan, usd

NOV1, NOV15, DEC1 = date(2026, 11, 1), date(2026, 11, 15), date(2026, 12, 1)


@pytest.fixture(autouse=True)
def _no_pdfs(settings, tmp_path):
    # PDFs and emails run after commit; these tests are about the rows the run writes.
    settings.INVOICE_RENDER_ON_FINALIZE = False
    settings.MEDIA_ROOT = str(tmp_path)


def subscribe(account, plan, **kw) -> Subscription:
    kw.setdefault("cycle", "monthly")
    return services.subscription_create(account=account, plan=plan, on=NOV1, **kw)


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


@pytest.mark.django_db
def test_bulk_renewals_write_exactly_what_one_by_one_renewals_write():
    world()
    due = list(Subscription.objects.filter(period_end__lte=DEC1).order_by("pk").values_list("pk", flat=True))
    plain = [s for s in Subscription.objects.filter(pk__in=due) if services._plain_renewal(s, on=DEC1)]
    assert len(plain) == len(due) - 1  # all but the canceled one go through _renew_many

    def one_by_one():
        summary = services.RunSummary(on=DEC1)
        for pk in due:
            services._run_one(pk, on=DEC1, summary=summary)

    bulk = rolled_back(lambda: services.billing_run(on=DEC1))
    single = rolled_back(one_by_one)
    assert bulk == single
    by_name = {inv["buyer"]["name"]: inv for inv in bulk["invoices"]}
    # 3 seats × 7.00 = 21.00
    assert by_name["Plain"]["total"] == Decimal("21.00")
    # 3 seats × 7.00 = 21.00 + waiting 2 × 7.00 × 15/30 = 7.00 → 28.00, waiting lines first
    assert by_name["Waiting"]["total"] == Decimal("28.00")
    assert [line[1] for line in by_name["Waiting"]["lines"]] == ["proration", "subscription"]
    # 7.00 − 25% (1.75) = 5.25, + 20% tax 1.05 = 6.30
    assert (by_name["Quarter"]["discount"], by_name["Quarter"]["total"]) == (Decimal("1.75"), Decimal("6.30"))
    # the $5 coupon was used up on the first invoice: 7.00
    assert by_name["Once"]["total"] == Decimal("7.00")
    # 2 seats × 12.00 = 24.00, of which 18.00 comes from the credit note
    assert (by_name["Credit"]["credit_applied"], by_name["Credit"]["amount_due"]) == (Decimal("18.00"), Decimal("6.00"))
    assert by_name["Dropped"]["total"] == Decimal("14.00")  # 2 seats × 7.00
    assert by_name["Minimum"]["total"] == Decimal("21.00")  # minimum 3 × 7.00
    assert by_name["Yen"]["total"] == Decimal("900")
    numbers = [inv["number"] for inv in bulk["invoices"]]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


@pytest.mark.django_db
def test_the_daily_run_twice_the_same_day_creates_nothing_the_second_time():
    world()
    first = services.billing_run(on=DEC1)
    before = outcome()
    second = services.billing_run(on=DEC1)
    assert (first.renewed, first.issued, first.expired) == (8, 8, 1)  # the canceled one expires, nothing to bill
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
    monkeypatch.setattr(services, "RUN_CHUNK", 3)  # several chunks, so the runs interleave
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
def test_rows_insert_writes_what_bulk_create_writes():
    from invoicing.services import rows_insert

    world()
    services.billing_run(on=DEC1)
    made = list(Invoice.objects.filter(issued_on=DEC1).order_by("pk"))
    skip = {"id", "number", "billing_key", "invoice_id", "created_at"}

    def copies(model, rows, **extra) -> list:
        return [model(**{**{k: v for k, v in row.items() if k not in skip}, **extra}) for row in rows]

    rows = list(Invoice.objects.filter(pk__in=[i.pk for i in made]).order_by("pk").values())
    fast, orm = copies(Invoice, rows, status="draft"), copies(Invoice, rows, status="draft")
    rows_insert(fast)
    Invoice.objects.bulk_create(orm)
    assert all(obj.pk is not None and not obj._state.adding for obj in fast)
    line_rows = list(InvoiceLine.objects.filter(invoice__in=made).order_by("pk").values())
    rows_insert(copies(InvoiceLine, line_rows, invoice=fast[0]))
    InvoiceLine.objects.bulk_create(copies(InvoiceLine, line_rows, invoice=orm[0]))

    def written(model, objs, **by) -> list:
        return [
            {k: v for k, v in row.items() if k not in skip}
            for row in model.objects.filter(**by).order_by("pk").values()
        ]

    assert written(Invoice, fast, pk__in=[o.pk for o in fast]) == written(Invoice, orm, pk__in=[o.pk for o in orm])
    assert written(InvoiceLine, fast, invoice=fast[0]) == written(InvoiceLine, orm, invoice=orm[0])
    assert [o.created_at for o in fast] == list(
        Invoice.objects.filter(pk__in=[o.pk for o in fast]).order_by("pk").values_list("created_at", flat=True)
    )


@pytest.mark.django_db
def test_shares_of_a_run_bill_every_subscription_exactly_once():
    world()
    parts = [services.renewals_run(on=DEC1, part=part, parts=3) for part in range(3)]
    again = services.billing_run(on=DEC1)
    assert sum(p.renewed for p in parts) == 8 and sum(p.expired for p in parts) == 1  # as one run: 8 renewed
    assert (again.renewed, again.issued) == (0, 0)
    renewals = Invoice.objects.filter(issued_on=DEC1, reason="renewal")
    assert renewals.count() == renewals.values("subscription").distinct().count() == 8
    numbers = sorted(renewals.values_list("number", flat=True))
    first = Invoice.objects.exclude(issued_on=DEC1).count() + 1
    assert numbers == [f"INV-2026-{n:06d}" for n in range(first, first + 8)]  # no gap, no repeat
    total = services.RunSummary(on=DEC1)
    for p in parts:
        total.add(p)
    assert (total.renewed, total.issued, total.expired) == (8, 8, 1)


@pytest.mark.django_db(transaction=True)
def test_run_billing_with_workers_bills_every_subscription_once(postgres):
    plan = make_plan()
    accounts = [make_account(f"Acme {i}") for i in range(6)]
    for account in accounts:
        services.subscription_create(account=account, plan=plan, cycle="monthly", on=NOV1)
    for inv in Invoice.objects.all():
        invoice_pay(invoice=inv, on=NOV1)
    Invoice.objects.update(emailed_at=timezone.now())  # the purchases were delivered: no PDFs to render here
    out = io.StringIO()
    call_command("run_billing", "--on", "2026-12-01", "--workers", "2", stdout=out)
    # 6 renewals of 1 seat × 7.00 = 42.00
    assert out.getvalue().strip() == (
        "2026-12-01: 6 subscriptions renewed, 6 invoices issued (USD 42.00), 0 expired, 0 accounts locked."
    )
    renewals = Invoice.objects.filter(issued_on=DEC1, reason="renewal")
    assert sorted(renewals.values_list("subscription__account__name", flat=True)) == sorted(a.name for a in accounts)
    assert sorted(Invoice.objects.values_list("number", flat=True)) == [f"INV-2026-{n:06d}" for n in range(1, 13)]
