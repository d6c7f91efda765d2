"""Data retention after expiry (SPEC §2.4): kept `RETENTION_DAYS`, then purged — but never the
invoices and credit notes the law requires to be kept.

An account whose subscription expired more than `settings.RETENTION_DAYS` ago loses its
memberships, the users who belong to no other account, and the subscriptions no kept document
points at. When it has invoices or credit notes, the account row stays (they reference it) with
its name and billing profile anonymised; otherwise it is deleted outright. Issued documents
keep their frozen buyer snapshot (`invoicing.frozen` refuses any edit of them).
"""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import Count, Max, Q
from django.db.models.deletion import CASCADE, Collector, ProtectedError, RestrictedError

from accounts.models import Account, Membership, User
from subscriptions.models import Subscription

ANONYMOUS = "Deleted account #{id}"


@dataclass
class Purge:
    """What purging one account deletes and keeps."""

    account: Account
    expired_on: date
    delete_account: bool
    memberships: list[Membership] = field(default_factory=list)
    users: list[User] = field(default_factory=list)
    subscriptions: list[Subscription] = field(default_factory=list)
    other: dict = field(default_factory=dict)  # model label → rows of other account data (API keys, licences…)
    kept_subscriptions: int = 0
    kept_invoices: int = 0
    kept_credit_notes: int = 0

    @property
    def anonymise(self) -> bool:
        return not self.delete_account and self.account.name != ANONYMOUS.format(id=self.account.pk)

    @property
    def empty(self) -> bool:
        return not (
            self.delete_account
            or self.memberships
            or self.users
            or self.subscriptions
            or self.anonymise
            or any(qs.exists() for qs in self.other.values())
        )

    def describe(self) -> str:
        a = self.account
        if self.delete_account:
            what = [f"delete the account and its {_n(len(self.memberships), 'membership')}"]
        else:
            what = [f"delete {_n(len(self.memberships), 'membership')}"]
        what.append(f"{_n(len(self.users), 'user')} in no other account")
        what.append(f"{_n(len(self.subscriptions), 'subscription')}")
        what += [f"{qs.count()} {label}" for label, qs in self.other.items() if qs.exists()]
        if not self.delete_account:
            what.append(
                f"keep {_n(self.kept_invoices, 'invoice')}, {_n(self.kept_credit_notes, 'credit note')} "
                f"and {_n(self.kept_subscriptions, 'subscription')} they refer to"
            )
            if self.anonymise:
                what.append(f"rename the account “{ANONYMOUS.format(id=a.pk)}” and clear its billing profile")
        return f"{a.name} (#{a.pk}), expired {self.expired_on.isoformat()}: " + "; ".join(what)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _deletable(objs) -> bool:
    """Whether deleting `objs` would cascade without hitting a PROTECT / RESTRICT foreign key."""
    if not objs:
        return True
    collector = Collector(using=DEFAULT_DB_ALIAS)
    try:
        collector.collect(list(objs))
    except (ProtectedError, RestrictedError):
        return False
    return True


def purge_candidates(*, on: date) -> list[Purge]:
    """Accounts whose every subscription expired at least `RETENTION_DAYS` before `on`, and what purging them does."""
    cutoff = on - timedelta(days=settings.RETENTION_DAYS)
    accounts = (
        Account.objects.annotate(
            live=Count("subscriptions", filter=~Q(subscriptions__status=Subscription.Status.EXPIRED)),
            last_expiry=Max("subscriptions__expired_on"),
        )
        .filter(live=0, last_expiry__lte=cutoff)
        .order_by("pk")
    )
    plans = [_plan(account) for account in accounts]
    plans = [p for p in plans if not p.empty]
    purged = {p.account.pk for p in plans}
    for p in plans:
        # A user is deleted only when every account they belong to is purged too.
        p.users = [
            u for u in p.users if set(u.memberships.values_list("account_id", flat=True)) <= purged and _deletable([u])
        ]
    return plans


def _plan(account: Account) -> Purge:
    subscriptions = list(account.subscriptions.all())
    memberships = list(account.memberships.select_related("user"))
    users = [m.user for m in memberships if m.user is not None and not m.user.is_staff and not m.user.is_superuser]
    expired_on = max(s.expired_on for s in subscriptions if s.expired_on)
    if _deletable([account]):
        return Purge(account, expired_on, True, memberships, users, subscriptions)
    deletable = [s for s in subscriptions if _deletable([s])]
    return Purge(
        account,
        expired_on,
        False,
        memberships,
        users,
        deletable,
        other=_other_data(account),
        kept_subscriptions=len(subscriptions) - len(deletable),
        kept_invoices=account.invoices.count(),
        kept_credit_notes=account.credit_notes.count(),
    )


def _other_data(account: Account) -> dict:
    """Rows of other apps that belong to the account alone (CASCADE) and may go, by model."""
    out = {}
    for rel in Account._meta.related_objects:
        model = rel.related_model
        if rel.on_delete is not CASCADE or model in (Membership, Subscription):
            continue
        qs = model._base_manager.filter(**{rel.field.name: account})
        if _deletable(qs):
            out[str(model._meta.verbose_name_plural)] = qs
    return out


@transaction.atomic
def account_purge(*, purge: Purge) -> None:
    """Carry out one account's purge (SPEC §2.4 retention). Invoices and credit notes are never touched."""
    account = purge.account
    for user in purge.users:
        user.delete()
    Membership.objects.filter(pk__in=[m.pk for m in purge.memberships]).delete()
    Membership.history.filter(account_id=account.pk).delete()
    for qs in purge.other.values():
        qs.delete()
    for sub in purge.subscriptions:
        sub.delete()
    Subscription.history.filter(id__in=[s.pk for s in purge.subscriptions]).delete()
    if purge.delete_account:
        account.delete()
        Account.history.filter(id=account.pk).delete()
        return
    if purge.anonymise:
        account.name = ANONYMOUS.format(id=account.pk)
        account.slug = f"deleted-{account.pk}"
        account.legal_name = account.address = account.country = account.tax_id = account.billing_email = ""
        account.postcode = account.city = ""
        account.save()
        Account.history.filter(id=account.pk).delete()
