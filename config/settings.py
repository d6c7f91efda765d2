"""Prorata settings: everything that varies comes from the environment (django-environ)."""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
if DEBUG:
    SECRET_KEY = env("SECRET_KEY", default="dev-only-insecure-key-do-not-use-in-production")
else:
    SECRET_KEY = env("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "support.apps.ProrataAdminConfig",  # django.contrib.admin, its site asking staff for a second factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "djmoney",
    "simple_history",
    # Before the apps whose signals it hears: the event of a change is written before its consequences'.
    "webhooks",
    "accounts",
    "subscriptions",
    "invoicing",
    "djstripe",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "licensing",
    "api",
    "support",
    "revenue",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "common.csp.ProrataCSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "api.middleware.EnglishApiMiddleware",  # after LocaleMiddleware: the API stays English
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.two_factor.OwnerTwoFactorMiddleware",
    "accounts.middleware.CurrentAccountMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",  # turns a refused login into the lockout page (accounts.lockout)
]

ROOT_URLCONF = "config.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.current_account",
                "subscriptions.context_processors.billing",
            ],
        },
    },
]
WSGI_APPLICATION = "config.wsgi.application"

(BASE_DIR / "var").mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'prorata.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, daily run, Celery workers) write one file: a transaction takes
    # the write lock when it begins and waits up to 20 s for it, instead of failing as "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(transaction_mode="IMMEDIATE", timeout=20)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# django-axes watches every authenticate(): it refuses a locked-out address+IP before the password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes, issue 18): AXES_FAILURE_LIMIT wrong passwords for one address from one IP lock
# that pair out for AXES_COOLOFF_MINUTES, on the login page and the admin's; support unlocks early by deleting the
# "access attempt" in the admin. API keys never pass through authenticate(), so the API is not throttled by this.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_CALLABLE = "accounts.lockout.username_of"  # lower-cased, so OLGA@ and olga@ share one counter
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # support sees failed logins as well as successful ones (AccessLog)

LANGUAGE_CODE = "en"
# Pages follow the browser's language among these (LocaleMiddleware); documents and their emails follow
# the account's invoice language (invoicing.formatting.document_language). Catalogues: locale/*/django.po,
# compiled to .mo by `make messages` (run by `make run` and `make test`).
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "static"
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
MEDIA_URL = "media/"
# Issued PDFs live in the default storage: MEDIA_ROOT on this disk, or, with DOCUMENTS_S3_BUCKET, an S3 bucket
# (AWS, or any S3-compatible store at DOCUMENTS_S3_ENDPOINT_URL) that the web and every worker machine share.
DOCUMENTS_S3_BUCKET = env("DOCUMENTS_S3_BUCKET", default="")
if DOCUMENTS_S3_BUCKET:
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": DOCUMENTS_S3_BUCKET,
                "endpoint_url": env("DOCUMENTS_S3_ENDPOINT_URL", default="") or None,
                "access_key": env("DOCUMENTS_S3_ACCESS_KEY_ID", default="") or None,
                "secret_key": env("DOCUMENTS_S3_SECRET_ACCESS_KEY", default="") or None,
                "region_name": env("DOCUMENTS_S3_REGION", default="") or None,
                "location": env("DOCUMENTS_S3_PREFIX", default=""),
                "file_overwrite": False,  # issued documents are append-only: a new status is a new file
                "default_acl": None,
                "querystring_auth": True,
            },
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }

EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="billing@prorata.localhost")

# Prorata
# The currencies Prorata bills in: django-money's choices (the admin's currency drop-downs) and the choices
# written into the migrations; a different list makes `makemigrations` write a choices-only migration.
CURRENCIES = env.list(
    "CURRENCIES", default=["USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "SEK", "NOK", "DKK", "PLN"]
)
INVITATION_MAX_AGE_DAYS = env.int("INVITATION_MAX_AGE_DAYS", default=7)
# Sign-up's verification link (issue 18): the new login works once it is followed, within this many days.
EMAIL_VERIFICATION_MAX_AGE_DAYS = env.int("EMAIL_VERIFICATION_MAX_AGE_DAYS", default=3)
RETENTION_DAYS = env.int("RETENTION_DAYS", default=365)
DEFAULT_PAYMENT_GATEWAY = env("DEFAULT_PAYMENT_GATEWAY", default="bank_transfer")
BANK_TRANSFER_PAYMENT_TERMS_DAYS = env.int("BANK_TRANSFER_PAYMENT_TERMS_DAYS", default=0)
SELLER = {
    "name": env("SELLER_NAME", default="Prorata Demo Ltd"),
    "address": env("SELLER_ADDRESS", default="1 Example Street\n10115 Berlin\nGermany"),
    "tax_id": env("SELLER_TAX_ID", default="DE123456788"),  # a demo number whose check digit is right
    "country": env("SELLER_COUNTRY", default="DE"),  # ISO 3166 code: the tax rules' "domestic"
    "bank": env("SELLER_BANK", default="IBAN DE00 0000 0000 0000 0000 00 · BIC DEMODEXXX"),
    "email": env("SELLER_EMAIL", default="billing@prorata.localhost"),
    "logo": env("SELLER_LOGO", default=""),  # optional: a PNG/SVG file path, printed on invoices
}
# VIES, the EU's VAT ID check: reverse charge needs a valid answer no older than VIES_MAX_AGE_DAYS.
VIES_BASE_URL = env("VIES_BASE_URL", default="https://ec.europa.eu/taxation_customs/vies/rest-api")
VIES_MAX_AGE_DAYS = env.int("VIES_MAX_AGE_DAYS", default=90)
VIES_TIMEOUT_SECONDS = env.float("VIES_TIMEOUT_SECONDS", default=10)
INVOICE_PAPER_SIZE = env("INVOICE_PAPER_SIZE", default="A4")  # "A4" or "Letter"
# Background work (Celery): with CELERY_BROKER_URL (e.g. redis://127.0.0.1:6379/0) tasks go to the workers of
# `make worker`; without it they run in-process right after the commit that enqueued them (no Redis needed).
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False  # in-process, a failed task is logged; the daily run's sweep tries it again
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL or None)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)}
CELERY_TIMEZONE = TIME_ZONE
# The daily billing run, started by Celery beat (`make worker` runs the beat) at this time of TIME_ZONE, "HH:MM".
BILLING_RUN_AT = env("BILLING_RUN_AT", default="03:00")
# With workers, the daily run fans out: one task per this many due subscriptions.
BILLING_RUN_CHUNK = env.int("BILLING_RUN_CHUNK", default=2000)
_run_hour, _run_minute = (int(part) for part in BILLING_RUN_AT.split(":"))
CELERY_BEAT_SCHEDULE = {
    "daily-billing-run": {
        "task": "subscriptions.billing_run_daily",
        "schedule": crontab(hour=_run_hour, minute=_run_minute),
    },
    "webhook-retries-due": {"task": "webhooks.deliveries_requeue_due", "schedule": 60.0},
}
# Webhooks (issue 20): each event is POSTed to the endpoints that want it; a failure is tried again after
# each of these delays in seconds (5 s … 16 h, about 3 days in all), then given up as failed.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10)
WEBHOOK_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000, 50400, 50400, 57600]
# An endpoint is disabled after this many failed attempts in a row (default: one delivery's whole schedule),
# and WEBHOOK_ALERT_EMAIL (default: the ADMINS) is told.
WEBHOOK_DISABLE_AFTER = env.int("WEBHOOK_DISABLE_AFTER", default=len(WEBHOOK_RETRY_SCHEDULE) + 1)
WEBHOOK_ALERT_EMAIL = env("WEBHOOK_ALERT_EMAIL", default="")
# Per series: {"INV": {"padding": 6, "yearly_reset": true}}; see invoicing.services.series_format.
NUMBER_SERIES = env.json("NUMBER_SERIES", default={})
# Payments (issue 8): card payments through Stripe only when both keys are set; secrets come from the environment.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
if env("STRIPE_API_HOST", default=""):  # e.g. a localstripe server; left undefined otherwise (dj-stripe check W002)
    STRIPE_API_HOST = env("STRIPE_API_HOST")
STRIPE_JS_URL = env("STRIPE_JS_URL", default="https://js.stripe.com/v3/")
STRIPE_LIVE_MODE = env.bool("STRIPE_LIVE_MODE", default=False)  # False refuses sk_live_ keys
# The webhook endpoint, served by dj-stripe at /stripe/webhook/<uuid>/ (`manage.py stripe_webhook` prints it):
DJSTRIPE_WEBHOOK_SECRET = env("DJSTRIPE_WEBHOOK_SECRET", default="")  # its signing secret; unset turns it off
DJSTRIPE_WEBHOOK_TOLERANCE = env.int("DJSTRIPE_WEBHOOK_TOLERANCE", default=300)  # seconds
STRIPE_WEBHOOK_UUID = env("STRIPE_WEBHOOK_UUID", default="")  # default: derived (one-way) from the secret
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"  # dj-stripe's required setting, should its app be installed
# The cache holds the API's rate-limit counters. The default lives in one process's memory; with
# several workers use a shared one, e.g. CACHE_URL=dbcache://prorata_cache (`make migrate` creates its table).
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
# Where Prorata is served, for links made outside a request (the webhook URL to give Stripe).
SITE_URL = env("SITE_URL", default="http://127.0.0.1:8000")
# Content-Security-Policy (django-csp): only this site's own scripts, styles, fonts and images (plus data:
# images); Stripe.js's origins are added while card payments are on (common/csp.py). A page that needs an
# inline <script> or <style> marks it with nonce="{{ request.csp_nonce }}". On in the production profile;
# CSP_ENABLED=True turns it on here too.
CSP_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "frame-src": [NONE],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
CSP_ENABLED = env.bool("CSP_ENABLED", default=False)
CONTENT_SECURITY_POLICY = CSP_POLICY if CSP_ENABLED else None
# Two-factor sign-in (django-otp): staff always pass a TOTP code (or a recovery code) before the admin opens;
# True here asks account owners for one too before any signed-in page (accounts/two_factor.py).
OTP_REQUIRED_FOR_OWNERS = env.bool("OTP_REQUIRED_FOR_OWNERS", default=False)
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="Prorata")
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin's device pages never show a key or its QR code
# Django admin for support staff (issue 7)
ADMIN_SITE_HEADER = env("ADMIN_SITE_HEADER", default="Prorata support")
# Support may grant credit up to this amount (in the account's currency); Finance has no limit.
SUPPORT_CREDIT_LIMIT = env.int("SUPPORT_CREDIT_LIMIT", default=100)

# API (issue 9): DRF + drf-spectacular; errors, auth and throttles live in api/.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.ApiKeyAuthentication",
        "api.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.HasAccount"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.ApiKeyRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "api_key": env("API_RATE_PER_KEY", default="600/min"),
        "activation": env("API_RATE_ACTIVATION", default="30/min"),
    },
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Cursor",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Prorata API",
    "DESCRIPTION": "Subscription, members, invoices and licences of one account. "
    'Authenticate with `Authorization: Bearer <API key>`; errors are `{"error": {code, message, field}}`. '
    "`GET /api/v1/account` tells a product the account's status and the features its plan unlocks.\n\n"
    "**Events.** Each change writes an event (a stable UUID, type, account, time and a snapshot payload) in the "
    "same transaction: `subscription.created`, `subscription.updated`, `subscription.canceled`, "
    "`subscription.expired`, `subscription.trial_will_end`, `seats.changed`, `invoice.issued`, `invoice.paid`, "
    "`invoice.voided`, `credit_note.issued`, `account.locked`, `account.unlocked`, `licence.assigned`, "
    "`licence.released`. Webhook endpoints that will receive them, signed per Standard Webhooks "
    "(`webhook-id`, `webhook-timestamp`, `webhook-signature`), are registered by the vendor's staff.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "MemberRoleEnum": "accounts.models.Membership.Role",
        "GrantableRoleEnum": "api.serializers.GRANTABLE_ROLES",
        "CycleEnum": "subscriptions.models.Cycle",
        "InvoiceReasonEnum": "invoicing.models.Invoice.Reason",
        "CreditNoteReasonEnum": "invoicing.models.CreditNote.Reason",
        "InvoiceStatusEnum": "invoicing.models.Invoice.Status",
        "SubscriptionStatusEnum": "subscriptions.models.Subscription.Status",
        "MembershipStatusEnum": "accounts.models.Membership.Status",
    },
}
# Licences (SPEC §2.7): Ed25519 private key, base64 of the 32 raw bytes or PEM; `manage.py licence_keygen`.
LICENCE_SIGNING_KEY = env("LICENCE_SIGNING_KEY", default="")
LICENCE_GRACE_DAYS = env.int("LICENCE_GRACE_DAYS", default=7)

# Settings › Invoices: a "Pay now" button standing in for the payment gateway (always on when DEBUG).
DEMO_SELF_PAY = env.bool("DEMO_SELF_PAY", default=False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="WARNING")},
}
