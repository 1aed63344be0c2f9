"""Crash in the middle: the whole server is SIGKILLed while card refunds go through the gateway.

After a restart and ``receivables gateway reconcile`` every refund is refunded once, or back on a
state it can be retried from; the sandbox's own books show no refund paid twice; the ledger holds.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.faults.support import Http, Server, api_token, needs_postgres_server, run_cli, scratch_database

pytestmark = [needs_postgres_server, pytest.mark.slow]

CUSTOMERS = 8
SPLIT = ("4.00", "6.00")  # two refunds against each £10 card charge
RETRYABLE = {"hold", "failed"}


def _setup(http: Http) -> list[dict[str, Any]]:
    http.post("/bank-accounts", {"name": "Main GBP", "currency": "GBP", "is_default": True})
    refunds = []
    for n in range(CUSTOMERS):
        customer = http.post("/customers", {"name": f"Crash Customer {n}", "currency": "GBP"}).body["id"]
        payment = http.post(
            "/payments", {"customer": customer, "amount": "10.00", "method": "card", "card_token": "tok_visa"}
        )
        assert payment.status == 201, payment.body
        for amount in SPLIT:
            refund = http.post("/refunds", {"source": payment.body["id"], "amount": amount})
            assert refund.status == 201, refund.body
            refunds.append({"id": refund.body["id"], "customer": customer, "key": f"crash-{refund.body['id']}"})
    return refunds


def _process(http: Http, refund: dict[str, Any], keyed: bool) -> Any:
    headers = {"Idempotency-Key": refund["key"]} if keyed else None
    try:
        return http.post(f"/refunds/{refund['id']}/process", headers=headers).status
    except OSError as error:  # the server died under this request
        return type(error).__name__


def _fire_and_kill(server: Server, http: Http, url: str, refunds: list[dict[str, Any]]) -> Counter:
    """Process every refund from 8 threads (half with an Idempotency-Key); SIGKILL the server as soon
    as some refunds are paid while others are in flight (or after 20 s)."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(_process, http, refund, i % 2 == 0) for i, refund in enumerate(refunds)]
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            states = Counter(status for (status, _, _) in _refund_states(url).elements())
            if states["refunded"] >= 3 and states["processing"] >= 3:
                break
            time.sleep(0.05)
        server.kill()
        wait(futures, timeout=60)
    return Counter(str(f.result()) for f in futures)


def _rows(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url, connect_timeout=5) as connection:
        return connection.execute(query).fetchall()


def at_crash_paid(states: Counter) -> int:
    return sum(n for (status, _, _), n in states.items() if status == "refunded")


def _refund_states(url: str) -> Counter:
    """(document status, last e-transaction status, sandbox recorded it?) for every refund."""
    rows = _rows(
        url,
        """
        SELECT d.status, e.status, (s.id IS NOT NULL AND s.status <> 'lost')
        FROM documents_document d
        LEFT JOIN gateways_etransaction e ON e.id = (
            SELECT max(id) FROM gateways_etransaction WHERE document_id = d.id AND kind = 'refund')
        LEFT JOIN gateways_sandboxoperation s ON s.idempotency_key = e.idempotency_key
        WHERE d.type = 'refund'
        """,
    )
    return Counter(rows)


def test_sigkill_while_card_refunds_are_processed(tmp_path: Path) -> None:
    with scratch_database("fault_crash") as url:
        # Maker and checker: whoever created a refund may not pay it (four-eyes rule).
        maker, checker = api_token(url, "fault-maker"), api_token(url, "fault-checker")
        server = Server(
            url,
            tmp_path / "server.log",
            RECEIVABLES_GATEWAY="tests.faults.slow_gateway.SlowSandbox",
            FAULT_REFUND_DELAY_BEFORE_MS="300",
            FAULT_REFUND_DELAY_AFTER_MS="300",
        )
        try:
            server.start()
            refunds = _setup(server.client(maker))
            http = server.client(checker)
            answers = _fire_and_kill(server, http, url, refunds)
            at_crash = _refund_states(url)
            print(f"answers before the crash: {dict(answers)}; states at the crash: {dict(at_crash)}")
            in_flight = sum(n for (status, _, _), n in at_crash.items() if status == "processing")
            assert in_flight > 0, f"the crash landed outside any refund: {at_crash}"
            assert at_crash_paid(at_crash) > 0, f"no refund finished before the crash: {at_crash}"

            reconciled = run_cli(url, "gateway", "reconcile", "--pending-older-than", "0")
            print(reconciled.strip().splitlines()[-1])
            after_reconcile = Counter(status for (status, _, _) in _refund_states(url).elements())
            assert set(after_reconcile) <= {"refunded"} | RETRYABLE, after_reconcile

            http = server.start().client(checker)
            _retry_until_refunded(http, url, refunds)
        finally:
            server.kill()

        _assert_paid_once(url, refunds)
        assert "all invariants hold" in run_cli(url, "ledger", "verify")


def _retry_until_refunded(http: Http, url: str, refunds: list[dict[str, Any]]) -> None:
    """A client retries every refund not paid, and every request it sent with a key, with that key:
    nothing is stuck behind a claim the crash abandoned, nothing is paid twice."""
    statuses = dict(_rows(url, "SELECT id, status FROM documents_document WHERE type = 'refund'"))
    for i, refund in enumerate(refunds):
        keyed, status = i % 2 == 0, statuses[refund["id"]]
        if status == "refunded" and not keyed:
            continue
        headers = {"Idempotency-Key": refund["key"]} if keyed else None
        answer = http.post(f"/refunds/{refund['id']}/process", headers=headers)
        if status in RETRYABLE:
            assert (answer.status, answer.body["status"]) == (200, "refunded"), (refund, answer)
        else:
            # Already refunded (before the crash, or by reconcile): the replayed answer, or a refusal
            # saying so; never "still in progress" for a request that died with the server.
            assert status == "refunded", (refund, status)
            assert answer.status in (200, 409), (refund, answer)
            assert answer.body.get("error") in (None, "refund_not_processable"), (refund, answer)


def _assert_paid_once(url: str, refunds: list[dict[str, Any]]) -> None:
    statuses = dict(_rows(url, "SELECT id, status FROM documents_document WHERE type = 'refund'"))
    assert {statuses[r["id"]] for r in refunds} == {"refunded"}
    paid = Counter(
        int(key.split("-")[1])
        for (key,) in _rows(
            url, "SELECT idempotency_key FROM gateways_sandboxoperation WHERE kind = 'refund' AND status = 'succeeded'"
        )
    )
    assert paid == Counter({r["id"]: 1 for r in refunds}), "a refund was paid twice (or never) by the gateway"
    over = _rows(
        url,
        """
        SELECT c.reference, c.amount_minor, sum(r.amount_minor) FROM gateways_sandboxoperation c
        JOIN gateways_sandboxoperation r ON r.parent_reference = c.reference AND r.kind = 'refund'
            AND r.status = 'succeeded'
        WHERE c.kind = 'charge' GROUP BY c.reference, c.amount_minor HAVING sum(r.amount_minor) > c.amount_minor
        """,
    )
    assert over == []
    balances = _rows(url, "SELECT DISTINCT balance_minor FROM customers_customer")
    assert balances == [(0,)], "a £10 payment refunded £4 + £6 leaves every customer at £0"


def test_sigkill_while_a_card_is_charged_then_the_retry_with_its_key_pays_once(tmp_path: Path) -> None:
    """The server dies after the gateway took the money and before the payment was recorded.

    The client's retry with the same Idempotency-Key is answered at once with the one payment (no
    409 for minutes, no reason to retry without a key), and reconcile finds nothing left to do.
    """
    with scratch_database("fault_charge") as url:
        token = api_token(url, "fault-clerk")
        server = Server(
            url,
            tmp_path / "server.log",
            RECEIVABLES_GATEWAY="tests.faults.slow_gateway.SlowSandbox",
            FAULT_CHARGE_DELAY_AFTER_MS="3000",
        )
        try:
            http = server.start().client(token)
            customer = http.post("/customers", {"name": "Kate Kill", "currency": "GBP"}).body["id"]
            body = {"customer": customer, "amount": "25.00", "method": "card", "card_token": "tok_visa"}
            headers = {"Idempotency-Key": "pay-kate-1"}
            with ThreadPoolExecutor(max_workers=1) as pool:
                first = pool.submit(lambda: _post_or_error(http, body, headers))
                deadline = time.monotonic() + 20
                while not _rows(url, "SELECT 1 FROM gateways_sandboxoperation WHERE kind = 'charge'"):
                    assert time.monotonic() < deadline, "the charge never reached the gateway"
                    time.sleep(0.05)
                server.kill()  # the gateway has charged; our answer is lost with the server
                assert first.result(timeout=30) == "died"
            assert _rows(url, "SELECT count(*) FROM documents_document WHERE type = 'payment'") == [(0,)]

            http = server.start().client(token)
            retried = http.post("/payments", body, headers=headers)
            repeated = http.post("/payments", body, headers=headers)
        finally:
            server.kill()

        assert retried.status == 201, retried.body
        assert (repeated.status, repeated.body["id"]) == (201, retried.body["id"])
        reconciled = run_cli(url, "gateway", "reconcile", "--pending-older-than", "0")
        assert reconciled.strip().splitlines()[-1] == "reconciled: none; skipped: 0"
        assert _rows(url, "SELECT count(*) FROM documents_document WHERE type = 'payment'") == [(1,)]
        assert _rows(url, "SELECT count(*) FROM gateways_sandboxoperation WHERE kind = 'charge'") == [(1,)]
        assert "all invariants hold" in run_cli(url, "ledger", "verify")


def _post_or_error(http: Http, body: dict[str, Any], headers: dict[str, str]) -> Any:
    try:
        return http.post("/payments", body, headers=headers).status
    except OSError:
        return "died"
