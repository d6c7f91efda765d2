"""Builders for database tests: plans, accounts, members, subscriptions and issued documents, all made
through the real services (the bench makes its own data, bench/_data.py)."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import count

from django.utils import timezone
from moneyed import Money

from accounts import services as accounts_services
from accounts.models import Account, Membership, User
from billing import plan as core
from billing.calendar import Period
from invoicing.models import CreditNote, Invoice, InvoiceLine
from invoicing.services import credit_note_issue, invoice_pay
from subscriptions import services
from subscriptions.models import Coupon, Plan, SeatChange, Subscription

_seq = count(1)


# Money, plans and coupons


# The plan form's entitlements inline, empty: the management form every plan POST carries.
ENTITLEMENTS_NONE = {
    "entitlements-TOTAL_FORMS": "0",
    "entitlements-INITIAL_FORMS": "0",
    "entitlements-MIN_NUM_FORMS": "0",
    "entitlements-MAX_NUM_FORMS": "1000",
}


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


def make_pro_plan(*, currency: str = "USD", monthly="7.00", annual="60.00", **settings) -> Plan:
    """A "Pro" plan with a code of its own (a test may make several), switchable to monthly at any time."""
    settings.setdefault("to_monthly", "anytime")
    return make_plan(f"pro{next(_seq)}", name="Pro", currency=currency, monthly=monthly, annual=annual, **settings)


def make_team_plan(**settings) -> Plan:
    """The page tests' plan: "Team" at 7.00 a month and 70.00 a year per seat."""
    return make_plan("team", annual="70.00", **settings)


def make_coupon(code: str = "WELCOME25", **settings) -> Coupon:
    settings.setdefault("percent_off", Decimal(25))
    return Coupon.objects.create(code=code, name=code, **settings)


# Accounts and people


def make_account(name: str = "Acme", *, on: date = date(2026, 1, 1), **profile) -> Account:
    owner = User.objects.create_user(email=f"owner{next(_seq)}@example.com")
    return accounts_services.account_create(name=name, owner=owner, on=on, **profile)


def make_billed_account(*, locale: str = "en_US", tax_rate: str = "0", **profile) -> Account:
    """An account with a name of its own and a full billing profile (a German GmbH), for documents."""
    profile = {
        "legal_name": "Acme Analytics GmbH",
        "address": "Hauptstraße 5\n80331 München",
        "country": "DE",
        "tax_id": "DE136695976",
        **profile,
    }
    return make_account(f"Acme {next(_seq)}", locale=locale, tax_rate=Decimal(tax_rate), **profile)


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


# Issued documents


def make_credit_grant(account: Account, amount: str, *, on: date) -> CreditNote:
    """Credit granted by support: a credit note through `credit_note_issue`."""
    money = Money(amount, account.currency)
    period = Period(on, on + timedelta(days=1))
    line = core.Line(core.CREDIT, "Goodwill credit", period, 1, -money, -money, 1, 1)
    return credit_note_issue(account=account, reason=CreditNote.Reason.GRANT, on=on, lines=[line], memo="Goodwill")


def make_rich_invoice(**account_kw) -> Invoice:
    """An invoice with a credit line, a 25 % discount, 20 % tax and an applied credit balance.

    Nov 1: subscribe monthly, 1 seat at 7.00 with coupon SAVE25 (forever). Nov 5: $2.00 credit granted.
    Nov 10: switch to annual → credit for the 20 of 30 days paid and unused (5.25 × 20/30 = 3.50),
    charge 60.00 (Nov 11, 2026 – Nov 10, 2027): subtotal 56.50, discount 25 % × 60.00 = 15.00,
    tax 20 % × 41.50 = 8.30, total 49.80, credit applied 2.00, amount due 47.80.
    """
    account = make_billed_account(tax_rate="0.2", **account_kw)
    code = f"SAVE25-{next(_seq)}"
    Coupon.objects.create(code=code, name="Save 25%", percent_off=Decimal(25), duration_periods=None)
    sub = services.subscription_create(
        account=account, plan=make_pro_plan(), cycle="monthly", on=date(2026, 11, 1), coupon=code
    )
    make_credit_grant(account, "2.00", on=date(2026, 11, 5))
    return services.subscription_switch_cycle(subscription=sub, cycle="annual", on=date(2026, 11, 10))


# An account with people, a plan and a paid subscription, for page tests


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
    """An owner plus `people` active members, subscribed on `on` (invoice paid), by default to a Team plan."""
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
    plan_obj = plan_obj or make_team_plan()
    sub = None
    if subscribe:
        sub = services.subscription_create(account=account, plan=plan_obj, cycle=cycle, on=on, seats=seats, by=owner)
        for inv in Invoice.objects.filter(account=account, status=Invoice.Status.OPEN):
            invoice_pay(invoice=inv, on=on)
    return World(account=account, owner=owner, plan=plan_obj, sub=sub)


def bulk(w: World, *, members: int, invoices: int, on: date) -> None:
    """Many members (seats synced as the services would) and paid invoices, for query counts."""
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
    price = usd("7.00")
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
                subtotal=price,
                discount=price * 0,
                tax=price * 0,
                total=price,
                credit_applied=price * 0,
                amount_due=price,
                amount_paid=price,
                amount_credited=price * 0,
                emailed_at=timezone.now(),
            )
            for i in range(1, invoices + 1)
        ]
    )


# Signing in with the second factor


def totp_code(device) -> str:
    """The code an authenticator app shows now for `device` (django-otp's TOTP over its secret)."""
    from django_otp.oath import totp

    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"


def verified_login(client, user):
    """Sign `user` in as a person would: the password step (force_login), then a real TOTP code on the
    two-factor page, from a fresh authenticator device (so a frozen clock never replays a used code)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    response = client.post("/accounts/2fa/", {"code": totp_code(device)})
    assert response.status_code == 302, response.content[:500]
    return device
