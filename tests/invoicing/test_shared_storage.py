"""Issued PDFs in shared S3 storage (django-storages): a real Celery worker stores the document in a bucket
of moto's S3 server on 127.0.0.1, and the web download serves those stored bytes, not a local file.
Needs `redis-server` (skipped with the reason without it)."""

import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.core import mail
from moto.server import ThreadedMotoServer

from tests.builders import make_billed_account, owner_of
from tests.invoicing.test_tasks import queued, subscribe, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

BUCKET = "prorata-documents"
KEYS = {"access_key": "testing", "secret_key": "testing", "region_name": "us-east-1"}


@pytest.fixture
def s3():
    """moto's S3 in server mode on a free local port, with one empty bucket; stopped afterwards."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=KEYS["access_key"],
        aws_secret_access_key=KEYS["secret_key"],
        region_name=KEYS["region_name"],
    )
    client.create_bucket(Bucket=BUCKET)
    try:
        yield endpoint, client
    finally:
        server.stop()


@pytest.fixture
def shared_storage(s3, settings, tmp_path):
    """The default storage is the bucket, as DOCUMENTS_S3_BUCKET makes it; MEDIA_ROOT an empty folder that stays so."""
    endpoint, client = s3
    settings.MEDIA_ROOT = str(tmp_path)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {"bucket_name": BUCKET, "endpoint_url": endpoint, "file_overwrite": False, **KEYS},
        },
    }
    return client


def test_a_document_stored_by_a_worker_in_the_bucket_is_the_one_downloaded(
    shared_storage, celery_on_redis, redis_url, client, tmp_path
):
    broker = redis.Redis.from_url(redis_url)
    account = make_billed_account(billing_email="finance@acme.example")
    invoice = subscribe(account)  # committed: the delivery waits in Redis

    with start_worker(celery_on_redis, perform_ping_check=False, shutdown_timeout=60):
        wait_for(lambda: len(mail.outbox) == 1 and queued(broker) == [])

    invoice.refresh_from_db()
    [stored] = shared_storage.list_objects_v2(Bucket=BUCKET)["Contents"]
    assert stored["Key"] == invoice.pdf.name and stored["Key"].startswith(f"invoices/2026/{invoice.number}-open")
    in_bucket = shared_storage.get_object(Bucket=BUCKET, Key=stored["Key"])["Body"].read()
    ((_, emailed, _),) = mail.outbox[0].attachments
    assert emailed == in_bucket

    client.force_login(owner_of(account))
    response = client.get(f"/settings/invoices/{invoice.number}.pdf")

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content == in_bucket
    assert len(shared_storage.list_objects_v2(Bucket=BUCKET)["Contents"]) == 1  # served, not stored again
    assert list(tmp_path.iterdir()) == []  # nothing on the local disk


def test_documents_s3_bucket_in_the_environment_makes_the_bucket_the_default_storage():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DOCUMENTS_S3_BUCKET": BUCKET,
        "DOCUMENTS_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "DOCUMENTS_S3_REGION": "eu-central-1",
    }
    code = (
        "import django; django.setup(); from django.core.files.storage import storages; s = storages['default']; "
        "print(type(s).__name__, s.bucket_name, s.endpoint_url, s.region_name, s.file_overwrite)"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["S3Storage", BUCKET, "http://127.0.0.1:9000", "eu-central-1", "False"]
