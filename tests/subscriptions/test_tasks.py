"""The daily run as a Celery task, and the beat entry that starts it at BILLING_RUN_AT."""

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from invoicing.models import Invoice
from invoicing.services import invoice_pay
from subscriptions import tasks
from subscriptions.services import subscription_create
from tests.builders import make_billed_account, make_pro_plan

ROOT = Path(__file__).resolve().parents[2]


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
