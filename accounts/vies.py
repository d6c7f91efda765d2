"""The VIES check of a buyer's VAT ID: the evidence reverse charge needs (issue 19).

VIES is the EU's VAT ID register. Its REST service answers `POST {VIES_BASE_URL}/check-vat-number`
with `{"countryCode": "FR", "vatNumber": "40303265045"}` by `{"valid": true, "requestIdentifier":
"WAPIAAAA…", "requestDate": …}`; when a member state's register is down it says
`{"actionSucceed": false, "errorWrappers": [{"error": "MS_UNAVAILABLE"}]}` or fails with a 5xx.

`vies_check(account_id)` asks and writes the answer on the account; it runs after the commit that
changed a VAT ID (`vies_check_on_commit`) and, in the daily run, before the renewals of accounts
whose evidence no longer holds (`vies_checks_run`). A later Celery task can wrap it as it is: it
reads the account afresh, so running it twice only asks twice. The tax decision is
`billing.tax.vat_id_validated`, fed by `accounts.tax`.
"""

import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date
from functools import partial

from babel.dates import format_date
from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.countries import vat_prefix
from accounts.models import Account
from accounts.tax import vat_id_validated
from billing import tax as rules
from common.clock import today
from common.dryrun import is_dry_run
from common.errors import Refused
from common.locales import page_locale

log = logging.getLogger(__name__)

# VIES's "the number is not a VAT number" errors: an answer, not an outage.
NOT_VALID_ERRORS = frozenset({"INVALID_INPUT", "INVALID_REQUESTER_INFO"})


@dataclass(frozen=True)
class ViesAnswer:
    valid: bool
    consultation: str  # VIES's requestIdentifier: the consultation number kept as evidence
    name: str = ""
    address: str = ""


class ViesUnavailable(Exception):
    """VIES gave no answer (down, overloaded, a member state's register unavailable, timeout)."""


def vies_ask(vat_id: str, country: str, *, base_url: str, timeout: float) -> ViesAnswer:
    """One question to VIES about `vat_id` (with its prefix) of a buyer in `country` (ISO code)."""
    prefix = vat_prefix(country)
    number = vat_id[len(prefix) :] if vat_id.upper().startswith(prefix) else vat_id
    body = json.dumps({"countryCode": prefix, "vatNumber": number}).encode()
    if not base_url.startswith(("https://", "http://")):
        raise ViesUnavailable(f"VIES_BASE_URL must be an http(s) address, not {base_url[:40]!r}")
    request = urllib.request.Request(  # noqa: S310 (scheme checked above)
        f"{base_url.rstrip('/')}/check-vat-number",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
            data = json.load(response)
    except urllib.error.HTTPError as exc:
        data = _json_or_none(exc)
        if data is None or exc.code >= 500:
            raise ViesUnavailable(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        raise ViesUnavailable(str(getattr(exc, "reason", exc))[:200]) from None
    if not isinstance(data, dict):
        raise ViesUnavailable("not a VIES answer")
    errors = [str(e.get("error", "")) for e in data.get("errorWrappers") or [] if isinstance(e, dict)]
    if errors and errors[0] in NOT_VALID_ERRORS:
        return ViesAnswer(valid=False, consultation="")
    if errors or data.get("actionSucceed") is False or not isinstance(data.get("valid"), bool):
        raise ViesUnavailable(", ".join(errors) or "no answer")
    return ViesAnswer(
        valid=data["valid"],
        consultation=str(data.get("requestIdentifier") or "")[:64],
        name=str(data.get("name") or ""),
        address=str(data.get("address") or ""),
    )


def _json_or_none(exc: urllib.error.HTTPError):
    try:
        return json.load(exc)
    except (ValueError, OSError):
        return None


def vies_needed(account: Account) -> bool:
    """A VIES answer changes this account's tax: an EU business abroad, no manual rate."""
    return (
        bool(account.tax_id)
        and account.tax_rate is None
        and rules.reverse_charge_possible(seller_country=settings.SELLER["country"], buyer_country=account.country)
    )


def vies_check(account_id: int, *, on: date | None = None) -> Account | None:
    """Ask VIES about the account's VAT ID and keep the answer as evidence (issue 19).

    An answer sets `vies_valid`, `vies_checked_on`, `vies_consultation` and, when valid,
    `vies_valid_on`; no answer (VIES down) records the day and why in `vies_message` and leaves
    the last answer as it was, so a valid check within VIES_MAX_AGE_DAYS still holds. Nothing is
    written when the VAT ID changed while VIES was asked (that change asks again).
    """
    account = Account.objects.filter(pk=account_id).first()
    if account is None or not vies_needed(account):
        return account
    on = on or today(account)
    asked = account.tax_id
    try:
        answer = vies_ask(
            asked, account.country, base_url=settings.VIES_BASE_URL, timeout=settings.VIES_TIMEOUT_SECONDS
        )
    except ViesUnavailable as exc:
        log.warning("VIES could not check %s of account %s: %s", asked, account_id, exc)
        answer, why = None, f"VIES unavailable: {exc}"[:300]
    with transaction.atomic():
        account = Account.objects.select_for_update().filter(pk=account_id).first()
        if account is None or account.tax_id != asked:
            return account
        account.vies_checked_on = on
        if answer is None:
            account.vies_message = why
        else:
            account.vies_valid, account.vies_consultation, account.vies_message = answer.valid, answer.consultation, ""
            account.vies_valid_on = on if answer.valid else None
        account._change_reason = "VIES check"
        account.save(
            update_fields=["vies_valid", "vies_checked_on", "vies_valid_on", "vies_consultation", "vies_message"]
        )
    return account


def vies_check_on_commit(account: Account) -> None:
    """Check the account's VAT ID once the change that set it commits (a rolled-back change asks nothing)."""
    if vies_needed(account):
        transaction.on_commit(partial(vies_check, account.pk), robust=True)


def vies_check_request(*, account: Account, by=None) -> Account:
    """Support's "Check the VAT ID with VIES now" (the Account admin): asked once this commits.

    A preview of it (rolled back) asks nothing. `by` is the staff user, for the same signature as
    the other staff actions; the answer is recorded in the account's history as a "VIES check".
    """
    if not vies_needed(account):
        raise Refused("Only an EU business in another country than the seller, without a manual rate, needs VIES.")
    vies_check_on_commit(account)
    return account


def vies_checks_run(*, on: date, accounts) -> int:
    """Before the day's renewals: check the VAT IDs whose evidence would not hold on `on`.

    `accounts` is a queryset (or ids) of the accounts renewing. Each is asked at most once a
    day; returns how many were asked. A preview's dry run asks nobody (a preview never calls out):
    it bills on the evidence as it stands.
    """
    if is_dry_run():
        return 0
    asked = 0
    candidates = Account.objects.filter(pk__in=accounts, tax_rate__isnull=True).exclude(tax_id="")
    for account in candidates.iterator():
        if not vies_needed(account) or vat_id_validated(account, on) or account.vies_checked_on == on:
            continue
        vies_check(account.pk, on=on)
        asked += 1
    return asked


VIES_STATUSES = ("valid", "invalid", "unavailable", "pending")


def vies_state(account: Account) -> dict | None:
    """What VIES last said about the account's VAT ID, for the API; None when the VAT ID needs no check.

    `valid` / `invalid`: VIES answered (with its consultation number); `unavailable`: the last ask got no
    answer (`message` says why; an earlier valid answer may still hold); `pending`: not asked yet.
    """
    if not vies_needed(account):
        return None
    if account.vies_message:
        status = "unavailable"
    elif account.vies_valid is None:
        status = "pending"
    else:
        status = "valid" if account.vies_valid else "invalid"
    return {
        "status": status,
        "checked_on": account.vies_checked_on,
        "valid_on": account.vies_valid_on,
        "consultation_number": account.vies_consultation,
        "message": account.vies_message,
    }


def _day(on: date, account: Account) -> str:
    """“1 Dec 2026” in English; the page's own medium date in German or French (“01.12.2026”, “1 déc. 2026”)."""
    locale = page_locale(account)
    return f"{on.day} {on:%b %Y}" if locale.startswith("en") else format_date(on, "medium", locale=locale)


def vies_notice(account: Account, on: date) -> str:
    """Why the account pays VAT although its VAT ID could make it reverse charge; "" when it does not.

    Shown on Settings › Billing details and next to the tax of the next invoice, in the page's language.
    """
    if not vies_needed(account) or vat_id_validated(account, on):
        return ""
    said = {"id": account.tax_id}
    if account.vies_checked_on:
        said["day"] = _day(account.vies_checked_on, account)
    if account.vies_message and account.vies_checked_on:
        return _("Your VAT ID %(id)s could not be checked with VIES on %(day)s; VAT is charged until it can be.") % said
    if account.vies_valid is False and account.vies_checked_on:
        return (
            _(
                "VIES found your VAT ID %(id)s not valid on %(day)s, so VAT is charged. Check the number with your "
                "tax office, then save it again."
            )
            % said
        )
    return _("Your VAT ID %(id)s is waiting for its check with VIES; VAT is charged until VIES confirms it.") % said
