"""Rate limits: per API key (or signed-in user), and per client address for activations."""

from rest_framework.throttling import SimpleRateThrottle

from api.models import ApiKey


class ApiKeyRateThrottle(SimpleRateThrottle):
    """Keyed on the API key's id, so each key has its own budget; 429 with Retry-After when spent."""

    scope = "api_key"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key:{request.auth.pk}"
        elif request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ActivationRateThrottle(SimpleRateThrottle):
    """Activation needs no key (the subscription ID is the secret), so guessing is limited per address."""

    scope = "activation"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
