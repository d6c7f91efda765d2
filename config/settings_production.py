"""Production profile: `DJANGO_SETTINGS_MODULE=config.settings_production`."""

from config.settings import *  # noqa: F403
from config.settings import CSP_POLICY, env

DEBUG = False
# Several workers share the API's rate-limit counters through the database unless CACHE_URL says otherwise.
CACHES = {"default": env.cache("CACHE_URL", default="dbcache://prorata_cache")}
SECRET_KEY = env("SECRET_KEY")
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (config/settings.py's CSP_POLICY, with Stripe.js's origins while card payments are on).
CONTENT_SECURITY_POLICY = CSP_POLICY if env.bool("CSP_ENABLED", default=True) else None
