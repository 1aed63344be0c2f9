"""Django settings, read from the environment.

DATABASE_URL (default: SQLite file ``receivables.sqlite3`` in the working directory),
SECRET_KEY (required when RECEIVABLES_PRODUCTION=1), DEBUG, ALLOWED_HOSTS, TIME_ZONE.
"""

from __future__ import annotations

import datetime
import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent


def _flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


PRODUCTION = _flag("RECEIVABLES_PRODUCTION")
DEBUG = _flag("DEBUG")

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when RECEIVABLES_PRODUCTION=1")
    # Development only: a fresh key per process start means sessions do not survive restarts.
    SECRET_KEY = "dev-" + secrets.token_urlsafe(40)

ALLOWED_HOSTS = [h for h in os.environ.get("ALLOWED_HOSTS", "*").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "receivables.core",
    "receivables.ledger",
    "receivables.customers",
    "receivables.documents",
    "receivables.gateways",
    "receivables.refunds",
    "receivables.subscriptions",
    "receivables.banking",
    "receivables.backoffice",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "receivables.core.middleware.DatabaseUnavailableMiddleware",
    "receivables.core.request_context.RequestContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into a refusal.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling: five failures for one username from one address lock it for 15 minutes.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

ROOT_URLCONF = "receivables.urls"
WSGI_APPLICATION = "receivables.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path.cwd() / 'receivables.sqlite3'}"
    # Persistent connections spare each request a new connection (on PostgreSQL a process fork);
    # the health check replaces one that died, e.g. after the server restarted.
    conn_max_age = int(os.environ.get("CONN_MAX_AGE", "60"))
    config: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=conn_max_age, conn_health_checks=True))
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue instead of
        # failing half-way with "database is locked"; WAL lets readers run beside a writer.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = os.environ.get("STATIC_ROOT") or None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
X_FRAME_OPTIONS = "DENY"
SECURE_HSTS_SECONDS = 31_536_000 if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
if os.environ.get("RECEIVABLES_BEHIND_TLS_PROXY"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# No inline scripts or styles anywhere; the API's interactive docs page loads Swagger UI
# from its CDN, so it alone is left out.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/v1/docs"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
        "frame-ancestors": [NONE],
    },
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True

# The business's own settings.
RECEIVABLES_BASE_CURRENCY = os.environ.get("RECEIVABLES_BASE_CURRENCY", "GBP")
RECEIVABLES_GATEWAY = os.environ.get("RECEIVABLES_GATEWAY", "receivables.gateways.sandbox.SandboxGateway")
# An Idempotency-Key claim still unanswered after this long belongs to a request that died
# (a crash, a killed worker); a retry with the same key may take it over. Longer than any request.
RECEIVABLES_IDEMPOTENCY_STALE_SECONDS = int(os.environ.get("RECEIVABLES_IDEMPOTENCY_STALE_SECONDS", "300"))

# Refunds at or above this amount (per currency, "*" for the rest) need a second person:
# their creator cannot process them. "GBP=250.00,*=0"; the default 0 means always.
REFUND_APPROVAL_THRESHOLD = os.environ.get("REFUND_APPROVAL_THRESHOLD", "*=0")
# A bank line short of an invoice by at most this much may settle it, the rest written off in
# the same step; per currency like the approval thresholds, "*" in each currency's major units.
WRITE_OFF_TOLERANCE = os.environ.get("WRITE_OFF_TOLERANCE", "*=1.00")
# Write-offs at or above this need a second person (maker–checker), as refunds do.
WRITE_OFF_APPROVAL_THRESHOLD = os.environ.get("WRITE_OFF_APPROVAL_THRESHOLD", "*=100.00")
# The largest bank statement file an upload may carry (bytes); larger ones are refused with 413.
BANK_STATEMENT_MAX_BYTES = int(os.environ.get("BANK_STATEMENT_MAX_BYTES", str(200 * 1024 * 1024)))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
