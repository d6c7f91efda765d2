"""An account with people, a plan and a subscription, made through the real services, for page tests."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone
from moneyed import Money

from accounts import services as accounts_services
from accounts.models import Account, Membership, User
from invoicing.models import Invoice
from invoicing.services import invoice_pay
from subscriptions import services
from subscriptions.models import Plan, Subscription


@dataclass
class World:
    account: Account
    owner: User
    plan: Plan
    sub: Subscription | None

    def person(self, role: str, email: str | None = None) -> User:
        """An active member with `role` and a password."""
        email = email or f"{role}@{self.account.slug}.example.com"
        user = User.objects.create_user(email=email, password=None)
        Membership.objects.create(
            account=self.account,
            user=user,
            email=email,
            role=role,
            status=Membership.Status.ACTIVE,
            joined_on=date(2026, 1, 1),
        )
        return user

    def refresh(self) -> Subscription:
        self.sub = Subscription.objects.filter(account=self.account).order_by("-id").first()
        return self.sub


def plan(code: str = "team", *, monthly="7.00", annual="70.00", **settings) -> Plan:
    return Plan.objects.create(
        code=code,
        name=settings.pop("name", code.title()),
        currency="USD",
        monthly_price=Money(Decimal(monthly), "USD") if monthly else None,
        annual_price=Money(Decimal(annual), "USD") if annual else None,
        **settings,
    )


def world(
    *,
    on: date,
    plan_obj: Plan | None = None,
    cycle: str = "monthly",
    people: int = 2,
    name: str = "Acme",
    seats: int | None = None,
    subscribe: bool = True,
) -> World:
    """An owner plus `people` active members, subscribed on `on` (invoice paid)."""
    owner = User.objects.create_user(email=f"owner@{name.lower()}.example.com", password=None, name="Olivia Owner")
    account = accounts_services.account_create(name=name, owner=owner, on=on)
    Membership.objects.bulk_create(
        [
            Membership(
                account=account,
                email=f"p{i}@{account.slug}.example.com",
                role=Membership.Role.MEMBER,
                status=Membership.Status.ACTIVE,
                joined_on=on,
            )
            for i in range(people)
        ]
    )
    plan_obj = plan_obj or plan()
    sub = None
    if subscribe:
        sub = services.subscription_create(account=account, plan=plan_obj, cycle=cycle, on=on, seats=seats, by=owner)
        for inv in Invoice.objects.filter(account=account, status=Invoice.Status.OPEN):
            invoice_pay(invoice=inv, on=on)
    return World(account=account, owner=owner, plan=plan_obj, sub=sub)


def bulk(w: World, *, members: int, invoices: int, on: date) -> None:
    """Many members (seats synced as the services would) and paid invoices, for query counts and the bench."""
    Membership.objects.bulk_create(
        [
            Membership(
                account=w.account,
                email=f"bulk{i}@{w.account.slug}.example.com",
                role=Membership.Role.MEMBER,
                status=Membership.Status.ARCHIVED if i % 10 == 0 else Membership.Status.ACTIVE,
                joined_on=on,
            )
            for i in range(members)
        ]
    )
    services.subscription_sync_seats(account=w.account, on=on, reason="bulk import")
    for inv in Invoice.objects.filter(account=w.account, status=Invoice.Status.OPEN):
        invoice_pay(invoice=inv, on=on)
    usd = Money(Decimal("7.00"), "USD")
    Invoice.objects.bulk_create(
        [
            Invoice(
                account=w.account,
                subscription=w.sub,
                number=f"INV-{(on - timedelta(days=i)).year}-9{i:05d}",
                status=Invoice.Status.PAID,
                reason=Invoice.Reason.RENEWAL,
                currency="USD",
                issued_on=on - timedelta(days=i),
                due_on=on - timedelta(days=i),
                subtotal=usd,
                discount=usd * 0,
                tax=usd * 0,
                total=usd,
                credit_applied=usd * 0,
                amount_due=usd,
                amount_paid=usd,
                emailed_at=timezone.now(),
            )
            for i in range(1, invoices + 1)
        ]
    )


def days(n: int) -> timedelta:
    return timedelta(days=n)
