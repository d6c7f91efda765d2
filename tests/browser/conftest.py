"""Real Chromium (Debian's /usr/bin/chromium) driven by Playwright against pytest-django's live_server."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from django.conf import settings as django_settings
from django.test import Client

from config.settings import CSP_POLICY
from tests.builders import verified_login

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[2] / "test-output" / "browser"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def chromium():
    # Module scope: Playwright's sync API runs an event loop, which must be gone before another module starts its own.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def clock():
    """The live server's today: Nov 15, 2026 — day 15 of a Nov 1 – Dec 1 period. Time moves on from 9:00."""
    with time_machine.travel(datetime(2026, 11, 15, 9, 0, tzinfo=UTC), tick=True) as traveller:
        yield traveller


@pytest.fixture
def pages_settings(settings):
    settings.CONTENT_SECURITY_POLICY = CSP_POLICY  # the journeys run under the production profile's policy
    settings.DEMO_SELF_PAY = True
    return settings


@pytest.fixture
def open_as(chromium, live_server, pages_settings):
    """`open_as(user)` → a Playwright page signed in as `user` (a session made by Django's test client)."""
    contexts = []

    def open_page(user, *, viewport=LAPTOP):
        client = Client()
        if user.is_staff:  # through the two-factor page with a real TOTP code, as staff sign in
            verified_login(client, user)
        else:
            client.force_login(user)
        context = chromium.new_context(viewport=viewport, base_url=live_server.url, accept_downloads=True)
        cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def shot():
    """`shot(page, name)` saves a full-page screenshot under test-output/browser/."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def save(page, name: str) -> Path:
        path = SHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return save
