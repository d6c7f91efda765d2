"""A worker killed with SIGKILL in the middle of a delivery: the task's message stays unacknowledged in Redis
(acks_late), a new worker takes it once the visibility timeout has passed, and the document is emailed
exactly once. The workers are real `celery -A config worker` processes on the test's PostgreSQL database
(SQLite's test database lives in this process's memory, out of their reach: skipped there)."""

import email
import email.policy
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.core.mail.backends.filebased import EmailBackend
from django.db import connection

from invoicing.models import Invoice
from tests.builders import make_billed_account
from tests.invoicing.test_tasks import queued, subscribe, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_TIMEOUT = 3  # seconds; an hour by default (CELERY_VISIBILITY_TIMEOUT)


class SlowMailServer(EmailBackend):
    """Django's file-based backend behind a mail server that takes SLOW_MAIL_SECONDS to answer; it leaves
    a `sending-<pid>` mark in SLOW_MAIL_DIR/marks first, so the test knows a worker is mid-send."""

    def __init__(self, **kwargs):
        super().__init__(file_path=os.environ["SLOW_MAIL_DIR"], **kwargs)

    def send_messages(self, messages):
        marks = Path(os.environ["SLOW_MAIL_DIR"]).parent / "marks"
        marks.mkdir(exist_ok=True)
        (marks / f"sending-{os.getpid()}").touch()
        time.sleep(float(os.environ["SLOW_MAIL_SECONDS"]))
        return super().send_messages(messages)


def worker(redis_url: str, folder: Path) -> subprocess.Popen:
    """`celery -A config worker -c 1` in its own process group, on the test database and `redis_url`."""
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": redis_url,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "EMAIL_BACKEND": f"{__name__}.{SlowMailServer.__name__}",
        "SLOW_MAIL_DIR": str(folder / "mail"),
        "SLOW_MAIL_SECONDS": "4",
        "MEDIA_ROOT": str(folder / "media"),
    }
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "-c", "1", "--without-heartbeat"]
    log = (folder / f"worker-{time.monotonic_ns()}.log").open("w")
    return subprocess.Popen(
        [*command, "--without-gossip", "--without-mingle", "-l", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def sent(folder: Path) -> list[str]:
    """The messages the file-based backend wrote (one file per connection, messages split by its rule line)."""
    mail = folder / "mail"
    files = sorted(mail.iterdir()) if mail.exists() else []
    return [m for f in files for m in f.read_text().split("-" * 79) if m.strip()]


ON_SQLITE = "needs PostgreSQL: worker processes cannot reach SQLite's in-memory test database"


@pytest.mark.skipif(connection.vendor != "postgresql", reason=ON_SQLITE)
def test_a_worker_killed_mid_delivery_leaves_the_task_to_another_that_sends_it_once(
    celery_on_redis, redis_url, tmp_path
):
    broker = redis.Redis.from_url(redis_url)
    invoice = subscribe(make_billed_account(billing_email="finance@acme.example"))
    assert queued(broker) == ["invoicing.document_deliver"]

    first = worker(redis_url, tmp_path)
    try:
        wait_for(lambda: (tmp_path / "marks").exists() and any((tmp_path / "marks").iterdir()), seconds=60)
        os.killpg(first.pid, signal.SIGKILL)  # the worker and its pool process, mid-send
        first.wait(10)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert sent(tmp_path) == []
    assert Invoice.objects.get(pk=invoice.pk).emailed_at is None
    assert queued(broker) == []  # not in the queue: taken, unacknowledged (Redis keeps it aside)

    # Past the visibility timeout before the next worker starts: kombu looks for messages to restore when a
    # worker starts and then only every tenth poll (~100 s), so one started earlier would find nothing due.
    time.sleep(VISIBILITY_TIMEOUT + 1)
    second = worker(redis_url, tmp_path)
    try:
        wait_for(lambda: len(sent(tmp_path)) == 1, seconds=90)
        wait_for(lambda: Invoice.objects.get(pk=invoice.pk).emailed_at is not None, seconds=30)
        time.sleep(VISIBILITY_TIMEOUT + 2)  # a second redelivery, if the message had not been acknowledged
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)

    assert len(list((tmp_path / "marks").iterdir())) == 2  # two workers started sending, one was killed
    [raw] = sent(tmp_path)
    message = email.message_from_string(raw.strip(), policy=email.policy.default)
    assert message["Subject"] == f"Invoice {invoice.number} — $7.00" and message["To"] == "finance@acme.example"
    assert queued(broker) == [] and broker.hlen("unacked") == 0
