"""One place that builds the Stripe client from settings (keys and host come from the environment)."""

from decimal import Decimal

import stripe
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from moneyed import Money, get_currency


def stripe_client() -> stripe.StripeClient:
    if settings.STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_")) and not settings.STRIPE_LIVE_MODE:
        raise ImproperlyConfigured("A live Stripe key is set but STRIPE_LIVE_MODE is off.")
    # Retrying is safe: every POST carries an idempotency key.
    options = {"max_network_retries": getattr(settings, "STRIPE_MAX_NETWORK_RETRIES", 2)}
    api_host = getattr(settings, "STRIPE_API_HOST", "")  # undefined unless set, as dj-stripe's checks want
    if api_host:
        options["base_addresses"] = {"api": api_host}
    return stripe.StripeClient(settings.STRIPE_SECRET_KEY, **options)


def to_minor(money: Money) -> int:
    """Stripe amounts are integers in the currency's minor unit (cents; yen as they are)."""
    return int(money.get_amount_in_sub_unit())


def from_minor(amount: int, currency: str) -> Money:
    code = currency.upper()
    return Money(Decimal(amount) / get_currency(code).sub_unit, code)


def field(obj, name: str, default=None):
    """Read a field from a StripeObject or a plain dict (webhook payloads are plain JSON)."""
    try:
        value = obj[name]
    except (KeyError, TypeError):
        return default
    return default if value is None else value


def object_id(value) -> str:
    """An id that may come expanded (localstripe expands `latest_charge`) or as a string."""
    if value is None:
        return ""
    return value if isinstance(value, str) else field(value, "id", "")
