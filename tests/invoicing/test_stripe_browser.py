"""A card set up in a real browser on the payment-method page, with localstripe's Stripe.js stand-in (issue 8).

localstripe serves `localstripe-v3.js` at /js.stripe.com/v3/: Stripe(), elements().create("card")
(plain inputs instead of Stripe's iframe) and confirmCardSetup(), which confirms the SetupIntent
on localstripe. Skipped with the reason when no Chromium can be started.
"""

import shutil

import pytest
from django.conf import settings as django_settings

from accounts.models import Account
from invoicing.models import StripeCustomer
from tests.builders import make_account, owner_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser_page():
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        with sync_api.sync_playwright() as p:
            try:
                browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
            except Exception as e:  # no browser installed here: say so rather than fail
                pytest.skip(f"Chromium could not be started: {e.__class__.__name__}")
            page = browser.new_page()
            page.set_default_timeout(10_000)
            yield page
            browser.close()
    except RuntimeError as e:  # e.g. an asyncio loop already running in this thread
        pytest.skip(f"Playwright could not run: {e}")


def _fill_card(page, number: str) -> None:
    page.get_by_role("button", name="Pay by card").click()
    for placeholder, value in (
        ("number", number),
        ("exp_month", "12"),
        ("exp_year", "29"),
        ("cvc", "123"),
        ("postal_code", "10115"),
    ):
        page.locator(f"#card-element input[placeholder={placeholder}]").fill(value)
    page.get_by_role("button", name="Save card").click()


def test_card_setup_in_the_browser(stripe_on, live_server, client, browser_page):
    account = make_account()
    client.force_login(owner_of(account))
    page = browser_page
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
    page.goto(f"{live_server.url}/settings/payment-method/")

    _fill_card(page, "4000000000000002")  # declined when attached: the reason shows, nothing is saved
    page.wait_for_function("document.getElementById('card-errors').textContent.length > 0")
    assert "declined" in page.locator("#card-errors").inner_text()
    account.refresh_from_db()
    assert account.payment_gateway == Account.Gateway.BANK_TRANSFER

    page.goto(f"{live_server.url}/settings/payment-method/")
    _fill_card(page, "4242424242424242")
    page.wait_for_selector("[data-card]")
    assert page.locator("[data-card]").inner_text() == "Visa •••• 4242, expires 12/29"
    account.refresh_from_db()
    assert account.payment_gateway == Account.Gateway.STRIPE
    assert StripeCustomer.objects.get(account=account).card_last4 == "4242"
