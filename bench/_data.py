"""Data for the benchmarks, made through the real services. The tests have their own builders
(tests/builders.py); the bench does not import tests."""

from datetime import date, timedelta
from decimal import Decimal
from itertools import count

from django.utils import timezone
from moneyed import Money

from accounts import services as accounts_services
from accounts.models import Account, Membership, User
from billing import plan as core
from billing.calendar import Period
from invoicing.models import CreditNote, Invoice
from invoicing.services import credit_note_issue, invoice_pay
from subscriptions import services
from subscriptions.models import Coupon, Plan

_seq = count(1)


def team_account(*, name: str, on: date, plan: Plan | None = None, people: int = 2) -> tuple[Account, User, Plan]:
    """An owner and `people` active members, subscribed monthly on `on` to `plan` (by default Team at
    7.00 a month, 70.00 a year); the first invoice paid."""
    owner = User.objects.create_user(email=f"owner@{name.lower()}.example.com", name="Olivia Owner")
    account = accounts_services.account_create(name=name, owner=owner, on=on)
    Membership.objects.bulk_create(
        Membership(
            account=account,
            email=f"p{i}@{account.slug}.example.com",
            role=Membership.Role.MEMBER,
            status=Membership.Status.ACTIVE,
            joined_on=on,
        )
        for i in range(people)
    )
    plan = plan or Plan.objects.create(
        code="team", name="Team", monthly_price=Money("7.00", "USD"), annual_price=Money("70.00", "USD")
    )
    services.subscription_create(account=account, plan=plan, cycle="monthly", on=on, by=owner)
    _pay_open(account, on)
    return account, owner, plan


def members_and_invoices_add(account: Account, *, members: int, invoices: int, on: date) -> None:
    """`members` more members (one in ten archived; seats follow as the services would) and `invoices` paid
    7.00 invoices, one a day back from `on`."""
    Membership.objects.bulk_create(
        Membership(
            account=account,
            email=f"bulk{i}@{account.slug}.example.com",
            role=Membership.Role.MEMBER,
            status=Membership.Status.ARCHIVED if i % 10 == 0 else Membership.Status.ACTIVE,
            joined_on=on,
        )
        for i in range(members)
    )
    services.subscription_sync_seats(account=account, on=on, reason="bulk import")
    _pay_open(account, on)
    price, zero = Money("7.00", "USD"), Money("0.00", "USD")
    sub = account.subscriptions.order_by("-id").first()
    Invoice.objects.bulk_create(
        Invoice(
            account=account,
            subscription=sub,
            number=f"INV-{(on - timedelta(days=i)).year}-9{i:05d}",
            status=Invoice.Status.PAID,
            reason=Invoice.Reason.RENEWAL,
            currency="USD",
            issued_on=on - timedelta(days=i),
            due_on=on - timedelta(days=i),
            subtotal=price,
            discount=zero,
            tax=zero,
            total=price,
            credit_applied=zero,
            amount_due=price,
            amount_paid=price,
            amount_credited=zero,
            emailed_at=timezone.now(),
        )
        for i in range(1, invoices + 1)
    )


def rich_invoice() -> Invoice:
    """An invoice with a credit line, a 25 % discount, 20 % tax and an applied credit balance: subscribed
    monthly on Nov 1 (1 seat at 7.00, coupon 25 % forever), 2.00 credit granted on Nov 5, switched to
    annual (60.00) on Nov 10 — amount due 47.80."""
    n = next(_seq)
    owner = User.objects.create_user(email=f"owner{n}@example.com")
    account = accounts_services.account_create(
        name=f"Acme {n}",
        owner=owner,
        on=date(2026, 1, 1),
        legal_name="Acme Analytics GmbH",
        address="Hauptstraße 5\n80331 München",
        country="DE",
        tax_id="DE136695976",
        tax_rate=Decimal("0.2"),
    )
    plan = Plan.objects.create(
        code=f"pro{n}",
        name="Pro",
        monthly_price=Money("7.00", "USD"),
        annual_price=Money("60.00", "USD"),
        to_monthly="anytime",
    )
    coupon = Coupon.objects.create(code=f"SAVE25-{n}", name="Save 25%", percent_off=Decimal(25), duration_periods=None)
    sub = services.subscription_create(
        account=account, plan=plan, cycle="monthly", on=date(2026, 11, 1), coupon=coupon.code
    )
    credit = Money("2.00", "USD")
    granted_on = date(2026, 11, 5)
    line = core.Line(
        core.CREDIT, "Goodwill credit", Period(granted_on, granted_on + timedelta(days=1)), 1, -credit, -credit, 1, 1
    )
    credit_note_issue(account=account, reason=CreditNote.Reason.GRANT, on=granted_on, lines=[line], memo="Goodwill")
    return services.subscription_switch_cycle(subscription=sub, cycle="annual", on=date(2026, 11, 10))


def _pay_open(account: Account, on: date) -> None:
    for invoice in Invoice.objects.filter(account=account, status=Invoice.Status.OPEN):
        invoice_pay(invoice=invoice, on=on)
