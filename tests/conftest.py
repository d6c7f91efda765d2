import os

import pytest
from django.conf import settings
from django.utils import translation
from moneyed import Money

from common.catalogs import catalogs_compile


def pytest_sessionstart(session):
    """German and French documents need the compiled catalogues (`make messages` does the same)."""
    for root in settings.LOCALE_PATHS:
        catalogs_compile(root)


os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def plan(db):
    """The $7/month, $70/year “team” plan (max_instances=1) shared by the API and licensing tests."""
    from subscriptions.models import Plan

    return Plan.objects.create(
        code="team",
        name="Team",
        currency="USD",
        monthly_price=Money("7.00", "USD"),
        annual_price=Money("70.00", "USD"),
        max_instances=1,
    )


PASSWORD = "correct-horse-battery"
ROLES = ["owner", "admin", "billing_admin", "member", "none"]


@pytest.fixture
def team(db):
    """An account with one active person per role: team["owner"] is that person's membership."""
    from accounts import services

    owner, account = services.signup(
        email="olga@acme.example", password=PASSWORD, account_name="Acme", name="Olga Owner"
    )
    people = {"owner": account.memberships.get(user=owner)}
    for role in ROLES[1:]:
        services.user_create(email=f"{role}@acme.example", password=PASSWORD, name=role.replace("_", " ").title())
        m = services.membership_invite(account=account, email=f"{role}@acme.example", role=role, by=owner)
        people[role] = services.invitation_accept(token=services.invitation_token(m), user=m.user)
    people["account"] = account
    return people


@pytest.fixture
def as_role(client, team):
    """Log the test client in as the person with `role` (or stay anonymous)."""

    def login(role):
        if role != "anonymous":
            client.force_login(team[role].user)
        return client

    return login


@pytest.fixture
def eu_tax_rates(db):
    """The rate table as the data migration seeds it (the suite builds its database without migrations)."""
    import importlib

    from accounts.models import TaxRate

    seeded = importlib.import_module("accounts.migrations.0005_eu_tax_rates").EU_STANDARD_RATES
    TaxRate.objects.bulk_create(
        TaxRate(country=country, rate=rate, valid_from=since) for country, (rate, since) in seeded.items()
    )
    return {country: rate for country, (rate, _since) in seeded.items()}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A throw-away `redis-server` on 127.0.0.1 on a free port, nothing saved to disk; stopped at the end."""
    import shutil
    import socket
    import subprocess
    import time

    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (Debian package redis-server); the worker tests need it")
    port = _free_port()
    folder = tmp_path_factory.mktemp("redis")
    args = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    proc = subprocess.Popen([*args, "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def celery_on_redis(redis_url):
    """The project's Celery app pointed at `redis_url` (not eager: tasks wait in Redis for a worker),
    with an empty database 0; put back as it was (eager, in-process) afterwards."""
    import redis

    from config.celery import app

    keys = ("broker_url", "result_backend", "task_always_eager")
    before = {key: app.conf[key] for key in keys}

    def forget_connections():
        app._pool = None  # the broker connection pool (not app.close(): that unregisters the app, and tasks
        # imported afterwards would never be registered with it)
        app.amqp._producer_pool = None  # producers bound to the old broker URL (e.g. amqp:// when it was empty)
        vars(app._local).pop("backend", None)  # the result backend this thread made from the old settings

    redis.Redis.from_url(redis_url).flushdb()
    forget_connections()
    app.conf.update(broker_url=redis_url, result_backend=redis_url, task_always_eager=False)
    try:
        yield app
    finally:
        forget_connections()
        app.conf.update(before)


@pytest.fixture(autouse=True)
def in_english():
    """Each test starts in English, as a new request or task does: a request through LocaleMiddleware leaves
    its language active in the thread, and the next test (the same worker thread) would inherit it."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def no_real_vies(settings):
    """Never the EU's real VIES: a closed local port (every check finds VIES unavailable) unless a
    test asks for the `vies` server."""
    settings.VIES_BASE_URL = "http://127.0.0.1:9"
    settings.VIES_TIMEOUT_SECONDS = 2


@pytest.fixture
def vies(settings):
    """A VIES-shaped server on a free port of 127.0.0.1 (tests/vies_server.py), used by the VIES client."""
    from tests.vies_server import ViesServer

    with ViesServer() as server:
        settings.VIES_BASE_URL = server.url
        yield server
