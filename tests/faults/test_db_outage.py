"""Database goes away: PostgreSQL is stopped for a few seconds during a burst of requests.

While it is away requests fail fast with 503 ``database_unavailable`` (screens: a 503 page), never
a 500 and never a hang; nothing is half-written; the same gunicorn workers serve again as soon as
PostgreSQL is back, without a restart. Stopping PostgreSQL disturbs everyone sharing the server,
so this runs only with RECEIVABLES_FAULT_TESTS=1 (CI sets it), as root, with pg_ctlcluster.
"""

from __future__ import annotations

import http.client
import os
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults.support import Http, Server, api_token, needs_postgres_server, run_cli, scratch_database

OUTAGE_SECONDS = 3
THREADS = 6
PG_VERSIONS = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []


def _skip_reason() -> str | None:
    if os.environ.get("RECEIVABLES_FAULT_TESTS") != "1":
        return "stops the shared PostgreSQL server for a few seconds: set RECEIVABLES_FAULT_TESTS=1 to run it"
    if os.geteuid() != 0:
        return "stopping PostgreSQL with pg_ctlcluster needs root"
    if shutil.which("pg_ctlcluster") is None or not PG_VERSIONS:
        return "pg_ctlcluster (a local Debian PostgreSQL cluster) is not installed"
    return None


pytestmark = [
    needs_postgres_server,
    pytest.mark.slow,
    pytest.mark.faults,
    pytest.mark.skipif(_skip_reason() is not None, reason=_skip_reason() or ""),
]


def _cluster(action: str) -> None:
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", PG_VERSIONS[-1], "main", action]
    subprocess.run([*command, "-m", "fast"] if action == "stop" else command, check=True, timeout=60)


def _wait_until_accepting(seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1"], timeout=10).returncode == 0:
            return
        time.sleep(0.2)
    raise AssertionError("PostgreSQL did not come back")


@dataclass
class Sent:
    key: str
    at: float
    status: int | str
    error: str
    detail: str
    took: float


class Burst:
    """Threads posting £1.00 payments (each with its own Idempotency-Key) until told to stop."""

    def __init__(self, http: Http, customer: int) -> None:
        self.http, self.customer = http, customer
        self.sent: list[Sent] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def _worker(self, index: int) -> None:
        for n in range(10_000):
            if self.stop.is_set():
                return
            key = f"burst-{index}-{n}"
            started = time.monotonic()
            status, error, detail = self.pay(key)
            with self.lock:
                self.sent.append(Sent(key, started, status, error, detail, time.monotonic() - started))
            time.sleep(0.02 if status == 201 else 0.25)  # a client backs off when refused

    def pay(self, key: str) -> tuple[int | str, str, str]:
        body = {"customer": self.customer, "amount": "1.00", "method": "bank_transfer"}
        try:
            answer = self.http.post("/payments", body, {"Idempotency-Key": key})
        except (OSError, http.client.HTTPException) as error:
            return type(error).__name__, "", str(error)
        payload = answer.body if isinstance(answer.body, dict) else {}
        return answer.status, str(payload.get("error", "")), str(payload.get("detail", ""))

    def run(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=self._worker, args=(i,), daemon=True) for i in range(THREADS)]
        for thread in threads:
            thread.start()
        return threads


def _screen_status(port: int) -> int:
    """A signed-in staff screen needs the session table: the request has to reach the database."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request("GET", "/", headers={"Cookie": "sessionid=abcdefghijklmnopqrstuvwxyz012345"})
        return connection.getresponse().status
    finally:
        connection.close()


def test_postgres_stopped_and_started_during_a_burst(tmp_path: Path) -> None:
    with scratch_database("fault_outage") as url:
        token = api_token(url)
        server = Server(url, tmp_path / "server.log")
        try:
            server.start()
            http_client = server.client(token, timeout=20)
            http_client.post("/bank-accounts", {"name": "Main GBP", "currency": "GBP", "is_default": True})
            customer = http_client.post("/customers", {"name": "Outage Customer", "currency": "GBP"}).body["id"]
            processes_before = server.alive_workers()
            burst = Burst(http_client, customer)
            threads = burst.run()
            time.sleep(1)
            try:
                down_at = time.monotonic()
                _cluster("stop")
                time.sleep(0.5)
                screen_while_down = _screen_status(server.port)
                time.sleep(OUTAGE_SECONDS)
            finally:
                _cluster("start")
                _wait_until_accepting()
            up_at = time.monotonic()
            recovered_at = _wait_for_success(burst, up_at)
            time.sleep(1)
            burst.stop.set()
            for thread in threads:
                thread.join(timeout=30)
            processes_after = server.alive_workers()
            _report(burst.sent, down_at, up_at, recovered_at)

            assert screen_while_down == 503
            assert processes_after == processes_before, "gunicorn workers died or were replaced"
            _assert_answers(burst.sent, down_at, up_at)
            _retry_failed(burst)
            _assert_nothing_half_written(http_client, url, burst, customer)
        finally:
            server.kill()
            from django.db import connections

            connections.close_all()  # this process's connections died with the server


def _wait_for_success(burst: Burst, since: float, within: float = 30) -> float:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        with burst.lock:
            done = [s.at for s in burst.sent if s.at >= since and s.status == 201]
        if done:
            return min(done)
        time.sleep(0.1)
    raise AssertionError(f"no request succeeded within {within}s of PostgreSQL coming back")


def _report(sent: list[Sent], down_at: float, up_at: float, recovered_at: float) -> None:
    during = [s for s in sent if down_at <= s.at < up_at]
    print(
        f"{len(sent)} requests; {sum(s.status == 503 for s in sent)} answered 503; "
        f"{len(during)} sent during the outage; slowest {max(s.took for s in sent):.2f}s; "
        f"first success {recovered_at - up_at:.2f}s after PostgreSQL accepted connections again"
    )


def _assert_answers(sent: list[Sent], down_at: float, up_at: float) -> None:
    statuses = {s.status for s in sent}
    assert statuses <= {201, 503}, [s for s in sent if s.status not in (201, 503)][:5]
    unavailable = [s for s in sent if s.status == 503]
    assert unavailable, "the outage did not reach any request"
    assert {s.error for s in unavailable} == {"database_unavailable"}
    assert all("database" in s.detail for s in unavailable)
    assert max(s.took for s in sent) < 10, "a request hung while PostgreSQL was away"
    assert all(s.status == 201 for s in sent if s.at + s.took < down_at), "requests failed before the outage"


def _retry_failed(burst: Burst) -> None:
    """The client retries every failed request with its key: each is then paid exactly once."""
    failed = [s for s in burst.sent if s.status != 201]
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        retried = list(pool.map(lambda sent: burst.pay(sent.key), failed))
    assert [status for status, _, _ in retried] == [201] * len(failed), retried


def _assert_nothing_half_written(http_client: Http, url: str, burst: Burst, customer: int) -> None:
    keys = {s.key for s in burst.sent}
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as connection:
        payments = connection.execute("SELECT count(*) FROM documents_document WHERE type = 'payment'").fetchone()[0]
        entries = connection.execute("SELECT count(*) FROM ledger_journalentry").fetchone()[0]
    assert payments == len(keys), f"{payments} payments for {len(keys)} distinct requests"
    assert entries == payments, "every payment posts exactly one journal entry"
    assert http_client.get(f"/customers/{customer}").body["balance"] == f"-{len(keys)}.00"
    assert "all invariants hold" in run_cli(url, "ledger", "verify")
