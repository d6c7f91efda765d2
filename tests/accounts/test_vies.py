"""The VIES check of a buyer's VAT ID (accounts/vies.py), against a VIES-shaped server on 127.0.0.1.

The seller is German (settings.SELLER, DE 19 %); the buyer a French company (FR 20 %) on a plan of
100.00 EUR a month, subscribed on Nov 1 before it gave its VAT ID, renewed on Dec 1.
"""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from moneyed import Money

from accounts.models import Account
from accounts.services import billing_details_update
from accounts.vies import ViesUnavailable, vies_ask, vies_check, vies_notice
from billing.tax import EU_CONSUMER, REVERSE_CHARGE
from invoicing.models import Invoice
from subscriptions import services
from subscriptions.models import Cycle, Subscription
from subscriptions.previews import next_invoice_preview
from tests.builders import make_account, make_plan, owner_of

NOV_1, DEC_1 = dt.date(2026, 11, 1), dt.date(2026, 12, 1)
DEC_1_NOON = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
FR_VAT = "FR40303265045"


def eur(value) -> Money:
    return Money(value, "EUR")


@pytest.fixture
def buyer(db, eu_tax_rates):
    """Acme SAS, France, no manual rate; its first invoice (no VAT ID yet): 100.00 + 20 % = 120.00."""
    account = make_account("Acme SAS", country="FR", tax_rate=None, timezone="UTC")
    plan = make_plan("pro-eur", currency="EUR", monthly="100.00", annual=None)
    services.subscription_create(account=account, plan=plan, cycle=Cycle.MONTHLY, on=NOV_1)
    first = Invoice.objects.get(account=account)
    assert (first.tax_reason, first.tax, first.total) == (EU_CONSUMER, eur("20.00"), eur("120.00"))
    return account


def give_vat_id(account, capture, vat_id=FR_VAT) -> Account:
    """Save the VAT ID on Dec 1 as Settings › Billing details does; the check runs after commit."""
    with time_machine.travel(DEC_1_NOON, tick=False), capture(execute=True):
        billing_details_update(account=account, changes={"tax_id": vat_id})
    return Account.objects.get(pk=account.pk)


def renewal(account) -> Invoice:
    services.billing_run(on=DEC_1)
    return Invoice.objects.filter(account=account, issued_on=DEC_1).get()


def page_text(client, account, url) -> str:
    client.force_login(owner_of(account))
    with time_machine.travel(DEC_1_NOON, tick=False):
        return client.get(url).content.decode()


def test_a_valid_vat_id_makes_the_next_invoice_reverse_charge(vies, buyer, django_capture_on_commit_callbacks):
    vies.valid.add(FR_VAT)
    account = give_vat_id(buyer, django_capture_on_commit_callbacks)
    assert vies.asked == [{"countryCode": "FR", "vatNumber": "40303265045"}]
    # The evidence: the answer, its day and VIES's consultation number.
    assert (account.vies_valid, account.vies_checked_on, account.vies_valid_on) == (True, DEC_1, DEC_1)
    assert account.vies_consultation == "WAPIAAAAW0000001" and account.vies_message == ""
    invoice = renewal(account)
    # DE seller, FR business with a VAT ID VIES found valid today: 0 % reverse charge.
    # 100.00 + 0.00 tax = 100.00 (the first invoice, before the VAT ID, was 100.00 + 20.00).
    assert (invoice.tax_rate, invoice.tax_reason) == (Decimal(0), REVERSE_CHARGE)
    assert (invoice.tax, invoice.total) == (eur("0.00"), eur("100.00"))
    assert len(vies.asked) == 1  # the evidence holds: the run asks nothing
    assert vies_notice(account, DEC_1) == ""


def test_an_invalid_vat_id_pays_the_consumer_rate_and_is_told_why(
    vies, buyer, client, django_capture_on_commit_callbacks
):
    account = give_vat_id(buyer, django_capture_on_commit_callbacks)  # VIES: not valid
    assert (account.vies_valid, account.vies_checked_on, account.vies_valid_on) == (False, DEC_1, None)
    invoice = renewal(account)
    # Not a validated business: a French consumer, France's 20 %: 100.00 × 20 % = 20.00 → 120.00.
    assert (invoice.tax_rate, invoice.tax_reason) == (Decimal("0.2"), EU_CONSUMER)
    assert (invoice.tax, invoice.total) == (eur("20.00"), eur("120.00"))
    said = f"VIES found your VAT ID {FR_VAT} not valid on 1 Dec 2026, so VAT is charged."
    assert said in vies_notice(account, DEC_1)
    assert said in page_text(client, account, "/settings/billing-details/")
    assert said in page_text(client, account, "/settings/subscription/")


def test_vies_down_with_a_recent_valid_check_still_reverse_charges(vies, buyer):
    # VIES said valid 30 days before Dec 1 (VIES_MAX_AGE_DAYS is 90); today France's register is down.
    Account.objects.filter(pk=buyer.pk).update(
        tax_id=FR_VAT, vies_valid=True, vies_valid_on=DEC_1 - dt.timedelta(days=30), vies_consultation="WAPI-OLD"
    )
    vies.down.add(FR_VAT)
    account = vies_check(buyer.pk, on=DEC_1)
    assert len(vies.asked) == 1 and account.vies_message == "VIES unavailable: MS_UNAVAILABLE"
    assert (account.vies_valid, account.vies_valid_on, account.vies_consultation) == (
        True,
        DEC_1 - dt.timedelta(days=30),
        "WAPI-OLD",
    )
    invoice = renewal(account)
    # The last valid check (30 days old) holds: 0 % reverse charge, 100.00 + 0.00 = 100.00.
    assert (invoice.tax_reason, invoice.tax, invoice.total) == (REVERSE_CHARGE, eur("0.00"), eur("100.00"))
    assert vies_notice(account, DEC_1) == ""


def test_vies_down_without_a_valid_check_charges_vat_and_says_so(
    vies, buyer, client, django_capture_on_commit_callbacks
):
    vies.broken.add(FR_VAT)  # HTTP 503
    account = give_vat_id(buyer, django_capture_on_commit_callbacks)
    assert (account.vies_valid, account.vies_checked_on) == (None, DEC_1)
    assert account.vies_message == "VIES unavailable: HTTP 503"
    invoice = renewal(account)
    assert len(vies.asked) == 1  # checked on Dec 1 already: the run does not ask twice a day
    # No evidence: France's 20 %, 100.00 × 20 % = 20.00 → 120.00.
    assert (invoice.tax_reason, invoice.tax, invoice.total) == (EU_CONSUMER, eur("20.00"), eur("120.00"))
    said = f"Your VAT ID {FR_VAT} could not be checked with VIES on 1 Dec 2026; VAT is charged until it can be."
    assert vies_notice(account, DEC_1) == said
    assert said in page_text(client, account, "/settings/billing-details/")
    assert said in page_text(client, account, "/settings/subscription/")


def test_the_daily_run_asks_again_before_renewing_when_the_evidence_is_too_old(vies, buyer):
    # Valid 100 days before Dec 1: older than VIES_MAX_AGE_DAYS (90), so the run asks VIES first.
    old = DEC_1 - dt.timedelta(days=100)
    Account.objects.filter(pk=buyer.pk).update(tax_id=FR_VAT, vies_valid=True, vies_checked_on=old, vies_valid_on=old)
    vies.valid.add(FR_VAT)
    invoice = renewal(buyer)
    assert len(vies.asked) == 1
    buyer.refresh_from_db()
    assert (buyer.vies_valid_on, buyer.vies_consultation) == (DEC_1, "WAPIAAAAW0000001")
    assert (invoice.tax_reason, invoice.total) == (REVERSE_CHARGE, eur("100.00"))


def test_a_preview_of_the_next_invoice_asks_vies_nothing(vies, buyer):
    # The same too-old evidence: the real run would ask first; the preview bills on the evidence as it stands.
    old = DEC_1 - dt.timedelta(days=100)
    Account.objects.filter(pk=buyer.pk).update(tax_id=FR_VAT, vies_valid=True, vies_checked_on=old, vies_valid_on=old)
    vies.valid.add(FR_VAT)
    preview = next_invoice_preview(Subscription.objects.get(account=buyer))
    assert vies.asked == []
    [invoice] = preview.invoices
    assert (invoice.issued_on, invoice.tax_rate, invoice.total) == (DEC_1, Decimal("0.20"), eur("120.00"))
    assert not Invoice.objects.filter(issued_on=DEC_1).exists()


def test_a_rolled_back_change_asks_nothing(vies, buyer, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        billing_details_update(account=buyer, changes={"tax_id": FR_VAT})
    assert len(callbacks) == 1 and vies.asked == []  # queued for after commit, not run inside it


def test_no_manual_rate_or_domestic_buyer_is_asked(vies, eu_tax_rates):
    # A manual rate wins over any VIES answer; a German buyer of a German seller is domestic anyway.
    manual = make_account("Manual", country="FR", tax_id=FR_VAT, tax_rate=Decimal("0.2"))
    domestic = make_account("Berlin", country="DE", tax_id="DE136695976", tax_rate=None)
    vies_check(manual.pk, on=DEC_1)
    vies_check(domestic.pk, on=DEC_1)
    assert vies.asked == []


def test_the_client_says_unavailable_rather_than_guessing(vies):
    vies.down.add(FR_VAT)
    with pytest.raises(ViesUnavailable, match="MS_UNAVAILABLE"):
        vies_ask(FR_VAT, "FR", base_url=vies.url, timeout=5)
    with pytest.raises(ViesUnavailable):  # nothing listens there
        vies_ask(FR_VAT, "FR", base_url="http://127.0.0.1:9", timeout=5)
    with pytest.raises(ViesUnavailable, match="http"):
        vies_ask(FR_VAT, "FR", base_url="file:///etc/passwd", timeout=5)
    # Greece: ISO GR, VAT prefix EL.
    vies_ask("EL094259216", "GR", base_url=vies.url, timeout=5)
    assert vies.asked[-1] == {"countryCode": "EL", "vatNumber": "094259216"}


def test_support_asks_vies_from_the_account_admin(vies, buyer, client, django_capture_on_commit_callbacks):
    from django.urls import reverse

    from accounts.models import User
    from tests.builders import verified_login
    from tests.subscriptions.test_admin import preview_then_confirm

    Account.objects.filter(pk=buyer.pk).update(tax_id=FR_VAT)
    vies.valid.add(FR_VAT)
    with time_machine.travel(DEC_1_NOON, tick=False):
        verified_login(client, User.objects.create_superuser(email="root@prorata.example", password=None))
        url = reverse("admin:accounts_account_action", args=[buyer.pk, "vies_check"])
        with django_capture_on_commit_callbacks(execute=False):
            client.post(url, {"preview": "1"})
        assert vies.asked == []  # the preview asks nothing
        with django_capture_on_commit_callbacks(execute=True):
            preview_then_confirm(client, url, {})
    buyer.refresh_from_db()
    assert len(vies.asked) == 1
    assert (buyer.vies_valid, buyer.vies_valid_on, buyer.vies_consultation) == (True, DEC_1, "WAPIAAAAW0000001")
    assert buyer.history.order_by("-history_id").first().history_change_reason == "VIES check"
