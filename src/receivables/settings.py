"""Django settings, read from the environment through ``receivables.core.configuration``.

That module's table names every setting, its default and its rule; a malformed value stops
the process here with one line naming the setting (``SettingError``).
"""

from __future__ import annotations

import datetime
import secrets
from pathlib import Path
from typing import Any

from csp.constants import NONE, SELF

from receivables.core import configuration

BASE_DIR = Path(__file__).resolve().parent
ENV = configuration.read()

PRODUCTION: bool = ENV["RECEIVABLES_PRODUCTION"]
DEBUG: bool = ENV["DEBUG"]

# Development only: a fresh key per process start means sessions do not survive restarts
# (``serve`` hands its key to every worker). Production requires one.
SECRET_KEY: str = ENV["SECRET_KEY"] or "dev-" + secrets.token_urlsafe(40)

# Never "*" in production (a forged Host header would steer links and redirects); the default
# is this machine's own names.
ALLOWED_HOSTS: list[str] = ENV["ALLOWED_HOSTS"]
CSRF_TRUSTED_ORIGINS: list[str] = ENV["CSRF_TRUSTED_ORIGINS"]

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
    # Only for its vendored Swagger UI (templates and static files): /api/v1/docs works offline.
    "ninja",
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
    "receivables.core.middleware.ApiAnswersInJsonMiddleware",
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
# Login throttling: five failures for one username (from anywhere) lock the username, and five
# from one client address lock the address, each for 15 minutes; an admin may unlock a user
# (POST /api/v1/users/{username}/unlock). The address is the real client's behind our proxy.
AXES_FAILURE_LIMIT: int = ENV["AXES_FAILURE_LIMIT"]
AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "receivables.core.request_context.client_address"
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
    config: dict[str, Any] = dict(ENV["DATABASE_URL"])
    # Persistent connections spare each request a new connection (on PostgreSQL a process fork);
    # the health check replaces one that died, e.g. after the server restarted.
    config.update(CONN_MAX_AGE=ENV["CONN_MAX_AGE"], CONN_HEALTH_CHECKS=True)
    if config["ENGINE"] != "django.db.backends.sqlite3":
        # An unreachable server is an error within seconds, not a hang of minutes.
        config.setdefault("OPTIONS", {})["connect_timeout"] = ENV["DATABASE_CONNECT_TIMEOUT"]
    else:
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
TIME_ZONE: str = ENV["TIME_ZONE"]
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT: str | None = ENV["STATIC_ROOT"]
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
RECEIVABLES_BEHIND_TLS_PROXY: bool = ENV["RECEIVABLES_BEHIND_TLS_PROXY"]
if RECEIVABLES_BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# No inline scripts or styles anywhere, the API's docs page included (its Swagger UI is
# django-ninja's vendored copy, configured by a JSON block and a script file).
CONTENT_SECURITY_POLICY = {
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
RECEIVABLES_BASE_CURRENCY: str = ENV["RECEIVABLES_BASE_CURRENCY"]
RECEIVABLES_GATEWAY: str = ENV["RECEIVABLES_GATEWAY"]

# Refunds at or above this amount (per currency, "*" for the rest) need a second person:
# their creator cannot process them. "GBP=250.00,*=0"; the default 0 means always.
REFUND_APPROVAL_THRESHOLD: str = ENV["REFUND_APPROVAL_THRESHOLD"]
# A bank line short of an invoice by at most this much may settle it, the rest written off in
# the same step; per currency like the approval thresholds, "*" in each currency's major units.
WRITE_OFF_TOLERANCE: str = ENV["WRITE_OFF_TOLERANCE"]
# Write-offs at or above this need a second person (maker–checker), as refunds do.
WRITE_OFF_APPROVAL_THRESHOLD: str = ENV["WRITE_OFF_APPROVAL_THRESHOLD"]
# The largest bank statement file an upload may carry (bytes); larger ones are refused with 413.
BANK_STATEMENT_MAX_BYTES: int = ENV["BANK_STATEMENT_MAX_BYTES"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": ENV["LOG_LEVEL"]},
}
