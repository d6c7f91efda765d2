"""`python manage.py demo`: plans, four accounts with a few months of billing history, and their logins.

Idempotent: a second run finds the demo people in place, changes nothing and prints the logins again.
Everything goes through the services; the history is replayed day by day with the daily billing run,
as subscriptions/scenario.py does.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.test.utils import override_settings
from moneyed import Money

from accounts import services
from accounts.models import Account, Membership, User
from accounts.staff_groups import FINANCE, SUPPORT, staff_groups_sync
from common.clock import today
from invoicing.models import Invoice
from invoicing.services import invoice_pay
from subscriptions import services as billing
from subscriptions.models import Plan
from subscriptions.selectors import account_status, live_subscription
from subscriptions.signals import daily_run_finished

PASSWORD = "prorata-demo"
STAFF_EMAIL = "admin@prorata.localhost"
# Staff in the two groups (accounts.staff_groups), to try what each may do in the admin.
GROUP_STAFF = {SUPPORT: "support@prorata.localhost", FINANCE: "finance@prorata.localhost"}


def usd(amount: str) -> Money:
    return Money(amount, "USD")


# One plan per seed vendor's policy (shared/seeds, SPEC §4 plan settings), plus a free plan.
PLANS = {
    "pro": {  # TrackingTime PRO
        "name": "Pro",
        "monthly_price": usd("7.00"),
        "annual_price": usd("60.00"),
        "seat_mode": "auto",
        "seat_add_billing_monthly": "invoice_now",
        "seat_add_billing_annual": "invoice_now",
        "seat_removal": "keep_until_renewal",
        "to_monthly": "support_only",
        "refund_window_days": 30,
    },
    # Time Doctor charges cards for seats added mid-period: moving to its cheaper tier waits for the
    # renewal, and no card is charged less than $1.00 for a seat (plan settings of issue 22).
    "standard": {  # Time Doctor
        "name": "Standard",
        "monthly_price": usd("10.00"),
        "annual_price": usd("100.00"),
        "seat_add_billing_monthly": "invoice_now",
        "seat_add_billing_annual": "invoice_now",
        "grace_days": 14,
        "trial_days": 14,
        "trial_offer": usd("100.00"),
        "downgrade": "at_period_end",
        "minimum_invoice": usd("1.00"),
    },
    "basic": {  # Time Doctor's cheaper tier
        "name": "Basic",
        "monthly_price": usd("7.00"),
        "annual_price": usd("70.00"),
        "seat_add_billing_monthly": "invoice_now",
        "seat_add_billing_annual": "invoice_now",
        "grace_days": 14,
        "downgrade": "at_period_end",
        "minimum_invoice": usd("1.00"),
    },
    "team": {  # Timebook
        "name": "Team",
        "monthly_price": usd("10.00"),
        "annual_price": usd("100.00"),
        "seat_add_billing_monthly": "next_invoice",
        "seat_add_billing_annual": "monthly_true_up",
        "seat_removal": "keep_until_renewal",
        "to_monthly": "support_only",
        "switch_documents": "credit_note_and_invoice",  # "you'll receive two invoices"
    },
    "fixed": {  # 7pace
        "name": "Fixed seats",
        "monthly_price": usd("5.00"),
        "annual_price": usd("50.00"),
        "seat_mode": "fixed",
        "seat_removal": "credit_prorated",
        "to_monthly": "prorated",
    },
    "free": {
        "name": "Free",
        "monthly_price": usd("0.00"),
        "annual_price": usd("0.00"),
        "max_seats": 3,
        "features": "Time tracking\nOne project",
    },
}
# What each plan includes, for the plan cards (a made-up time tracker's features).
FEATURES = {
    "basic": "Time tracking\nReports",
    "standard": "Time tracking\nUnlimited projects\nReports",
    "pro": "Everything in Standard\nBudgets and invoicing\nAPI access",
    "team": "Everything in Pro\nTeam approvals\nPriority support",
    "fixed": "Everything in Standard\nA fixed number of seats",
}
for _code, _features in FEATURES.items():
    if _code in PLANS:
        PLANS[_code].setdefault("features", _features)


@dataclass
class Demo:
    """One demo account: its people by role, its plan, and what happens on which day of its history."""

    name: str
    domain: str
    plan: str
    cycle: str
    people: dict[str, list[str]]
    seats: int | None = None
    trial: bool = False
    pays: str = "always"  # or "first": only the first invoice, so the account ends up locked
    events: list[tuple[int, str, object]] = field(default_factory=list)
    account: Account | None = None

    def email(self, local: str) -> str:
        return f"{local}@{self.domain}"


DEMOS = [
    Demo(
        "Northwind Studio",
        "northwind.example",
        "pro",
        "monthly",
        {"owner": ["nora"], "admin": ["sam"], "billing_admin": ["bill"], "member": ["mia", "leo", "ivy"]},
        events=[(20, "invite", "otto"), (45, "archive", "leo"), (60, "reactivate", "leo")],
    ),
    Demo(
        "Acme Consulting",
        "acme.example",
        "standard",
        "monthly",
        {"owner": ["alice"], "admin": ["adam"], "billing_admin": ["beth"], "member": ["carl", "dora"]},
        trial=True,
        # With three months of history, the move to Basic on day 85 is still waiting for the renewal.
        events=[
            (5, "trial_offer", None),
            (30, "invite", "erin"),
            (50, "role", ("dora", "none")),
            (85, "change_plan", "basic"),
        ],
    ),
    Demo(
        "Blue Harbor",
        "blueharbor.example",
        "team",
        "annual",
        {"owner": ["hana"], "admin": ["ian"], "billing_admin": ["jo"], "member": ["kai", "lu", "max"]},
        events=[(15, "invite", "ned"), (50, "invite", "ola"), (70, "invite_only", "new.hire")],
    ),
    Demo(
        "Kestrel Labs",
        "kestrel.example",
        "fixed",
        "monthly",
        {"owner": ["kim"], "admin": ["ray"], "billing_admin": ["pat"], "member": ["quinn", "rosa"]},
        seats=6,
        pays="first",
        events=[(25, "set_seats", 8), (26, "invite", "tess"), (40, "archive", "rosa")],
    ),
]


class Command(BaseCommand):
    help = "Create demo plans, accounts with members and a few months of invoices, and print the logins."

    def add_arguments(self, parser):
        parser.add_argument("--months", type=int, default=3, help="How much billing history to replay (default 3).")

    def handle(self, *args, months: int, **options):
        staff = User.objects.filter(email=STAFF_EMAIL).first()
        if staff is None:
            User.objects.create_superuser(email=STAFF_EMAIL, password=PASSWORD, name="Admin")
        staff_groups_sync()
        for group, email in GROUP_STAFF.items():
            if not User.objects.filter(email=email).exists():
                member = User.objects.create_user(email=email, password=PASSWORD, name=group, is_staff=True)
                member.groups.add(Group.objects.get(name=group))
        for code, settings in PLANS.items():
            Plan.objects.update_or_create(code=code, defaults={"currency": "USD", **settings})
        if User.objects.filter(email=DEMOS[0].email(DEMOS[0].people["owner"][0])).exists():
            self.stdout.write("Demo data is already in place; nothing changed.")
        else:
            self.password_hash = make_password(PASSWORD)
            # Demo customers have made-up addresses: their invoice emails go nowhere (PDFs still render).
            with override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"), transaction.atomic():
                self.replay(DEMOS, start=today() - timedelta(days=30 * months), end=today())
        self.print_logins()

    # ------------------------------------------------------------ history

    def replay(self, demos: list[Demo], *, start: date, end: date) -> None:
        for demo in demos:
            self.found(demo, on=start)
        # Sam of Northwind also helps Acme with billing: one person, two accounts.
        self.join(DEMOS[1], DEMOS[0].email("sam"), "billing_admin", on=start)
        for demo in demos:
            billing.subscription_create(
                account=demo.account,
                plan=Plan.objects.get(code=demo.plan),
                cycle=demo.cycle,
                on=start,
                seats=demo.seats,
                trial=demo.trial,
                by=self.owner(demo),
            )
        day = start
        self.stdout.write(f"Replaying {(end - start).days + 1} days of billing from {start} …")
        while day <= end:
            if day.day == 1:
                self.stdout.write(f"  {day:%B %Y}")
            billing.billing_run(on=day, accounts=[d.account for d in demos])
            for demo in demos:
                for offset, action, arg in demo.events:
                    if start + timedelta(days=offset) == day:
                        self.event(demo, action, arg, on=day)
                self.pay(demo, on=day)
            if (day + timedelta(days=1)).day == 1 or day == end:
                # Month ends as the daily run would leave them: the revenue figures keep their snapshot (issue 21).
                daily_run_finished.send(sender=billing.billing_run, on=day)
            day += timedelta(days=1)

    def found(self, demo: Demo, *, on: date) -> None:
        (owner,) = demo.people["owner"]
        user = self.person(demo.email(owner))
        demo.account = services.account_create(name=demo.name, owner=user, on=on, billing_email=demo.email(owner))
        for role in ("admin", "billing_admin", "member"):
            for local in demo.people[role]:
                self.join(demo, demo.email(local), role, on=on)

    def join(self, demo: Demo, email: str, role: str, *, on: date) -> Membership:
        user = User.objects.filter(email=email).first() or self.person(email)
        invited = services.membership_invite(account=demo.account, email=email, role=role, by=self.owner(demo), on=on)
        return services.invitation_accept(token=services.invitation_token(invited), user=user, on=on)

    def person(self, email: str) -> User:
        user = services.user_create(email=email, password=None, name=email.split("@")[0].title())
        # One hash for every demo login: hashing is slow by design, and the password is public anyway.
        user.password = self.password_hash
        user.save(update_fields=["password"])
        return user

    def owner(self, demo: Demo) -> User:
        return demo.account.memberships.get(role=Membership.Role.OWNER).user

    def member(self, demo: Demo, local: str) -> Membership:
        return demo.account.memberships.get(email=demo.email(local))

    def event(self, demo: Demo, action: str, arg, *, on: date) -> None:
        by = self.owner(demo)
        if action == "invite":
            self.join(demo, demo.email(arg), "member", on=on)
        elif action == "invite_only":
            services.membership_invite(account=demo.account, email=demo.email(arg), by=by, on=on)
        elif action == "archive":
            services.membership_archive(membership=self.member(demo, arg), by=by, on=on)
        elif action == "reactivate":
            services.membership_reactivate(membership=self.member(demo, arg), by=by, on=on)
        elif action == "role":
            local, role = arg
            services.membership_change_role(membership=self.member(demo, local), role=role, by=by, on=on)
        elif action == "set_seats":
            billing.subscription_set_seats(subscription=live_subscription(demo.account), seats=arg, on=on, by=by)
        elif action == "change_plan":
            plan = Plan.objects.get(code=arg)
            billing.subscription_change_plan(subscription=live_subscription(demo.account), plan=plan, on=on, by=by)
        elif action == "trial_offer":
            billing.subscription_accept_trial_offer(subscription=live_subscription(demo.account), on=on, by=by)

    def pay(self, demo: Demo, *, on: date) -> None:
        invoices = Invoice.objects.filter(account=demo.account)
        if demo.pays == "first" and invoices.exclude(status=Invoice.Status.OPEN).exists():
            return
        for invoice in invoices.filter(status=Invoice.Status.OPEN).order_by("issued_on", "id"):
            invoice_pay(invoice=invoice, on=on, reference="demo bank transfer")
            if demo.pays == "first":
                return

    # ------------------------------------------------------------ output

    def print_logins(self) -> None:
        out = self.stdout.write
        out(f"\nEvery demo login uses the password “{PASSWORD}”.\n")
        out(f"  Superuser (Django admin, /admin/): {STAFF_EMAIL}")
        for group, email in GROUP_STAFF.items():
            out(f"  {group} staff (Django admin):    {email}")
        for demo in DEMOS:
            account = Account.objects.filter(memberships__email=demo.email(demo.people["owner"][0])).first()
            if account is None:
                continue
            sub = live_subscription(account)
            plan = (
                f"{sub.plan.name}, {sub.get_cycle_display().lower()}, {sub.get_status_display().lower()}"
                if sub
                else "no plan"
            )
            out(f"\n  {account.name} ({plan}; account {account_status(account)})")
            people = account.memberships.exclude(status=Membership.Status.INVITED).order_by("email")
            for m in sorted(people, key=lambda m: Membership.Role.values.index(m.role)):
                note = " (archived)" if m.status == Membership.Status.ARCHIVED else ""
                out(f"    {m.get_role_display():<14} {m.email}{note}")
        out("")
