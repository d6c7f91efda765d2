"""Issued documents built through the real services, for the invoicing tests and bench/pdf.py."""

from datetime import date, timedelta
from decimal import Decimal
from itertools import count

from moneyed import Money

from accounts import services as accounts_services
from accounts.models import User
from billing import plan as core
from billing.calendar import Period
from invoicing.models import CreditNote, Invoice
from invoicing.services import credit_note_issue
from subscriptions import services
from subscriptions.models import Coupon, Plan

_seq = count(1)


def account(*, currency="USD", locale="en_US", tax_rate="0", **profile):
    owner = User.objects.create_user(email=f"owner{next(_seq)}@example.com")
    profile = {
        "legal_name": "Acme Analytics GmbH",
        "address": "Hauptstraße 5\n80331 München",
        "country": "DE",
        "tax_id": "DE123456789",
        **profile,
    }
    acc = accounts_services.account_create(name=f"Acme {next(_seq)}", owner=owner, on=date(2026, 1, 1), **profile)
    acc.locale, acc.tax_rate = locale, Decimal(tax_rate)
    acc.save(update_fields=["locale", "tax_rate"])
    return acc


def plan(*, currency="USD", monthly="7.00", annual="60.00", **settings) -> Plan:
    n = next(_seq)
    return Plan.objects.create(
        code=f"pro{n}",
        name="Pro",
        currency=currency,
        monthly_price=Money(monthly, currency),
        annual_price=Money(annual, currency),
        to_monthly="anytime",
        **settings,
    )


def grant(acc, amount: str, *, on: date) -> CreditNote:
    """Credit granted by support: a credit note through `credit_note_issue`."""
    money = Money(amount, acc.currency)
    period = Period(on, on + timedelta(days=1))
    line = core.Line(core.CREDIT, "Goodwill credit", period, 1, -money, -money, 1, 1)
    return credit_note_issue(account=acc, reason=CreditNote.Reason.GRANT, on=on, lines=[line], memo="Goodwill")


def rich_invoice(**account_kw) -> Invoice:
    """An invoice with a credit line, a 25 % discount, 20 % tax and an applied credit balance.

    Nov 1: subscribe monthly, 1 seat at 7.00 with coupon SAVE25 (forever). Nov 5: $2.00 credit granted.
    Nov 10: switch to annual → credit for the 20 of 30 days paid and unused (5.25 × 20/30 = 3.50),
    charge 60.00 (Nov 11, 2026 – Nov 10, 2027): subtotal 56.50, discount 25 % × 60.00 = 15.00,
    tax 20 % × 41.50 = 8.30, total 49.80, credit applied 2.00, amount due 47.80.
    """
    acc = account(tax_rate="0.2", **account_kw)
    code = f"SAVE25-{next(_seq)}"
    Coupon.objects.create(code=code, name="Save 25%", percent_off=Decimal(25), duration_periods=None)
    sub = services.subscription_create(account=acc, plan=plan(), cycle="monthly", on=date(2026, 11, 1), coupon=code)
    grant(acc, "2.00", on=date(2026, 11, 5))
    return services.subscription_switch_cycle(subscription=sub, cycle="annual", on=date(2026, 11, 10))


def owner_email(acc) -> str:
    return acc.memberships.get(role="owner").email
