"""Failing well: every way the command line can meet a bad setting, a bad option or an unusable
database ends in one line on stderr that names what is wrong, exit status 2, and no traceback.

Each case runs the real ``receivables`` command in a subprocess, in an empty directory.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.faults.support import RECEIVABLES, free_port, run_cli

# The environment of each run: nothing of the caller's that could change the outcome.
BASE_ENV = {
    k: v
    for k, v in os.environ.items()
    if not k.startswith(("PYTEST", "DJANGO_SETTINGS", "DATABASE_", "RECEIVABLES_", "SECRET_KEY", "ALLOWED_HOSTS"))
}


def receivables(
    cwd: Path, *args: str, stdin: int | None = subprocess.DEVNULL, **env: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(RECEIVABLES), *args],
        cwd=cwd,
        env={**BASE_ENV, **env},
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def refused_in_one_line(done: subprocess.CompletedProcess, *expected: str) -> str:
    lines = done.stderr.splitlines()
    assert done.returncode == 2, (done.returncode, done.stdout, done.stderr)
    assert len(lines) == 1, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


@contextlib.contextmanager
def silent_server() -> Iterator[int]:
    """A loopback port that accepts connections and never answers: a database that hangs."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            with contextlib.suppress(OSError):
                held.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for connection in held:
            connection.close()
        listener.close()


@pytest.fixture
def migrated(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    run_cli(url, "migrate", "--verbosity", "0")
    return url


MALFORMED_SETTINGS = [
    ("CONN_MAX_AGE", "abc"),
    ("DATABASE_CONNECT_TIMEOUT", "-3"),
    ("REFUND_APPROVAL_THRESHOLD", "GBP=12.345"),
    ("AXES_FAILURE_LIMIT", "lots"),
    ("TIME_ZONE", "Europe/Atlantis"),
    ("RECEIVABLES_BASE_CURRENCY", "XXX"),
    ("ALLOWED_HOSTS", "bad host"),
    ("DATABASE_URL", "mysql://root@localhost/books"),
    ("RECEIVABLES_PRODUCTION", "perhaps"),
]


@pytest.mark.parametrize(("name", "value"), MALFORMED_SETTINGS, ids=[m[0] for m in MALFORMED_SETTINGS])
def test_a_malformed_setting(tmp_path: Path, name: str, value: str) -> None:
    refused_in_one_line(receivables(tmp_path, "ledger", "verify", **{name: value}), f"receivables: {name}")


def test_serve_checks_every_setting_before_it_starts(tmp_path: Path, migrated: str) -> None:
    done = receivables(tmp_path, "serve", "--port", str(free_port()), DATABASE_URL=migrated, CONN_MAX_AGE="x")
    refused_in_one_line(done, "CONN_MAX_AGE")
    gateway = receivables(
        tmp_path,
        "serve",
        "--port",
        str(free_port()),
        DATABASE_URL=migrated,
        RECEIVABLES_GATEWAY="receivables.nope.Gate",
    )
    refused_in_one_line(gateway, "RECEIVABLES_GATEWAY", "cannot be imported")


def test_production_without_a_secret_key(tmp_path: Path) -> None:
    done = receivables(tmp_path, "ledger", "verify", RECEIVABLES_PRODUCTION="1", ALLOWED_HOSTS="books.example.com")
    refused_in_one_line(done, "SECRET_KEY", "must be set when RECEIVABLES_PRODUCTION=1")


def test_production_with_any_host_allowed(tmp_path: Path) -> None:
    done = receivables(tmp_path, "ledger", "verify", RECEIVABLES_PRODUCTION="1", SECRET_KEY="k" * 50, ALLOWED_HOSTS="*")
    refused_in_one_line(done, "ALLOWED_HOSTS")


def test_a_database_that_refuses_connections(tmp_path: Path) -> None:
    url = f"postgres://postgres@127.0.0.1:{free_port()}/nothing"
    refused_in_one_line(receivables(tmp_path, "ledger", "verify", DATABASE_URL=url), "DATABASE_URL=", "refused")


def test_a_database_that_never_answers_times_out(tmp_path: Path) -> None:
    with silent_server() as port:
        url = f"postgres://postgres@127.0.0.1:{port}/hanging"
        done = receivables(tmp_path, "ledger", "verify", DATABASE_URL=url, DATABASE_CONNECT_TIMEOUT="1")
    refused_in_one_line(done, "DATABASE_URL=", "no answer within 1 s (DATABASE_CONNECT_TIMEOUT)")


def test_a_sqlite_file_that_cannot_be_opened(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing-folder' / 'db.sqlite3'}"
    refused_in_one_line(receivables(tmp_path, "migrate", DATABASE_URL=url), "DATABASE_URL=", "cannot connect")


@pytest.mark.parametrize(
    "argv",
    [["ledger", "verify"], ["create-api-token", "--user", "x"], ["gateway", "reconcile"], ["bill-run"]],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_an_unmigrated_database(tmp_path: Path, argv: list[str]) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    refused_in_one_line(receivables(tmp_path, *argv, DATABASE_URL=url), "not migrated", "receivables migrate")


def test_serve_without_migrating_an_unmigrated_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    done = receivables(tmp_path, "serve", "--no-migrate", "--port", str(free_port()), DATABASE_URL=url)
    refused_in_one_line(done, "not migrated")


def test_create_user_without_a_password_and_without_a_terminal(tmp_path: Path, migrated: str) -> None:
    done = receivables(tmp_path, "create-user", "bob", DATABASE_URL=migrated)
    refused_in_one_line(done, "RECEIVABLES_PASSWORD is not set and there is no terminal")
    made = receivables(tmp_path, "create-user", "bob", DATABASE_URL=migrated, RECEIVABLES_PASSWORD="correct-horse-1")
    assert made.returncode == 0 and "created clerk bob" in made.stdout


OUT_OF_RANGE = [
    (["gateway", "reconcile", "--pending-older-than", "-5"], "--pending-older-than: must be from 0"),
    (["create-user", "bob", "--role", "boss"], "--role: invalid choice: 'boss'"),
    (["create-api-token", "--user", "x", "--role", "root"], "--role: invalid choice"),
    (["create-api-token", "--user", "x", "--expires-in-days", "0"], "--expires-in-days: must be from 1 to 3650"),
    (["bill-run", "--date", "1899-12-31"], "--date: must be between 1900-01-01 and 2999-12-31"),
    (["bill-run", "--date", "3000-01-01"], "--date: must be between"),
    (["bill-run", "--date", "2026-02-30"], "--date:"),
    (["bill-run", "--workers", "0"], "--workers: must be from 1 to 64"),
    (["serve", "--port", "70000"], "--port: must be from 1 to 65535"),
    (["demo", "--customers", "-1"], "--customers: must be from 0"),
    (["ledger", "verify", "--no-such-option"], "unrecognized arguments"),
]


@pytest.mark.parametrize(("argv", "message"), OUT_OF_RANGE, ids=[" ".join(a) for a, _ in OUT_OF_RANGE])
def test_an_out_of_range_option(tmp_path: Path, argv: list[str], message: str) -> None:
    """Refused before the database is opened: none is needed here."""
    refused_in_one_line(receivables(tmp_path, *argv), f"receivables {argv[0]}", message)


def test_an_unknown_command(tmp_path: Path) -> None:
    refused_in_one_line(receivables(tmp_path, "flush"), "'flush' is not a command", "receivables --help")


def test_help_lists_only_receivables_commands_and_needs_no_settings(tmp_path: Path) -> None:
    done = receivables(tmp_path, "--help", DATABASE_URL="nonsense", CONN_MAX_AGE="x")
    assert done.returncode == 0, done.stderr
    listed = [line.strip().split("  ")[0] for line in done.stdout.split("commands:\n")[1].splitlines()]
    assert listed == [
        "migrate",
        "demo",
        "serve",
        "create-user",
        "create-api-token",
        "ledger verify",
        "gateway reconcile",
        "bill-run",
        "bank import",
        "django COMMAND",
    ]
    assert "flush" not in done.stdout and "_" not in "".join(listed)


def test_django_commands_stay_reachable_under_django(tmp_path: Path, migrated: str) -> None:
    done = receivables(tmp_path, "django", "help", DATABASE_URL=migrated)
    assert done.returncode == 0, done.stderr
    assert "flush" in done.stdout and "showmigrations" in done.stdout
