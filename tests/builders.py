"""Small builders for database tests: real plans, accounts and members through the real services."""

from datetime import date
from decimal import Decimal
from itertools import count

from moneyed import Money

from accounts import services as accounts_services
from accounts.models import Account, Membership, User
from invoicing.models import CreditNote, Invoice, InvoiceLine
from subscriptions.models import Coupon, Plan, SeatChange, Subscription

_seq = count(1)


def usd(value) -> Money:
    return Money(Decimal(str(value)), "USD")


def make_plan(code: str = "pro", *, currency: str = "USD", monthly="7.00", annual="60.00", **settings) -> Plan:
    """A plan with the SPEC §4 defaults; `settings` overrides any plan setting."""
    return Plan.objects.create(
        code=code,
        name=settings.pop("name", code.title()),
        currency=currency,
        monthly_price=Money(monthly, currency) if monthly is not None else None,
        annual_price=Money(annual, currency) if annual is not None else None,
        **settings,
    )


def make_coupon(code: str = "WELCOME25", **settings) -> Coupon:
    settings.setdefault("percent_off", Decimal(25))
    return Coupon.objects.create(code=code, name=code, **settings)


def make_account(name: str = "Acme", *, on: date = date(2026, 1, 1), **profile) -> Account:
    owner = User.objects.create_user(email=f"owner{next(_seq)}@example.com")
    return accounts_services.account_create(name=name, owner=owner, on=on, **profile)


def owner_of(account: Account) -> User:
    return account.memberships.get(role=Membership.Role.OWNER).user


def invite(account: Account, n: int, *, on: date) -> list[Membership]:
    emails = [f"person{next(_seq)}@example.com" for _ in range(n)]
    return accounts_services.membership_invite_many(account=account, emails=emails, on=on, by=owner_of(account))


def archive(account: Account, n: int, *, on: date) -> list[Membership]:
    people = list(
        account.memberships.exclude(role=Membership.Role.OWNER)
        .exclude(status=Membership.Status.ARCHIVED)
        .order_by("-created_at", "-id")[:n]
    )
    return accounts_services.membership_archive_many(memberships=people, on=on, by=owner_of(account))


def snapshot(account: Account) -> dict:
    """Row counts and state a refused change must leave as they were."""
    sub = Subscription.objects.filter(account=account).order_by("-id").first()
    return {
        "invoices": Invoice.objects.filter(account=account).count(),
        "credit_notes": CreditNote.objects.filter(account=account).count(),
        "waiting_lines": InvoiceLine.objects.filter(subscription__account=account, invoice__isnull=True).count(),
        "seat_changes": SeatChange.objects.filter(subscription__account=account).count(),
        "memberships": Membership.objects.filter(account=account).count(),
        "subscription": None
        if sub is None
        else Subscription.objects.filter(pk=sub.pk)
        .values("plan_id", "cycle", "status", "paid_seats", "bought_seats", "period_start", "period_end")
        .get(),
    }
