"""Which Babel locale formats money and dates for a reader, given the language they read in."""

from babel import Locale, UnknownLocaleError
from django.utils import translation
from django.utils.translation import get_language


def locale_for(language: str, own: str = "en_US", country: str = "") -> str:
    """The locale for `language`, keeping as much of the account's own locale (`own`) as fits.

    English keeps `own` (`en_US`, or `de_DE` for someone reading English with German number formats).
    Another language takes `own` when it is one of that language (`de_AT`), else the language in the
    account's country when Babel knows it (`fr_BE`), else the language alone (`de`).
    """
    own = own or "en_US"
    if language == "en" or own.split("_")[0] == language:
        return own
    try:
        return str(Locale.parse(f"{language}_{country or ''}".rstrip("_")))
    except (UnknownLocaleError, ValueError):
        return language


def page_locale(account) -> str:
    """The locale of a page: the language it is shown in (LocaleMiddleware), formatted for the account."""
    language = (get_language() or "en").split("-")[0]
    return locale_for(language, getattr(account, "locale", None) or "en_US", getattr(account, "country", ""))


def invoice_language(account) -> str:
    """The language text frozen on an issued document (line descriptions, memos) is written in."""
    return getattr(account, "invoice_language", "") or "en"


def in_invoice_language(account):
    """Text frozen on an issued document (line descriptions, memos) is written in the account's invoice language.

    The account is one already loaded (the daily run's batch has it with its chunk): no query.
    """
    return translation.override(invoice_language(account))
