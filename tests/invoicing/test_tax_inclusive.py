"""A plan whose prices include tax (Plan.prices_include_tax): the invoice totals as priced, the
tax is extracted from it (billing.plan.invoice_totals), and the page's preview shows the same."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from moneyed import Money

from billing.tax import DOMESTIC, REVERSE_CHARGE
from invoicing.models import Invoice
from subscriptions import services
from subscriptions.models import Cycle
from tests.builders import make_account, make_plan, owner_of
from tests.subscriptions.test_admin import (
    admin_client,  # noqa: F401 (fixture)
    on_nov_15,  # noqa: F401 (fixture)
)

NOV_1 = dt.date(2026, 11, 1)


def eur(value) -> Money:
    return Money(value, "EUR")


@pytest.mark.django_db
def test_an_inclusive_price_is_invoiced_as_priced(eu_tax_rates, client):
    # A German buyer of the German seller: domestic, 19 %. The plan costs 119.00 a month, tax included.
    account = make_account("Berlin GmbH", country="DE", tax_rate=None)
    plan = make_plan("pro-incl", currency="EUR", monthly="119.00", annual=None, prices_include_tax=True)
    sub = services.subscription_create(account=account, plan=plan, cycle=Cycle.MONTHLY, on=NOV_1)
    invoice = Invoice.objects.get(account=account)
    # 119.00 inclusive at 19 %: tax 119.00 × 0.19 / 1.19 = 19.00, net 100.00, total 119.00.
    assert (invoice.tax_rate, invoice.tax_reason, invoice.tax_included) == (Decimal("0.19"), DOMESTIC, True)
    assert (invoice.subtotal, invoice.tax, invoice.total) == (eur("119.00"), eur("19.00"), eur("119.00"))
    assert invoice.amount_due == eur("119.00")

    # The page's next-invoice preview runs the same service: 119.00, of which 19.00 tax.
    client.force_login(owner_of(account))
    with time_machine.travel(dt.datetime(2026, 11, 10, 12, tzinfo=dt.UTC), tick=False):
        page = client.get("/settings/subscription/").content.decode()
    assert "Of which tax" in page and "€19.00" in page and "€119.00" in page

    # Reverse charge on the same plan: nothing to extract, the buyer pays 119.00 with 0.00 tax.
    sub.account.country, sub.account.tax_id = "FR", "FR40303265045"
    sub.account.vies_valid, sub.account.vies_valid_on = True, NOV_1
    sub.account.save()
    services.billing_run(on=dt.date(2026, 12, 1))
    renewal = Invoice.objects.get(account=account, issued_on=dt.date(2026, 12, 1))
    assert (renewal.tax_reason, renewal.tax, renewal.total) == (REVERSE_CHARGE, eur("0.00"), eur("119.00"))
    assert renewal.tax_included  # written by the daily run's bulk insert too


def test_the_admin_says_the_tax_is_included(admin_client, on_nov_15, eu_tax_rates):  # noqa: F811
    account = make_account("Berlin GmbH", country="DE", tax_rate=None)
    plan = make_plan("pro-incl", currency="EUR", monthly="119.00", annual=None, prices_include_tax=True)
    services.subscription_create(account=account, plan=plan, cycle=Cycle.MONTHLY, on=NOV_1)
    invoice = Invoice.objects.get(account=account)
    page = admin_client.get(reverse("admin:invoicing_invoice_change", args=[invoice.pk])).content.decode()
    assert "(19%, included in the total)" in page
