"""The API under load: ``receivables serve`` on PostgreSQL, concurrent clients on loopback.

    .venv/bin/python benchmarks/bench_load.py --database-url postgres://postgres@127.0.0.1:5432/bench_x \
        --customers 2,3,4 --clients 32 --seconds 60

Usually run by ``benchmarks/run_all.py`` on the book it generated. Starts the real server
(gunicorn, as ``receivables serve`` runs it) with ``REFUND_APPROVAL_THRESHOLD="*=none"``, makes
a token with ``receivables create-api-token --user load --role admin``, then each client thread
(``http.client``, one keep-alive connection) loops until the time is up: a payment, a credit
note, and a refund of part of that payment (created, not processed), each customer used by one
client at a time. Counts requests per second, latency p50/p99 per kind, and answers by status
(every 5xx is an error); then stops the server and runs ``receivables ledger verify``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, child_env, percentile, progress  # noqa: E402

CLI = str(Path(sys.executable).parent / "receivables")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"the server did not listen on {port} within {seconds} s")


class Client(threading.Thread):
    def __init__(self, port: int, token: str, customers: list[int], measure_from: float, until: float) -> None:
        super().__init__(daemon=True)
        self.port, self.customers, self.until = port, customers, until
        self.measure_from = measure_from  # answers before this are the warm-up (workers importing, connecting)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.latencies: dict[str, list[float]] = {"payment": [], "credit note": [], "refund": []}
        self.statuses: Counter = Counter()
        self.failures: list[str] = []

    def post(self, connection: http.client.HTTPConnection, kind: str, path: str, body: dict) -> dict | None:
        started = time.perf_counter()
        try:
            connection.request("POST", path, json.dumps(body), self.headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.statuses["connection error"] += 1
            self.failures.append(f"{kind}: {error!r}")
            connection.close()
            return None
        if started >= self.measure_from:
            self.latencies[kind].append((time.perf_counter() - started) * 1000)
            self.statuses[response.status] += 1
        if response.status != 201:
            self.failures.append(f"{kind}: {response.status} {data[:200]!r}")
            return None
        return json.loads(data)

    def run(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        turn = 0
        while time.perf_counter() < self.until:
            customer = self.customers[turn % len(self.customers)]
            turn += 1
            payment = self.post(
                connection,
                "payment",
                "/api/v1/payments",
                {"customer": customer, "amount": "50.00", "method": "bank_transfer"},
            )
            self.post(
                connection,
                "credit note",
                "/api/v1/credit-notes",
                {"customer": customer, "amount": "12.00", "reason": "goodwill"},
            )
            if payment is not None:
                self.post(connection, "refund", "/api/v1/refunds", {"source": payment["id"], "amount": "10.00"})
        connection.close()


def run(database_url: str, customers: list[int], clients: int, seconds: float, warm_up: float = 5) -> dict:
    env = child_env(database_url, REFUND_APPROVAL_THRESHOLD="*=none", ALLOWED_HOSTS="127.0.0.1,localhost")
    made = subprocess.run(
        [CLI, "create-api-token", "--user", "load", "--role", "admin"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    token = made.stdout.strip().splitlines()[-1]
    port = free_port()
    server = subprocess.Popen(
        [CLI, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-migrate"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for(port)
        started = time.perf_counter() + warm_up
        until = started + seconds
        mine = [customers[i::clients] or customers for i in range(clients)]
        threads = [Client(port, token, mine[i], started, until) for i in range(clients)]
        load_before = os.getloadavg()[0]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # gunicorn's master and its workers: our own process group
        server.wait(timeout=30)
    statuses: Counter = Counter()
    latencies: dict[str, list[float]] = {}
    failures: list[str] = []
    for thread in threads:
        statuses.update(thread.statuses)
        failures.extend(thread.failures)
        for kind, samples in thread.latencies.items():
            latencies.setdefault(kind, []).extend(samples)
    every = [ms for samples in latencies.values() for ms in samples]
    verify = subprocess.run([CLI, "ledger", "verify"], env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    result = {
        "clients": clients,
        "seconds": elapsed,
        "warm_up": warm_up,
        "requests": len(every),
        "rps": len(every) / elapsed,
        "p50": statistics.median(every) if every else 0.0,
        "p99": percentile(every, 0.99) if every else 0.0,
        "by_kind": {
            kind: {"n": len(s), "p50": statistics.median(s), "p99": percentile(s, 0.99)}
            for kind, s in latencies.items()
            if s
        },
        "statuses": {str(k): v for k, v in statuses.items()},
        "errors_5xx": sum(v for k, v in statuses.items() if isinstance(k, int) and k >= 500),
        "other_failures": failures[:5],
        "load_at_start": load_before,
        "verify_exit": verify.returncode,
        "verify_report": verify.stdout.strip().splitlines()[-3:],
    }
    progress(f"load: {result['rps']:.0f} requests/s, p50 {result['p50']:.0f} ms, p99 {result['p99']:.0f} ms")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--customers", required=True, help="comma-separated customer ids")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    customers = [int(c) for c in args.customers.split(",")]
    print(json.dumps(run(args.database_url, customers, args.clients, args.seconds), indent=2))


if __name__ == "__main__":
    main()
