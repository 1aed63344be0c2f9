"""Refunds under concurrent writers on PostgreSQL: money is spent once, the gateway called once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from receivables.documents.models import Document
from receivables.gateways.models import SandboxOperation
from receivables.gateways.sandbox import SandboxGateway
from receivables.money import Money
from tests.conftest import ApiClient, ledger_is_clean, needs_postgres

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]


def run_together(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Start ``count`` threads at one barrier; each uses (and closes) its own connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as error:  # noqa: BLE001 - the test asserts on what each thread got
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_twenty_simultaneous_one_pound_refunds_of_a_five_pound_credit(api: ApiClient, bank: dict) -> None:
    customer = api.post("/customers", {"name": "Alice Brown", "currency": "GBP"}).body["id"]
    credit = api.post("/credit-notes", {"customer": customer, "amount": "5.00", "reason": "overcharge"}).body
    token = api.headers["HTTP_AUTHORIZATION"].split()[1]

    answers = run_together(20, lambda _: ApiClient(token).post("/refunds", {"source": credit["id"], "amount": "1.00"}))

    statuses = sorted(a.status for a in answers)
    assert statuses == [201] * 5 + [409] * 15, answers
    assert {a.body["error"] for a in answers if a.status == 409} <= {
        "refund_exceeds_outstanding",
        "nothing_outstanding",
    }
    assert api.get(f"/documents/{credit['id']}").body["outstanding"] == "0.00"
    assert Document.objects.filter(type="refund").count() == 5
    assert ledger_is_clean() == {}


class SlowCountingSandbox(SandboxGateway):
    """The sandbox, slowed so that concurrent callers overlap, counting refund calls."""

    refund_calls = 0
    lock = threading.Lock()

    def refund(self, *, amount: Money, charge_reference: str, idempotency_key: str) -> Any:
        with SlowCountingSandbox.lock:
            SlowCountingSandbox.refund_calls += 1
        time.sleep(0.3)
        return super().refund(amount=amount, charge_reference=charge_reference, idempotency_key=idempotency_key)


def test_two_workers_processing_one_refund_call_the_gateway_once(api: ApiClient, bank: dict, settings: Any) -> None:
    settings.RECEIVABLES_GATEWAY = f"{__name__}.SlowCountingSandbox"
    SlowCountingSandbox.refund_calls = 0
    customer = api.post("/customers", {"name": "Ben Clarke", "currency": "GBP"}).body["id"]
    payment = api.post(
        "/payments", {"customer": customer, "amount": "12.00", "method": "card", "card_token": "tok_visa"}
    ).body
    refund = api.post("/refunds", {"source": payment["id"]}).body
    token = api.headers["HTTP_AUTHORIZATION"].split()[1]

    answers = run_together(2, lambda _: ApiClient(token).post(f"/refunds/{refund['id']}/process"))

    assert sorted(a.status for a in answers) == [200, 409], answers
    assert [a.body["error"] for a in answers if a.status == 409] == ["refund_in_progress"]
    assert SlowCountingSandbox.refund_calls == 1
    assert SandboxOperation.objects.filter(kind="refund").count() == 1
    assert api.get(f"/refunds/{refund['id']}").body["status"] == "refunded"
    assert ledger_is_clean() == {}
