"""Sign-up to first login in real Chromium (issue 18): check your email, follow the link from the outbox, log in;
then five wrong passwords meet the lockout page."""

import re

import pytest
from django.core import mail

from tests.browser.conftest import CHROMIUM, LAPTOP

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (apt-get install chromium)"),
    pytest.mark.django_db(transaction=True),
]


def test_sign_up_verify_log_in_then_get_locked_out(chromium, live_server, shot):
    context = chromium.new_context(viewport=LAPTOP, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/accounts/signup/")
    page.fill("#id_email", "nia@example.com")
    page.fill("#id_name", "Nia")
    page.fill("#id_password", "a-long-fine-password")
    page.fill("#id_account_name", "Nia's Team")
    page.click("button[type=submit]")
    assert page.locator("h1").inner_text() == "Check your email"
    shot(page, "18-signup-check-your-email")

    def log_in(password):
        page.goto("/accounts/login/")
        page.fill("#id_username", "nia@example.com")
        page.fill("#id_password", password)
        page.click("form[action='/accounts/login/'] button[type=submit]")

    log_in("a-long-fine-password")
    assert "Confirm your email address first" in page.content()
    assert page.locator("[data-verify-resend] button").is_visible()

    link = re.search(r"(/accounts/verify/\S+/)", mail.outbox[-1].body).group(1)
    page.goto(link)
    assert "nia@example.com is confirmed" in page.content()
    assert page.input_value("#id_username") == "nia@example.com"
    page.fill("#id_password", "a-long-fine-password")
    page.click("form[action='/accounts/login/'] button[type=submit]")
    page.wait_for_url(re.compile(r"/app/$"))
    context.clear_cookies()  # a new visitor from the same address

    for _ in range(5):
        log_in("wrong-password")
    assert page.locator("h1").inner_text() == "Too many failed logins"
    assert "Try again in 15 minutes" in page.locator("[data-locked-out]").inner_text()
    shot(page, "18-locked-out")
    context.close()
