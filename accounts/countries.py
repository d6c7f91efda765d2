"""Countries by ISO 3166-1 alpha-2 code, named by Babel's CLDR data, and what their VAT IDs look like."""

from functools import cache

from babel import Locale

# CLDR territories with two-letter codes that are not ISO 3166-1 countries (regions, unions, test codes).
_NOT_COUNTRIES = frozenset("AC CP CQ DG EA EU EZ IC QO TA UN XA XB XK ZZ".split())

# How each EU member state's VAT ID is written, for the message a wrong one gets. The key is the VAT
# prefix (Greece: EL, its ISO code is GR). Check digits are python-stdnum's business.
EU_VAT_FORMATS = {
    "AT": "ATU followed by 8 digits",
    "BE": "BE followed by 10 digits, the first 0 or 1",
    "BG": "BG followed by 9 or 10 digits",
    "CY": "CY followed by 8 digits and a letter",
    "CZ": "CZ followed by 8, 9 or 10 digits",
    "DE": "DE followed by 9 digits",
    "DK": "DK followed by 8 digits",
    "EE": "EE followed by 9 digits",
    "EL": "EL followed by 9 digits",
    "ES": "ES followed by 9 characters: digits with a letter first, last or both",
    "FI": "FI followed by 8 digits",
    "FR": "FR followed by 2 digits or letters and 9 digits",
    "HR": "HR followed by 11 digits",
    "HU": "HU followed by 8 digits",
    "IE": "IE followed by 7 digits and one or two letters",
    "IT": "IT followed by 11 digits",
    "LT": "LT followed by 9 or 12 digits",
    "LU": "LU followed by 8 digits",
    "LV": "LV followed by 11 digits",
    "MT": "MT followed by 8 digits",
    "NL": "NL followed by 9 digits, the letter B and 2 digits",
    "PL": "PL followed by 10 digits",
    "PT": "PT followed by 9 digits",
    "RO": "RO followed by 2 to 10 digits",
    "SE": "SE followed by 12 digits",
    "SI": "SI followed by 8 digits",
    "SK": "SK followed by 10 digits",
}


def vat_prefix(country: str) -> str:
    """The prefix of a country's EU VAT IDs: its ISO code, except Greece (EL)."""
    return "EL" if country == "GR" else country


@cache
def countries(language: str = "en") -> tuple[tuple[str, str], ...]:
    """(code, name) of every ISO 3166 country, sorted by name in `language`."""
    names = Locale.parse(language).territories
    pairs = ((code, name) for code, name in names.items() if len(code) == 2 and code.isalpha())
    return tuple(sorted(((c, n) for c, n in pairs if c not in _NOT_COUNTRIES), key=lambda pair: pair[1]))


def country_name(code: str, language: str = "en") -> str:
    return dict(countries(language)).get(code, code)
