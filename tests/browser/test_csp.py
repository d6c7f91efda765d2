"""The production Content-Security-Policy in Chromium: pages, admin, API docs, card form, no violation (issue 18).

Each page is opened with the production profile's policy on; a `securitypolicyviolation` listener (added
before any page script runs) and the console both record every blocked script, style, image, frame or
request, and the test asserts none was blocked and that the page's working parts are there.
"""

from base64 import b32decode
from datetime import date

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django_otp.oath import totp

from accounts.models import User
from config.settings import CSP_POLICY
from subscriptions.models import Plan
from tests.browser.conftest import CHROMIUM, LAPTOP
from tests.builders import verified_login, world
from tests.invoicing.conftest import localstripe, stripe_on  # noqa: F401 (fixtures for the card form)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is not installed (apt-get install chromium)"),
    pytest.mark.django_db(transaction=True),
]

NOV_1 = date(2026, 11, 1)
WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`);
});
"""


@pytest.fixture
def csp_on(pages_settings):
    assert pages_settings.CONTENT_SECURITY_POLICY == CSP_POLICY  # as in every browser journey
    return pages_settings


@pytest.fixture
def watched(chromium, live_server, csp_on):
    """`watched(user)` → (page, violations): a signed-in page that records every CSP violation."""
    contexts = []

    def open_page(user):
        client = Client()
        if user.is_staff:
            verified_login(client, user)
        else:
            client.force_login(user)
        context = chromium.new_context(viewport=LAPTOP, base_url=live_server.url)
        cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}])
        context.add_init_script(WATCH)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        console = []
        page.on(
            "console",
            lambda m: console.append(m.text) if "Content Security Policy" in m.text or m.type == "error" else None,
        )
        return page, console

    yield open_page
    for context in contexts:
        context.close()


def visit(page, console, path: str) -> list[str]:
    """Open `path`; the violations it caused (listener and console), after the page settled."""
    response = page.goto(path)
    assert response.status == 200, path
    assert response.headers.get("content-security-policy"), path
    page.wait_for_load_state("networkidle")
    found = page.evaluate("window.__csp") + console
    console.clear()
    return found


def test_the_header_is_the_production_policy(csp_on, client, db):
    header = client.get("/accounts/login/")["Content-Security-Policy"]
    assert "default-src 'self'" in header
    assert "script-src 'self' 'nonce-" not in header  # no page here asked for a nonce: no nonce is offered
    assert "script-src 'self'" in header and "style-src 'self'" in header and "img-src 'self' data:" in header
    assert "unsafe-inline" not in header and "unsafe-eval" not in header
    assert "stripe" not in header  # card payments are off


def test_subscription_members_and_api_docs_load_with_no_violation(clock, watched):
    w = world(on=NOV_1, people=2)
    page, console = watched(w.owner)
    assert visit(page, console, "/settings/subscription/") == []
    assert page.locator("h1").is_visible()
    assert page.locator(".next-invoice").is_visible() and page.locator("[data-seats]").first.is_visible()
    assert visit(page, console, "/settings/members/") == []
    # the invite row is laid out by the stylesheet, not by style="" attributes: it is a flex row
    assert page.locator(".invite-row").evaluate("e => getComputedStyle(e).display") == "flex"
    # the "Make owner" question comes from prorata.js (no inline onsubmit)
    assert visit(page, console, "/settings/invoices/") == []
    assert visit(page, console, "/api/docs/") == []
    page.wait_for_selector(".swagger-ui .opblock")
    assert page.locator(".swagger-ui .opblock").count() > 5
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("Prorata API")
    assert page.locator("body").evaluate("e => getComputedStyle(e).margin") == "0px"  # swagger-page.css applied
    page.context.close()
    page, console = watched(w.owner)
    assert visit(page, console, "/accounts/login/") == []
    # the watcher does see a violation: an inline script added to the page is blocked and reported
    page.evaluate("document.body.append(Object.assign(document.createElement('script'), {text: 'window.ran = 1'}))")
    page.wait_for_function("window.__csp.length > 0")
    assert page.evaluate("window.ran") is None
    assert "script-src" in page.evaluate("window.__csp")[0]


def test_admin_pages_load_with_no_violation(clock, watched):
    w = world(on=NOV_1, people=2)
    root = User.objects.create_superuser(email="root-csp@prorata.example", password=None)
    page, console = watched(root)
    assert visit(page, console, "/admin/") == []
    assert page.locator("#site-name").is_visible()
    assert visit(page, console, "/admin/accounts/account/") == []
    assert page.locator("#result_list").is_visible()
    assert visit(page, console, f"/admin/accounts/account/{w.account.pk}/change/") == []
    assert page.locator("#account_form").is_visible()
    plan = Plan.objects.get(pk=w.plan.pk)
    assert visit(page, console, f"/admin/subscriptions/plan/{plan.pk}/change/") == []
    # plan-annual-price.js ran: the "Monthly × 10" button is next to the annual price
    assert page.get_by_role("button", name="Monthly × 10 (two months free)").is_visible()
    invoice = w.account.invoices.first()
    assert visit(page, console, f"/admin/invoicing/invoice/{invoice.pk}/change/") == []
    assert page.locator("#invoice_form").is_visible()


def test_card_form_with_stripe_js_loads_and_saves_with_no_violation(stripe_on, watched, csp_on, client):  # noqa: F811
    w = world(on=NOV_1, people=1)
    header = client.get("/accounts/login/")["Content-Security-Policy"]
    assert "https://js.stripe.com" in header and stripe_on in header
    page, console = watched(w.owner)
    assert visit(page, console, "/settings/payment-method/") == []
    page.get_by_role("button", name="Pay by card").click()
    page.wait_for_selector("#card-element input")
    for placeholder, value in (
        ("number", "4242424242424242"),
        ("exp_month", "12"),
        ("exp_year", "29"),
        ("cvc", "123"),
        ("postal_code", "10115"),
    ):
        page.locator(f"#card-element input[placeholder={placeholder}]").fill(value)
    page.get_by_role("button", name="Save card").click()
    page.wait_for_selector("[data-card]")
    assert page.locator("[data-card]").inner_text() == "Visa •••• 4242, expires 12/29"
    assert page.evaluate("window.__csp") + console == []


def test_staff_enrol_two_factor_in_the_browser_under_the_policy(chromium, live_server, csp_on):
    """Password at the admin's login, then the enrolment page (QR as a data: image), a code, the recovery codes."""
    User.objects.create_superuser(email="new-staff@prorata.example", password="a long staff password")
    context = chromium.new_context(viewport=LAPTOP, base_url=live_server.url)
    context.add_init_script(WATCH)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/admin/")
    page.fill("#id_username", "new-staff@prorata.example")
    page.fill("#id_password", "a long staff password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/accounts/2fa/setup/**")
    qr = page.locator("img.qr")
    assert qr.is_visible() and qr.evaluate("img => img.naturalWidth") > 0  # the data: image loaded
    key = page.locator("[data-secret]").inner_text().replace(" ", "")
    page.fill("input[name=code]", f"{totp(b32decode(key)):06d}")
    page.get_by_role("button", name="Confirm").click()
    assert page.locator("[data-recovery-codes] li").count() == 10
    page.get_by_role("link", name="Continue").click()
    page.wait_for_url("**/admin/")
    assert page.locator("#site-name").inner_text() == "Prorata support"
    assert page.evaluate("window.__csp") == []
    context.close()
