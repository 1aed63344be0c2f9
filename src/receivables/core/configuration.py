"""Every setting read from the environment, in one table: its name, its default, how it is read, its rule.

``settings.py`` reads them through :func:`read`, so a malformed value stops the process at once
with :class:`SettingError`, one line that names the setting and says what is wrong (the command
line prints it and exits 2). Rules that need the application loaded (a gateway class that must
import) run in :func:`check_loaded`, which ``serve`` calls before it starts.

A new setting is one ``Setting(...)`` line in ``SETTINGS``, with one of the readers below (or a
new one: a function from the text to the value that raises ``ValueError`` with the rule).

Only the standard library, dj-database-url and ``receivables.money`` / ``rules`` are imported:
``settings.py`` imports this before Django is set up.
"""

from __future__ import annotations

import ipaddress
import os
import re
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from receivables.money import CURRENCY_EXPONENTS
from receivables.rules.approval import ThresholdError, parse_thresholds

PRODUCTION_FLAG = "RECEIVABLES_PRODUCTION"
LOCAL_HOSTS = "localhost,127.0.0.1,[::1]"


class SettingError(ImproperlyConfigured):
    """A setting that cannot be used; ``str()`` is the one line an operator reads."""

    def __init__(self, name: str, problem: str) -> None:
        super().__init__(f"{name}: {problem}")
        self.name = name
        self.problem = problem


# --- readers: text in, value out, ValueError naming the rule --------------------------------


def flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"", "0", "false", "no", "off"}:
        return False
    raise ValueError("must be 1 or 0 (true/false, yes/no, on/off)")


def whole_number(low: int, high: int, unit: str = "") -> Callable[[str], int]:
    what = f" of {unit}" if unit else ""

    def read(text: str) -> int:
        if not re.fullmatch(r"[+-]?\d{1,12}", text.strip()):
            raise ValueError(f"must be a whole number{what} from {low} to {high}")
        number = int(text)
        if not low <= number <= high:
            raise ValueError(f"must be from {low} to {high}{' ' + unit if unit else ''}, not {number}")
        return number

    return read


def words(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


_HOST_NAME = re.compile(r"^\.?(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


def host_names(text: str) -> list[str]:
    """Comma-separated as Django means them: ``example.com``, ``.example.com`` (and subdomains), an
    address, ``[::1]``, or ``*`` (any host: refused in production)."""
    hosts = words(text)
    if not hosts:
        raise ValueError("must name at least one host, e.g. receivables.example.com")
    for host in hosts:
        if host == "*" or _HOST_NAME.match(host.lower()) or _is_address(host):
            continue
        raise ValueError(f"{host!r} is not a host name, an address or *")
    return hosts


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host[1:-1] if host.startswith("[") and host.endswith("]") else host)
    except ValueError:
        return False
    return True


def no_wildcard(hosts: list[str]) -> None:
    if "*" in hosts:
        raise ValueError("* lets any Host header through: name the hosts")


def origins(text: str) -> list[str]:
    found = words(text)
    for origin in found:
        if not re.match(r"^https?://[^/\s]+$", origin):
            raise ValueError(f"{origin!r} is not an origin such as https://receivables.example.com")
    return found


def time_zone(text: str) -> str:
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{text!r} is not an IANA time zone such as Europe/London") from None
    return text


def currency(text: str) -> str:
    if text not in CURRENCY_EXPONENTS:
        raise ValueError(f"{text!r} is not a supported ISO 4217 currency code such as GBP")
    return text


def thresholds(text: str) -> str:
    """Kept as text (tests and the audit trail compare it); a malformed one is refused here."""
    try:
        parse_thresholds(text)
    except ThresholdError as error:
        raise ValueError(f"{error} (the form is GBP=250.00,*=0; none means never)") from None
    return text


def dotted_path(text: str) -> str:
    if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+", text):
        raise ValueError(f"{text!r} is not a dotted path such as receivables.gateways.sandbox.SandboxGateway")
    return text


def log_level(text: str) -> str:
    level = text.upper()
    if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return level


def optional_path(text: str) -> str | None:
    return text or None


DATABASE_SCHEMES = ("sqlite", "postgres", "postgresql", "pgsql")


def database_url(text: str) -> dict[str, Any]:
    """The database settings Django wants; only SQLite and PostgreSQL are supported."""
    scheme = text.partition("://")[0]
    if scheme not in DATABASE_SCHEMES:
        raise ValueError("must be sqlite:///PATH or postgres://USER@HOST:PORT/NAME (SQLite or PostgreSQL)")
    try:
        config = dict(dj_database_url.parse(text))
    except ValueError as error:
        raise ValueError(f"cannot be read: {error}") from None
    if not config.get("NAME"):
        raise ValueError("names no database (postgres://USER@HOST:PORT/NAME, sqlite:///PATH)")
    return config


def shown_url(url: str) -> str:
    """A database URL fit for a message: the password is never shown."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


# --- the table ------------------------------------------------------------------------------


def default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / 'receivables.sqlite3'}"


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | Callable[[], str]  # text, as the environment would hold it
    read: Callable[[str], Any]
    meaning: str
    # Must it be set in production (RECEIVABLES_PRODUCTION=1)?
    required_in_production: bool = False
    # A stricter rule in production: raises ValueError for a value that is fine elsewhere.
    production_rule: Callable[[Any], None] | None = None
    # Never shown in a message (a secret); a URL is shown without its password.
    secret: bool = False
    url: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting(PRODUCTION_FLAG, "0", flag, "1 for secure cookies, HSTS, a required SECRET_KEY and named ALLOWED_HOSTS"),
    Setting("DEBUG", "0", flag, "1 shows Django's debug pages (never in production)"),
    Setting(
        "SECRET_KEY",
        "",
        str,
        "signs sessions and CSRF tokens; generated per start in development",
        required_in_production=True,
        secret=True,
    ),
    Setting(
        "ALLOWED_HOSTS",
        LOCAL_HOSTS,
        host_names,
        "comma-separated host names the server answers to (the Host header)",
        production_rule=no_wildcard,
    ),
    Setting("CSRF_TRUSTED_ORIGINS", "", origins, "comma-separated origins trusted for forms behind a proxy"),
    Setting("RECEIVABLES_BEHIND_TLS_PROXY", "0", flag, "1 when a proxy terminates TLS and sends X-Forwarded-Proto"),
    Setting(
        "DATABASE_URL", default_database_url, database_url, "sqlite:///PATH or postgres://USER@HOST:PORT/NAME", url=True
    ),
    Setting(
        "CONN_MAX_AGE",
        "60",
        whole_number(0, 86_400, "seconds"),
        "seconds a database connection is kept between requests",
    ),
    Setting(
        "DATABASE_CONNECT_TIMEOUT",
        "5",
        whole_number(1, 600, "seconds"),
        "seconds to wait for the database to accept a connection",
    ),
    Setting("TIME_ZONE", "Europe/London", time_zone, "the business's time zone (IANA name)"),
    Setting("RECEIVABLES_BASE_CURRENCY", "GBP", currency, "the currency of the default trial balance"),
    Setting(
        "REFUND_APPROVAL_THRESHOLD",
        "*=0",
        thresholds,
        "refunds at or above this need a second person: GBP=250.00,*=0 (*=none: never)",
    ),
    Setting(
        "WRITE_OFF_TOLERANCE",
        "*=1.00",
        thresholds,
        "how short a bank payment may be and still settle an invoice, the rest written off: *=1.00",
    ),
    Setting(
        "WRITE_OFF_APPROVAL_THRESHOLD",
        "*=100.00",
        thresholds,
        "write-offs at or above this need a second person: GBP=100.00,*=100.00",
    ),
    Setting(
        "BANK_STATEMENT_MAX_BYTES",
        str(200 * 1024 * 1024),
        whole_number(1024, 2**31, "bytes"),
        "the largest bank statement file an upload may carry",
    ),
    Setting("AXES_FAILURE_LIMIT", "5", whole_number(1, 1000), "failed logins before a lockout"),
    Setting(
        "RECEIVABLES_GATEWAY",
        "receivables.gateways.sandbox.SandboxGateway",
        dotted_path,
        "the payment gateway class",
    ),
    Setting("LOG_LEVEL", "WARNING", log_level, "the least severe log level written"),
    Setting("STATIC_ROOT", "", optional_path, "where collected static files go (optional)"),
    Setting("WEB_CONCURRENCY", "3", whole_number(1, 64), "serve's default number of worker processes"),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}


def _text_of(setting: Setting, environ: Mapping[str, str], production: bool) -> str:
    text = environ.get(setting.name)
    if text is not None and text != "":
        return text
    if production and setting.required_in_production:
        raise SettingError(setting.name, f"must be set when {PRODUCTION_FLAG}=1")
    return setting.default if isinstance(setting.default, str) else setting.default()


def _named(setting: Setting, text: str) -> str:
    """The setting as a message names it: with its value, unless that is a secret."""
    if setting.secret:
        return setting.name
    return f"{setting.name}={(shown_url(text) if setting.url else text)!r}"


def read_one(setting: Setting, environ: Mapping[str, str], production: bool) -> Any:
    text = _text_of(setting, environ, production)
    try:
        value = setting.read(text)
    except ValueError as error:
        raise SettingError(_named(setting, text), str(error)) from None
    if production and setting.production_rule is not None:
        try:
            setting.production_rule(value)
        except ValueError as error:
            raise SettingError(setting.name, f"{error} ({PRODUCTION_FLAG}=1)") from None
    return value


def read(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every setting's value; the first malformed one raises ``SettingError``."""
    env = os.environ if environ is None else environ
    production = read_one(BY_NAME[PRODUCTION_FLAG], env, False)
    return {setting.name: read_one(setting, env, production) for setting in SETTINGS}


def problems(environ: Mapping[str, str] | None = None) -> list[SettingError]:
    """Every malformed setting, not just the first (``serve`` reports them all before refusing to start)."""
    env = os.environ if environ is None else environ
    try:
        production = read_one(BY_NAME[PRODUCTION_FLAG], env, False)
    except SettingError as error:
        return [error]
    found = []
    for setting in SETTINGS:
        try:
            read_one(setting, env, production)
        except SettingError as error:
            found.append(error)
    return found


def check_loaded(loaded_settings: Any) -> list[SettingError]:
    """Rules that need the application loaded: the gateway class must import and be a class."""
    found = []
    path = loaded_settings.RECEIVABLES_GATEWAY
    try:
        gateway = import_string(path)
    except ImportError as error:
        found.append(SettingError(f"RECEIVABLES_GATEWAY={path!r}", f"cannot be imported: {error}"))
    else:
        if not isinstance(gateway, type):
            found.append(SettingError(f"RECEIVABLES_GATEWAY={path!r}", "is not a class"))
    return found
