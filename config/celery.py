"""The Celery app: background work (documents, card charges, refunds, the daily run's chunks).

Settings come from Django's settings, prefixed CELERY_. With no CELERY_BROKER_URL every task runs
in-process right after the commit that enqueued it (eager mode), so `make run` needs only Python.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("prorata")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
