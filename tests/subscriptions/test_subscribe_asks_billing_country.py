"""Subscribing asks the buyer's country (and a business's VAT ID) before the first invoice: the tax rules need them."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from accounts import services as accounts_services
from accounts.models import Account
from invoicing.models import Invoice
from subscriptions.models import Subscription
from tests.builders import make_team_plan, world

pytestmark = pytest.mark.django_db

URL = reverse("subscriptions:subscribe")


@pytest.fixture
def signed_up(client, eu_tax_rates):
    """A sign-up as on the page: no manual tax rate, no country yet; Team at $7.00 a seat a month."""
    with time_machine.travel("2026-11-15 12:00Z", tick=False):
        user, account = accounts_services.signup(
            email="new@newco.example", password="a long password 1", account_name="NewCo", tax_rate=None
        )
        make_team_plan()
        client.force_login(user)
        yield client, account


def text(response) -> str:
    return response.content.decode()


def test_the_plan_form_asks_the_country_first(signed_up):
    client, account = signed_up
    page = text(client.get(URL))
    assert page.index("Your country") < page.index("Plan")
    assert "You buy as" in page and "VAT ID" in page
    page = text(client.get(URL, {"plan": "team", "cycle": "monthly"}))
    assert "This field is required." in page and "field-error" in page
    assert not Subscription.objects.filter(account=account).exists()


def test_a_business_in_the_eu_gives_a_valid_vat_id_and_nothing_is_saved_until_then(signed_up):
    client, account = signed_up
    ask = {"plan": "team", "cycle": "monthly", "country": "FR", "buyer": "business"}
    assert "A business in the EU gives its VAT ID" in text(client.get(URL, ask))
    # FR40303265046: the key "40" does not match the SIREN 303265046 (valid: FR40303265045).
    page = text(client.get(URL, {**ask, "tax_id": "FR40303265046"}))
    assert "FR VAT numbers are FR followed by 2 digits or letters and 9 digits." in page
    account.refresh_from_db()
    assert (account.country, account.tax_id) == ("", "")
    assert not Invoice.objects.filter(account=account).exists()


def test_an_austrian_individual_sees_and_pays_austrian_vat(signed_up):
    client, account = signed_up
    params = {"plan": "team", "cycle": "monthly", "country": "AT", "buyer": "individual", "tax_id": "ignored"}
    with time_machine.travel("2026-11-15 12:00Z", tick=False):
        shown = client.get(URL, params)
        # One seat (the owner) at $7.00 a month; AT consumer: 20 % → $1.40 tax, $8.40 in all.
        assert "$1.40" in text(shown) and "$8.40" in text(shown)
        account.refresh_from_db()
        assert account.country == "", "the preview saves nothing"
        done = client.post(URL, {**params, "fingerprint": shown.context["fingerprint"]}, follow=True)
    assert "Welcome to Team." in text(done)
    account.refresh_from_db()
    assert (account.country, account.tax_id) == ("AT", "")
    invoice = Invoice.objects.get(account=account)
    assert (invoice.tax_rate, invoice.tax_reason, invoice.buyer["country"]) == (Decimal("0.2"), "eu_consumer", "AT")


def test_a_german_business_gives_its_vat_id_with_the_plan(signed_up):
    client, account = signed_up
    params = {"plan": "team", "cycle": "monthly", "country": "DE", "buyer": "business", "tax_id": "DE 136695976"}
    with time_machine.travel("2026-11-15 12:00Z", tick=False):
        shown = client.get(URL, params)
        # DE seller, DE buyer: domestic 19 % of $7.00 → $1.33, $8.33 in all.
        assert "$1.33" in text(shown) and "$8.33" in text(shown)
        client.post(URL, {**params, "fingerprint": shown.context["fingerprint"]})
    account = Account.objects.get(pk=account.pk)
    assert (account.country, account.tax_id) == ("DE", "DE136695976")
    assert Invoice.objects.get(account=account).buyer["tax_id"] == "DE136695976"


def test_an_account_with_a_manual_rate_or_a_country_is_not_asked(client):
    with time_machine.travel("2026-11-15 12:00Z", tick=False):
        w = world(on=date(2026, 11, 15), people=1, subscribe=False)  # support's manual rate 0
        client.force_login(w.owner)
        assert "Your country" not in text(client.get(URL))
        w.account.tax_rate = None
        w.account.country = "US"
        w.account.save()
        assert "Your country" not in text(client.get(URL))
