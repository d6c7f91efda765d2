"""The daily run as a Celery task, and the beat entry that starts it at BILLING_RUN_AT."""

import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from invoicing.models import Invoice
from invoicing.services import invoice_pay
from revenue.models import RevenueMonth
from subscriptions import tasks
from subscriptions.services import subscription_create
from tests.builders import make_billed_account, make_pro_plan

ROOT = Path(__file__).resolve().parents[2]
DEC_1 = date(2026, 12, 1)


@pytest.mark.django_db
def test_the_daily_run_task_bills_the_day_once(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    acc = make_billed_account()
    subscription_create(account=acc, plan=make_pro_plan(), cycle="monthly", on=date(2026, 11, 1))
    invoice_pay(invoice=Invoice.objects.get(account=acc), on=date(2026, 11, 1))

    first = tasks.billing_run_daily.apply(args=["2026-12-01"]).get()
    again = tasks.billing_run_daily.apply(args=["2026-12-01"]).get()

    assert first == "2026-12-01: 1 subscriptions renewed, 1 invoices issued (USD 7.00), 0 expired, 0 accounts locked."
    assert again.startswith("2026-12-01: 0 subscriptions renewed, 0 invoices issued")
    assert Invoice.objects.filter(account=acc, issued_on=date(2026, 12, 1)).count() == 1


def test_the_beat_starts_the_daily_run_at_billing_run_at():
    code = (
        "import django; django.setup(); from config.celery import app; "
        "entry = app.conf.beat_schedule['daily-billing-run']; "
        "print(entry['task'], sorted(entry['schedule'].hour), sorted(entry['schedule'].minute))"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "BILLING_RUN_AT": "05:30"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[-2] == "subscriptions.billing_run_daily [5] [30]"


def _paid_subscriptions(n: int) -> list:
    accounts = [make_billed_account() for _ in range(n)]
    for acc in accounts:
        subscription_create(account=acc, plan=make_pro_plan(), cycle="monthly", on=date(2026, 11, 1))
        invoice_pay(invoice=Invoice.objects.get(account=acc), on=date(2026, 11, 1))
    return accounts


def _wait_for(condition, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the workers did not finish in time"
        time.sleep(0.2)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the worker thread and this test both write during the run; SQLite's shared in-memory test "
    "database answers 'table is locked' without waiting (runs in CI's PostgreSQL pass)",
)
@pytest.mark.django_db(transaction=True)
def test_run_billing_fans_the_renewals_out_to_the_workers_one_task_per_chunk(
    celery_on_redis, settings, tmp_path, capsys
):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.BILLING_RUN_CHUNK = 2
    accounts = _paid_subscriptions(5)
    Invoice.objects.update(emailed_at=timezone.now())  # the purchases were delivered; only renewals below
    assert tasks.renewal_parts(DEC_1) == 3  # 5 due subscriptions, 2 a chunk

    with start_worker(celery_on_redis, perform_ping_check=False, shutdown_timeout=60):
        call_command("run_billing", "--on", "2026-12-01")
        call_command("run_billing", "--on", "2026-12-01")  # a second run of the day bills nothing

    assert capsys.readouterr().out.splitlines() == [
        "2026-12-01: 5 subscriptions renewed, 5 invoices issued (USD 35.00), 0 expired, 0 accounts locked.",
        "2026-12-01: 0 subscriptions renewed, 0 invoices issued (nothing), 0 expired, 0 accounts locked.",
    ]
    renewals = Invoice.objects.filter(issued_on=DEC_1, reason="renewal")
    assert sorted(renewals.values_list("account__name", flat=True)) == sorted(a.name for a in accounts)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the worker thread and this test both write during the run; SQLite's shared in-memory test "
    "database answers 'table is locked' without waiting (runs in CI's PostgreSQL pass)",
)
@pytest.mark.django_db(transaction=True)
def test_the_beat_task_runs_the_chunks_then_the_rest_of_the_day_on_the_workers(celery_on_redis, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.BILLING_RUN_CHUNK = 2
    accounts = _paid_subscriptions(3)
    assert not RevenueMonth.objects.exists()

    with start_worker(celery_on_redis, perform_ping_check=False, shutdown_timeout=60):
        tasks.billing_run_daily.delay("2026-12-01")
        # the chord's last task (billing_run_finish) runs the rest of the day: its snapshot is the sign
        _wait_for(lambda: RevenueMonth.objects.exists())

    renewals = Invoice.objects.filter(issued_on=DEC_1, reason="renewal")
    assert sorted(renewals.values_list("account__name", flat=True)) == sorted(a.name for a in accounts)
