"""One currency per document (SPEC §2.2): the database refuses a row whose amounts are in another currency
than the row's own (check constraints; run on SQLite and, with DATABASE_URL, on PostgreSQL)."""

import re
from datetime import date

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from moneyed import Money

from accounts.models import User
from invoicing.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine
from subscriptions.models import Plan
from tests.builders import make_account, verified_login

pytestmark = pytest.mark.django_db

NOV_1, DEC_1 = date(2026, 11, 1), date(2026, 12, 1)
INVOICE_AMOUNTS = [
    "subtotal",
    "discount",
    "tax",
    "total",
    "credit_applied",
    "amount_due",
    "amount_paid",
    "amount_credited",
]


def invoice(account, currency="USD", **amounts) -> Invoice:
    fields = {name: Money("0.00", currency) for name in INVOICE_AMOUNTS} | amounts
    return Invoice.objects.create(
        account=account, reason=Invoice.Reason.PURCHASE, currency=currency, issued_on=NOV_1, due_on=NOV_1, **fields
    )


def refused(make) -> str:
    with pytest.raises(IntegrityError) as exc, transaction.atomic():
        make()
    return str(exc.value)


def test_an_invoice_in_one_currency_is_stored():
    stored = invoice(make_account(), "JPY", total=Money(980, "JPY"))
    assert Invoice.objects.get(pk=stored.pk).total == Money(980, "JPY")


@pytest.mark.parametrize("amount", INVOICE_AMOUNTS)
def test_an_invoice_amount_in_another_currency_is_refused(amount):
    account = make_account()
    assert "invoice_amounts_in_invoice_currency" in refused(
        lambda: invoice(account, "USD", **{amount: Money("7.00", "EUR")})
    )
    assert not Invoice.objects.filter(account=account).exists()


def test_an_invoice_line_in_two_currencies_is_refused():
    draft = invoice(make_account())

    def line(unit_price, amount):
        return InvoiceLine.objects.create(
            invoice=draft,
            kind="subscription",
            description="Pro, 1 seat",
            period_start=NOV_1,
            period_end=DEC_1,
            quantity=1,
            unit_price=unit_price,
            days=30,
            period_days=30,
            amount=amount,
        )

    assert "invoice_line_one_currency" in refused(lambda: line(Money("7.00", "USD"), Money("7.00", "EUR")))
    line(Money("7.00", "USD"), Money("7.00", "USD"))
    assert draft.lines.count() == 1


def test_a_credit_note_and_its_line_in_another_currency_are_refused():
    account = make_account()

    def note(total):
        return CreditNote.objects.create(
            account=account, reason=CreditNote.Reason.GRANT, currency="USD", issued_on=NOV_1, total=total
        )

    assert "credit_note_total_in_credit_note_currency" in refused(lambda: note(Money("2.00", "GBP")))
    stored = note(Money("2.00", "USD"))

    def line(amount):
        return CreditNoteLine.objects.create(
            credit_note=stored, description="Goodwill credit", unit_price=Money("2.00", "USD"), amount=amount
        )

    assert "credit_note_line_one_currency" in refused(lambda: line(Money("2.00", "GBP")))
    line(Money("2.00", "USD"))
    assert stored.lines.count() == 1


def test_a_plan_price_in_another_currency_is_refused_and_a_missing_price_is_not():
    assert "plan_prices_in_plan_currency" in refused(
        lambda: Plan.objects.create(code="euro", name="Euro", currency="EUR", monthly_price=Money("6.00", "USD"))
    )
    yen = Plan.objects.create(code="yen", name="Yen", currency="JPY", monthly_price=Money(900, "JPY"))
    assert Plan.objects.get(pk=yen.pk).annual_price is None


def test_the_admin_offers_only_the_currencies_of_settings(client):
    verified_login(client, User.objects.create_superuser(email="root@prorata.example"))
    page = client.get(reverse("admin:subscriptions_plan_add")).content.decode()
    select = re.search(r'<select name="monthly_price_1".*?</select>', page, re.S).group(0)
    offered = re.findall(r'<option value="([A-Z]{3})"', select)
    assert sorted(offered) == sorted(settings.CURRENCIES)
