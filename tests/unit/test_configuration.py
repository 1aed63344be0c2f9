"""The settings table (core.configuration): defaults, each setting's rule, production's stricter ones."""

from __future__ import annotations

import pytest

from receivables.core import configuration
from receivables.core.configuration import SettingError, read

PRODUCTION = {"RECEIVABLES_PRODUCTION": "1", "SECRET_KEY": "s" * 50, "ALLOWED_HOSTS": "receivables.example.com"}


def test_the_defaults_of_a_bare_environment() -> None:
    values = read({})
    assert values["RECEIVABLES_PRODUCTION"] is False
    assert values["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]
    assert values["CONN_MAX_AGE"] == 60
    assert values["DATABASE_CONNECT_TIMEOUT"] == 5
    assert values["DATABASE_URL"]["ENGINE"] == "django.db.backends.sqlite3"
    assert values["REFUND_APPROVAL_THRESHOLD"] == "*=0"
    assert values["TIME_ZONE"] == "Europe/London"


def test_good_values_are_read_into_their_types() -> None:
    values = read(
        {
            "CONN_MAX_AGE": "0",
            "DATABASE_CONNECT_TIMEOUT": "12",
            "DATABASE_URL": "postgres://app:secret@db.internal:5433/books",
            "ALLOWED_HOSTS": "receivables.example.com, .example.org,10.0.0.5,[::1]",
            "RECEIVABLES_BEHIND_TLS_PROXY": "yes",
            "LOG_LEVEL": "info",
        }
    )
    assert values["CONN_MAX_AGE"] == 0 and values["DATABASE_CONNECT_TIMEOUT"] == 12
    assert (values["DATABASE_URL"]["NAME"], values["DATABASE_URL"]["PORT"]) == ("books", 5433)
    assert values["ALLOWED_HOSTS"] == ["receivables.example.com", ".example.org", "10.0.0.5", "[::1]"]
    assert values["RECEIVABLES_BEHIND_TLS_PROXY"] is True
    assert values["LOG_LEVEL"] == "INFO"


MALFORMED = [
    ("CONN_MAX_AGE", "abc", "whole number of seconds"),
    ("CONN_MAX_AGE", "-1", "from 0 to 86400"),
    ("DATABASE_CONNECT_TIMEOUT", "0", "from 1 to 600"),
    ("DATABASE_URL", "mysql://root@localhost/db", "sqlite:///PATH or postgres://"),
    ("DATABASE_URL", "postgres://user@host:5432", "names no database"),
    ("REFUND_APPROVAL_THRESHOLD", "GBP=abc", "GBP=abc"),
    ("REFUND_APPROVAL_THRESHOLD", "XYZ=5", "not a supported currency"),
    ("AXES_FAILURE_LIMIT", "0", "from 1 to 1000"),
    ("TIME_ZONE", "Mars/Olympus_Mons", "IANA time zone"),
    ("RECEIVABLES_BASE_CURRENCY", "XYZ", "ISO 4217"),
    ("RECEIVABLES_GATEWAY", "not a path", "dotted path"),
    ("ALLOWED_HOSTS", "exa mple.com", "not a host name"),
    ("CSRF_TRUSTED_ORIGINS", "example.com", "not an origin"),
    ("RECEIVABLES_PRODUCTION", "maybe", "must be 1 or 0"),
    ("DEBUG", "2", "must be 1 or 0"),
    ("LOG_LEVEL", "LOUD", "DEBUG, INFO"),
    ("WEB_CONCURRENCY", "100", "from 1 to 64"),
]


@pytest.mark.parametrize(("name", "value", "rule"), MALFORMED, ids=[f"{m[0]}={m[1]}" for m in MALFORMED])
def test_a_malformed_setting_is_one_line_naming_it_and_its_rule(name: str, value: str, rule: str) -> None:
    with pytest.raises(SettingError) as refused:
        read({name: value})
    line = str(refused.value)
    assert line.startswith(name) and rule in line and "\n" not in line
    assert [str(p) for p in configuration.problems({name: value})] == [line]


def test_problems_lists_every_bad_setting_not_just_the_first() -> None:
    found = configuration.problems({"CONN_MAX_AGE": "x", "TIME_ZONE": "Nowhere", "LOG_LEVEL": "LOUD"})
    assert [error.name.split("=")[0] for error in found] == ["CONN_MAX_AGE", "TIME_ZONE", "LOG_LEVEL"]


def test_a_database_password_is_never_shown() -> None:
    with pytest.raises(SettingError) as refused:
        read({"DATABASE_URL": "postgres://app:hunter2@db/"})
    assert "hunter2" not in str(refused.value) and "***" in str(refused.value)


def test_production_needs_a_secret_key() -> None:
    with pytest.raises(SettingError, match="SECRET_KEY: must be set when RECEIVABLES_PRODUCTION=1"):
        read({**PRODUCTION, "SECRET_KEY": ""})
    with pytest.raises(SettingError) as refused:
        read({**PRODUCTION, "SECRET_KEY": ""})
    assert "s" * 10 not in str(refused.value)


def test_production_refuses_any_host_and_defaults_to_this_machine() -> None:
    for hosts in ("*", "books.example.com,*"):
        with pytest.raises(SettingError, match=r"ALLOWED_HOSTS: \* lets any Host header through"):
            read({**PRODUCTION, "ALLOWED_HOSTS": hosts})
    bare = {k: v for k, v in PRODUCTION.items() if k != "ALLOWED_HOSTS"}
    assert read(bare)["ALLOWED_HOSTS"] == ["localhost", "127.0.0.1", "[::1]"]
    assert read({"ALLOWED_HOSTS": "*"})["ALLOWED_HOSTS"] == ["*"]  # a developer's choice outside production


def test_a_new_setting_is_one_line_of_the_table() -> None:
    """The table is what settings.py reads: every entry has a reader and a meaning for the README."""
    names = [setting.name for setting in configuration.SETTINGS]
    assert len(names) == len(set(names))
    assert all(setting.meaning and callable(setting.read) for setting in configuration.SETTINGS)
