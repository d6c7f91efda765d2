"""Every change to users, accounts and memberships (shared/STYLE.md, habit 5).

Each service is one transaction. Membership changes send `membership_changed`
inside that transaction so that billing can count seats, or refuse.
"""

from datetime import date

import stdnum
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.text import slugify
from django.utils.translation import gettext, gettext_lazy, ngettext
from stdnum import exceptions as stdnum_errors
from stdnum.eu import vat as eu_vat
from stdnum.util import clean

from accounts.countries import EU_VAT_FORMATS, countries, vat_prefix
from accounts.models import Account, Membership, User
from accounts.signals import membership_changed
from accounts.tax import vat_id_validated
from accounts.vies import vies_check_on_commit
from common.clock import today
from common.dryrun import atomic, is_dry_run, rows_lock
from common.errors import Refused

Role = Membership.Role
Status = Membership.Status
INVITATION_SALT = "prorata.invitation"
VERIFICATION_SALT = "prorata.email-verification"


def user_create(*, email: str, password: str | None, name: str = "") -> User:
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise Refused(gettext("An account already uses %(email)s.") % {"email": email}, field="email")
    return User.objects.create_user(email=email, password=password, name=name)


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "account"
    slug, n = base, 1
    while Account.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


@atomic
def account_create(*, name: str, owner: User, timezone: str = "UTC", on: date | None = None, **profile) -> Account:
    """A new account, with `owner` as its only (active) member."""
    if not name.strip():
        raise Refused(gettext("Give the account a name."), field="name")
    account = Account.objects.create(name=name.strip(), slug=_unique_slug(name), timezone=timezone, **profile)
    on = on or today(account)
    Membership.objects.create(
        account=account,
        user=owner,
        email=owner.email,
        role=Role.OWNER,
        status=Status.ACTIVE,
        invited_on=on,
        joined_on=on,
    )
    return account


@atomic
def signup(*, email: str, password: str, account_name: str, name: str = "", **profile) -> tuple[User, Account]:
    """Sign-up creates a user, an account and makes them its owner. `profile`: Account fields
    (the sign-up page passes `tax_rate=None`: the tax rules decide, not a manual rate)."""
    user = user_create(email=email, password=password, name=name)
    return user, account_create(name=account_name, owner=user, **profile)


def signup_request(
    *, email: str, password: str, account_name: str, name: str = "", **profile
) -> tuple[User, Account] | None:
    """Self-service sign-up: an unverified user owning a new account, or None when the address is taken.

    The caller answers both cases alike (no enumeration) and emails the address: a verification link for a
    new user, a note that someone tried to sign up for an existing one. A taken address still costs a password
    hash, so the two cases take about as long.
    """
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        make_password(password)
        return None
    try:
        with transaction.atomic():
            user = User.objects.create_user(email=email, password=password, name=name, email_verified=False)
            return user, account_create(name=account_name, owner=user, **profile)
    except IntegrityError:  # the same address signed up at the same moment
        if User.objects.filter(email__iexact=email).exists():
            return None
        raise


def email_verification_token(user: User) -> str:
    return signing.dumps({"u": user.pk, "e": user.email}, salt=VERIFICATION_SALT)


@atomic
def email_verify(*, token: str) -> User:
    """Follow a verification link once: the user may log in from now on. Refused (code expired, invalid, used)."""
    max_age = settings.EMAIL_VERIFICATION_MAX_AGE_DAYS * 86400
    try:
        data = signing.loads(token, salt=VERIFICATION_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise Refused(gettext("This link has expired."), code="expired") from None
    except signing.BadSignature:
        raise Refused(gettext("This link is not valid."), code="invalid") from None
    user = User.objects.select_for_update().filter(pk=data.get("u"), email=data.get("e")).first()
    if user is None:
        raise Refused(gettext("This link is not valid."), code="invalid")
    if user.email_verified:
        raise Refused(gettext("This link has already been used: your address is confirmed."), code="used")
    user.email_verified = True
    user.save(update_fields=["email_verified"])
    return user


def email_mark_verified(user: User) -> None:
    """A completed password reset proves the address as well as a verification link does."""
    User.objects.filter(pk=user.pk, email_verified=False).update(email_verified=True)
    user.email_verified = True


def _changed(membership: Membership, *, on: date, by: User | None, reason: str) -> None:
    membership_changed.send(
        sender=Membership,
        account=membership.account,
        membership=membership,
        on=on,
        by=by,
        reason=reason,
    )


@atomic
def membership_invite_many(
    *,
    account: Account,
    emails: list[str],
    role: str = Role.MEMBER,
    by: User | None = None,
    on: date | None = None,
) -> list[Membership]:
    """Invite people; each invitation takes a seat at once (SPEC §1, §2.3).

    One seat change for the whole batch, so three people invited together are
    one invoice line of three seats.
    """
    if role == Role.OWNER or role not in Role.values:
        raise Refused(gettext("Choose admin, billing admin, member or none."), field="role")
    cleaned = []
    for raw in emails:
        email = User.objects.normalize_email(raw.strip()).lower()
        if not email or "@" not in email or " " in email:
            raise Refused(gettext("“%(email)s” is not an email address.") % {"email": raw.strip()}, field="email")
        if email in cleaned:
            continue
        cleaned.append(email)
    if not cleaned:
        raise Refused(gettext("Give at least one email address."), field="email")
    rows_lock(Account.objects.filter(pk=account.pk))
    taken = set(account.memberships.filter(email__in=cleaned).values_list("email", flat=True))
    if taken:
        raise Refused(
            ngettext("%(emails)s is already in %(account)s.", "%(emails)s are already in %(account)s.", len(taken))
            % {"emails": ", ".join(sorted(taken)), "account": account.name},
            field="email",
        )
    on = on or today(account)
    users = {u.email.lower(): u for u in User.objects.filter(email__in=cleaned)}
    try:
        with atomic():  # in a preview no savepoint: a clash ends it (Refused), it queries on after nothing
            memberships = [
                Membership.objects.create(
                    account=account,
                    user=users.get(email),
                    email=email,
                    role=role,
                    status=Status.INVITED,
                    invited_by=by,
                    invited_on=on,
                )
                for email in cleaned
            ]
    except IntegrityError:
        raise Refused(gettext("Someone of these is already in the account."), field="email") from None
    who = cleaned[0] if len(cleaned) == 1 else f"{len(cleaned)} people"
    _changed(memberships[0], on=on, by=by, reason=f"invited {who}")
    return memberships


def membership_invite(
    *,
    account: Account,
    email: str,
    role: str = Role.MEMBER,
    by: User | None = None,
    on: date | None = None,
) -> Membership:
    """Invite one person (see membership_invite_many)."""
    return membership_invite_many(account=account, emails=[email], role=role, by=by, on=on)[0]


def invitation_token(membership: Membership) -> str:
    return signing.dumps({"m": membership.pk, "e": membership.email}, salt=INVITATION_SALT)


def invitation_lookup(*, token: str, for_update: bool = False) -> Membership:
    """The pending membership a signed invitation link stands for, or Refused (expired, invalid, used)."""
    max_age = settings.INVITATION_MAX_AGE_DAYS * 86400
    try:
        data = signing.loads(token, salt=INVITATION_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise Refused(gettext("This invitation has expired. Ask for a new one."), code="expired") from None
    except signing.BadSignature:
        raise Refused(gettext("This invitation link is not valid."), code="invalid") from None
    qs = Membership.objects.select_related("account", "invited_by")
    if for_update:
        qs = qs.select_for_update(of=("self",))
    membership = qs.filter(pk=data["m"], email=data["e"]).first()
    if membership is None or membership.status != Status.INVITED:
        raise Refused(gettext("This invitation has already been used or withdrawn."), code="used")
    return membership


@atomic
def invitation_accept(
    *,
    token: str,
    user: User | None = None,
    password: str | None = None,
    name: str = "",
    on: date | None = None,
) -> Membership:
    """Accept a signed, expiring invitation; creates the user or links the signed-in one."""
    membership = invitation_lookup(token=token, for_update=True)
    if user is None:
        user = User.objects.filter(email__iexact=membership.email).first()
        if user is None:
            if not password:
                raise Refused(gettext("Choose a password."), field="password")
            user = User.objects.create_user(email=membership.email, password=password, name=name)
    if membership.account.memberships.filter(user=user).exclude(pk=membership.pk).exists():
        raise Refused(
            gettext("You are already in %(account)s.") % {"account": membership.account.name}, code="duplicate"
        )
    membership.user = user
    membership.status = Status.ACTIVE
    membership.joined_on = on or today(membership.account)
    membership.save(update_fields=["user", "status", "joined_on"])
    return membership


def _guard_owner(membership: Membership, action: str) -> None:
    if membership.role == Role.OWNER:
        raise Refused(f"The owner cannot be {action}. Transfer ownership first.", code="owner")


def _who(memberships: list[Membership]) -> str:
    return memberships[0].email if len(memberships) == 1 else f"{len(memberships)} people"


@atomic
def membership_archive_many(
    *, memberships: list[Membership], by: User | None = None, on: date | None = None
) -> list[Membership]:
    """Archive members: they keep their history and take no seat. One seat change for the batch."""
    if not memberships:
        raise Refused(gettext("Choose at least one member."))
    for m in memberships:
        _guard_owner(m, "archived")
        if m.status == Status.ARCHIVED:
            raise Refused(gettext("%(email)s is already archived.") % {"email": m.email})
    on = on or today(memberships[0].account)
    for m in memberships:
        m.status, m.archived_on = Status.ARCHIVED, on
        m.save(update_fields=["status", "archived_on"])
    _changed(memberships[0], on=on, by=by, reason=f"archived {_who(memberships)}")
    return memberships


def membership_archive(*, membership: Membership, by: User | None = None, on: date | None = None) -> Membership:
    return membership_archive_many(memberships=[membership], by=by, on=on)[0]


@atomic
def membership_reactivate_many(
    *, memberships: list[Membership], by: User | None = None, on: date | None = None
) -> list[Membership]:
    """Bring archived members back; they take seats again. One seat change for the batch."""
    if not memberships:
        raise Refused(gettext("Choose at least one member."))
    for m in memberships:
        if m.status != Status.ARCHIVED:
            raise Refused(gettext("%(email)s is not archived.") % {"email": m.email})
    on = on or today(memberships[0].account)
    for m in memberships:
        m.status = Status.ACTIVE if m.user_id else Status.INVITED
        m.archived_on = None
        m.save(update_fields=["status", "archived_on"])
    _changed(memberships[0], on=on, by=by, reason=f"re-activated {_who(memberships)}")
    return memberships


def membership_reactivate(*, membership: Membership, by: User | None = None, on: date | None = None) -> Membership:
    return membership_reactivate_many(memberships=[membership], by=by, on=on)[0]


@atomic
def membership_change_role(
    *, membership: Membership, role: str, by: User | None = None, on: date | None = None
) -> Membership:
    """Give a member another role (not owner: use ownership_transfer)."""
    if role not in Role.values:
        raise Refused(f"“{role}” is not a role.", field="role")
    if role == Role.OWNER:
        raise Refused(gettext("Use “Transfer ownership” to make someone the owner."), field="role")
    _guard_owner(membership, "demoted")
    if membership.role == role:
        return membership
    on = on or today(membership.account)
    membership.role = role
    membership.save(update_fields=["role"])
    _changed(
        membership,
        on=on,
        by=by,
        reason=f"{membership.email} is now {membership.get_role_display()}",
    )
    return membership


@atomic
def membership_remove_invitation(*, membership: Membership, by: User | None = None, on: date | None = None) -> None:
    """Withdraw a pending invitation; its seat is freed like an archived member's."""
    if membership.status != Status.INVITED:
        raise Refused(gettext("%(email)s has already joined; archive them instead.") % {"email": membership.email})
    on = on or today(membership.account)
    membership.delete()
    _changed(membership, on=on, by=by, reason=f"invitation to {membership.email} withdrawn")


@atomic
def ownership_transfer(*, account: Account, to: Membership, by: User | None = None, on: date | None = None) -> Account:
    """Make `to` (an active member) the owner; the old owner becomes an admin."""
    if to.account_id != account.pk or to.status != Status.ACTIVE or to.user_id is None:
        raise Refused(gettext("Ownership can only go to an active member of this account."))
    if to.role == Role.OWNER:
        return account
    on = on or today(account)
    old = account.memberships.select_for_update().get(role=Role.OWNER)
    old.role = Role.ADMIN
    old.save(update_fields=["role"])
    to.role = Role.OWNER
    to.save(update_fields=["role"])
    _changed(to, on=on, by=by, reason=f"ownership moved from {old.email} to {to.email}")
    return account


def history_record(*, instance, reason: str, by: User | None = None) -> None:
    """One history row for a change written with a queryset `update()` (issue 7: who, when, why).

    `update()` keeps concurrent writers safe (F() counters, "lock only if not locked yet") but
    sends no post_save, so django-simple-history would miss the change. The row is read back
    as stored (an F() value is only known then) and recorded as a change ("~"). A reason or
    user already set on `instance` (`_change_reason`, `_history_user`) wins; otherwise the
    user is `by`, or the request's user (simple_history's middleware).
    """
    if is_dry_run():
        return  # a preview records no history (common.history)
    model = type(instance)
    row = model._default_manager.get(pk=instance.pk)
    reason = getattr(instance, "_change_reason", None) or reason
    user = getattr(instance, "_history_user", None) or by
    model.history.bulk_history_create([row], update=True, default_user=user, default_change_reason=reason[:100])


def membership_mark_used(*, account: Account, user) -> None:
    """The person works in `account` now: their next login lands there (no history row: not a change of rights)."""
    Membership.objects.filter(account=account, user=user).update(last_used_at=timezone.now())


# ---------------------------------------------------------------- billing details

# What Settings › Billing details, the API and the admin change, in the order a form shows them.
BILLING_DETAILS = (
    "legal_name",
    "address",
    "postcode",
    "city",
    "country",
    "tax_id",
    "billing_email",
    "invoice_language",
)
_LABELS = {
    "legal_name": gettext_lazy("The legal name"),
    "address": gettext_lazy("The address"),
    "postcode": gettext_lazy("The postcode"),
    "city": gettext_lazy("The city"),
    "tax_id": gettext_lazy("The VAT ID"),
    "billing_email": gettext_lazy("The billing email"),
}
ADDRESS_MAX_LINES = 3


def billing_details_of(account: Account) -> dict:
    return {name: getattr(account, name) for name in BILLING_DETAILS}


def _text(name: str, value, *, multiline: bool = False) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Refused(gettext("%(field)s must be text.") % {"field": _LABELS[name]}, field=name)
    if multiline:
        lines = [line.strip() for line in value.replace("\r\n", "\n").split("\n")]
        value = "\n".join(line for line in lines if line)
    else:
        value = " ".join(value.split())
    limit = Account._meta.get_field(name).max_length or 300  # `address` is a TextField
    if len(value) > limit:
        raise Refused(
            gettext("%(field)s can be at most %(limit)s characters long (this one has %(length)s).")
            % {"field": _LABELS[name], "limit": limit, "length": number_format(len(value), force_grouping=True)},
            field=name,
        )
    return value


def _tax_id(raw: str, country: str) -> str:
    """A VAT ID in its compact form (`DE136695976`), its format and check digits checked by python-stdnum.

    An EU VAT ID may be typed without its country prefix; it gets the billing country's.
    Elsewhere a country python-stdnum knows a VAT number of is checked the same way; other
    tax IDs are kept as typed.
    """
    if not raw:
        return ""
    if not country:
        raise Refused(gettext("Choose the country of this VAT ID first."), field="country")
    prefix = vat_prefix(country)
    if prefix in EU_VAT_FORMATS:
        number = clean(raw, " -./,:").upper().strip()
        if number[:2].isdigit() or (prefix == "AT" and number[:1] == "U"):
            number = prefix + number
        how = {"prefix": prefix, "format": EU_VAT_FORMATS[prefix], "country": country, "number": number}
        if number[:2] != prefix:
            message = gettext(
                "A VAT ID from %(country)s starts with %(prefix)s: %(prefix)s VAT numbers are %(format)s."
            )
            raise Refused(message % how, field="tax_id")
        try:
            return eu_vat.validate(number)
        except stdnum_errors.InvalidChecksum:
            message = gettext(
                "%(number)s is not a valid VAT ID: a check digit is wrong. %(prefix)s VAT numbers are %(format)s."
            )
            raise Refused(message % how, field="tax_id") from None
        except stdnum_errors.ValidationError:
            message = gettext("%(number)s is not a valid VAT ID. %(prefix)s VAT numbers are %(format)s.")
            raise Refused(message % how, field="tax_id") from None
    module = stdnum.get_cc_module(country.lower(), "vat")
    if module is not None:
        try:
            return module.validate(raw)
        except stdnum_errors.ValidationError:
            raise Refused(
                gettext("%(number)s is not a valid VAT number for %(country)s.") % {"number": raw, "country": country},
                field="tax_id",
            ) from None
    return _text("tax_id", raw)


def billing_details_clean(*, account: Account, changes: dict) -> dict:
    """Every billing detail of `account` after `changes`, checked and normalised; nothing is saved.

    `changes` holds some of BILLING_DETAILS; the others keep their values. The first problem
    is refused, naming its field. The admin's form calls this; `billing_details_update` too.
    """
    unknown = sorted(set(changes) - set(BILLING_DETAILS))
    if unknown:
        raise Refused(f"“{unknown[0]}” is not a billing detail.", field=unknown[0])
    wanted = {**billing_details_of(account), **changes}
    clean = {name: _text(name, wanted[name]) for name in ("legal_name", "postcode", "city")}
    clean["address"] = _text("address", wanted["address"], multiline=True)
    if clean["address"].count("\n") >= ADDRESS_MAX_LINES:
        raise Refused(gettext("Give at most %(n)s address lines.") % {"n": ADDRESS_MAX_LINES}, field="address")
    given = wanted["country"] or ""
    country = given.strip().upper() if isinstance(given, str) else str(given)
    if country and country not in dict(countries()):
        message = gettext("“%(given)s” is not a country: choose one from the list.")
        raise Refused(message % {"given": str(given)[:40]}, field="country")
    clean["country"] = country
    clean["tax_id"] = _tax_id(_text("tax_id", wanted["tax_id"]), country)
    clean["billing_email"] = _text("billing_email", wanted["billing_email"])
    if clean["billing_email"]:
        try:
            validate_email(clean["billing_email"])
        except ValidationError:
            message = gettext("“%(email)s” is not an email address.")
            raise Refused(message % {"email": clean["billing_email"]}, field="billing_email") from None
    language = wanted["invoice_language"] or Account.Language.ENGLISH
    if language not in Account.Language.values:
        choices = ", ".join(f"{c.value} ({c.label})" for c in Account.Language)
        raise Refused(f"Invoices are written in {choices}.", field="invoice_language")
    clean["invoice_language"] = language
    return clean


@atomic
def billing_details_update(*, account: Account, changes: dict, by: User | None = None) -> Account:
    """Change an account's billing details (Settings › Billing details, the API and the admin).

    Checked by `billing_details_clean` before anything is saved. Issued documents keep the
    buyer block frozen on them; the next document carries the new details. A changed VAT ID
    forgets the last VIES answer, which was about the old one, and asks VIES about the new one
    after commit (`accounts.vies`); so does saving a VAT ID whose evidence does not hold.
    """
    rows_lock(Account.objects.filter(pk=account.pk))
    account.refresh_from_db()
    clean = billing_details_clean(account=account, changes=changes)
    changed = [name for name in BILLING_DETAILS if getattr(account, name) != clean[name]]
    if changed:
        _billing_details_save(account, clean, changed, by=by)
    if "tax_id" in changed or not vat_id_validated(account, today(account)):
        vies_check_on_commit(account)  # saving again asks again (after a refusal or an outage)
    return account


def _billing_details_save(account: Account, clean: dict, changed: list[str], *, by: User | None) -> None:
    if "tax_id" in changed:
        account.vies_valid = account.vies_checked_on = account.vies_valid_on = None
        account.vies_consultation = account.vies_message = ""
        changed += ["vies_valid", "vies_checked_on", "vies_valid_on", "vies_consultation", "vies_message"]
    for name in BILLING_DETAILS:
        setattr(account, name, clean[name])
    account._change_reason = "billing details changed"
    if by is not None:
        account._history_user = by
    account.save(update_fields=changed)
