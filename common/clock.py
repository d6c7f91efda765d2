"""The one clock: "today" for an account, in its time zone (SPEC §2.1)."""

from datetime import date
from zoneinfo import ZoneInfo

from django.utils import timezone


def today(account=None) -> date:
    tz = ZoneInfo(account.timezone) if account is not None and account.timezone else timezone.get_default_timezone()
    return timezone.now().astimezone(tz).date()
