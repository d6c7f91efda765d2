"""Content-Security-Policy: django-csp's middleware, plus Stripe.js's origins while card payments are on.

The policy itself is `CONTENT_SECURITY_POLICY` (config/settings.py builds it; the production profile turns
it on). Stripe's origins are added per response from the current settings, so a policy follows the Stripe
configuration (including a localstripe server's address in tests) without being rebuilt.
"""

from urllib.parse import urlsplit

from csp.constants import NONE
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings

STRIPE_JS_ORIGIN = "https://js.stripe.com"
STRIPE_HOOKS_ORIGIN = "https://hooks.stripe.com"
STRIPE_API_ORIGIN = "https://api.stripe.com"


def _origin(url: str) -> str | None:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def stripe_directives() -> dict[str, list[str]]:
    """The sources Stripe.js needs (its script, its card iframes, its API calls); none when Stripe is off."""
    if not (settings.STRIPE_SECRET_KEY and settings.STRIPE_PUBLISHABLE_KEY):
        return {}
    js = {STRIPE_JS_ORIGIN, _origin(settings.STRIPE_JS_URL)} - {None}
    api = {STRIPE_API_ORIGIN, _origin(getattr(settings, "STRIPE_API_HOST", ""))} - {None}
    return {
        "script-src": sorted(js),
        "frame-src": sorted(js | {STRIPE_HOOKS_ORIGIN}),
        "connect-src": sorted(api | js),
    }


class ProrataCSPMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        extra = stripe_directives()
        if not extra:
            return parts
        name = "CONTENT_SECURITY_POLICY_REPORT_ONLY" if report_only else "CONTENT_SECURITY_POLICY"
        directives = (getattr(settings, name, None) or {}).get("DIRECTIVES", {})
        # 'none' must stand alone: a directive that allowed nothing now allows only Stripe's sources.
        parts.replace = {
            **{k: v for k, v in extra.items() if list(directives.get(k) or []) == [NONE]},
            **(parts.replace or {}),
        }
        parts.update = {**{k: v for k, v in extra.items() if k not in parts.replace}, **(parts.update or {})}
        return parts
