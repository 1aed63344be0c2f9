"""Building blocks of the fault tests: a scratch PostgreSQL database, the real server in a
subprocess (its own process group, so it can be SIGKILLed whole), the CLI, and a small HTTP client.

Everything talks to loopback only, and every wait is bounded in time.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
RECEIVABLES = Path(sys.executable).parent / "receivables"
PG_URL = os.environ.get("DATABASE_URL", "")
ON_POSTGRES = PG_URL.startswith(("postgres://", "postgresql://"))

needs_postgres_server = pytest.mark.skipif(
    not ON_POSTGRES, reason="starts the real server on a scratch PostgreSQL database: set DATABASE_URL to PostgreSQL"
)


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def _admin_connection() -> Any:
    import psycopg

    return psycopg.connect(_with_database(PG_URL, "postgres"), autocommit=True, connect_timeout=5)


@contextlib.contextmanager
def scratch_database(prefix: str = "fault") -> Iterator[str]:
    """A fresh, migrated PostgreSQL database on the server DATABASE_URL names; dropped afterwards."""
    name = f"{prefix}_{secrets.token_hex(6)}"
    with _admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(PG_URL, name)
    try:
        run_cli(url, "migrate", "--verbosity", "0", timeout=180)
        yield url
    finally:
        drop_database(name)


def drop_database(name: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            with _admin_connection() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except Exception:
            # PostgreSQL may still be coming back from an outage test.
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def server_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    env.update(
        DATABASE_URL=database_url,
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT / "src"), str(REPO_ROOT), env.get("PYTHONPATH", "")])),
        PYTHONUNBUFFERED="1",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def run_cli(database_url: str, *args: str, timeout: float = 120, check: bool = True, **env: str) -> str:
    done = subprocess.run(
        [str(RECEIVABLES), *args],
        cwd=REPO_ROOT,
        env=server_env(database_url, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"receivables {' '.join(args)} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def api_token(database_url: str, user: str = "fault-admin") -> str:
    lines = run_cli(database_url, "create-api-token", "--user", user, "--role", "admin").split()
    return [line for line in lines if line.startswith("rcv_")][-1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Answer:
    status: int
    body: Any


class Http:
    """JSON over HTTP to the server under test, with a bearer token and a timeout on every call."""

    def __init__(self, port: int, token: str, timeout: float = 15) -> None:
        self.port, self.token, self.timeout = port, token, timeout

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            payload = None if body is None else json.dumps(body)
            all_headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
            connection.request(method, f"/api/v1{path}", payload, {**all_headers, **(headers or {})})
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Answer(response.status, parsed)

    def get(self, path: str) -> Answer:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None, headers: dict[str, str] | None = None) -> Answer:
        return self.request("POST", path, {} if body is None else body, headers)


class Server:
    """``receivables serve`` (gunicorn) in its own session, so a SIGKILL reaches every worker."""

    def __init__(self, database_url: str, log: Path, workers: int = 2, **env: str) -> None:
        self.database_url, self.log_path, self.workers, self.env = database_url, log, workers, env
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, ready_within: float = 60) -> Server:
        self.port = free_port()
        args = ["serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(RECEIVABLES), *args, "--no-migrate"],
            cwd=REPO_ROOT,
            env=server_env(self.database_url, **self.env),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + ready_within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server exited with {self.process.returncode}: {self.log_text()[-3000:]}")
            with contextlib.suppress(OSError):
                if Http(self.port, "none", timeout=2).get("/customers").status == 401:
                    return self
            time.sleep(0.2)
        self.kill()
        raise AssertionError(f"the server did not answer within {ready_within}s: {self.log_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL to the whole process group: the master and every worker die at once."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        self.process = None
        self.log.close()

    def alive_workers(self) -> int:
        """Processes in the server's group (master included) that are still running."""
        if self.process is None:
            return 0
        done = subprocess.run(["pgrep", "-g", str(self.process.pid)], capture_output=True, text=True, timeout=10)
        return len(done.stdout.split())

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def client(self, token: str, timeout: float = 15) -> Http:
        return Http(self.port, token, timeout)
