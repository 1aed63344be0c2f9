"""An Idempotency-Key claimed by a request that died is not stuck for ever.

The crash test (test_crash.py) and the outage test (test_db_outage.py) found it: a request killed
mid-way, or cut off from the database, leaves its claim unanswered, and every retry with the same
key got 409 ``request_in_progress`` for ever. Now a one-transaction write takes such a claim over
at once (its work rolled back with it), and a write that calls the gateway once it is stale.
"""

from __future__ import annotations

import datetime
import json
import threading
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import RequestFactory
from django.utils import timezone

from receivables.core.idempotency import _fingerprint
from receivables.core.models import IdempotencyRecord
from receivables.documents.models import Document
from receivables.gateways.models import SandboxOperation
from tests.conftest import ApiClient, ledger_is_clean, needs_postgres


def _abandon_claim(user: Any, key: str, body: dict) -> IdempotencyRecord:
    """The row a request leaves when it dies after claiming the key."""
    request = RequestFactory().post("/api/v1/payments", json.dumps(body), content_type="application/json")
    return IdempotencyRecord.objects.create(
        key=key, scope=f"{user.pk}:POST:/api/v1/payments", request_hash=_fingerprint(request)
    )


def _age(claim: IdempotencyRecord, seconds: int) -> None:
    IdempotencyRecord.objects.filter(pk=claim.pk).update(
        created_at=timezone.now() - datetime.timedelta(seconds=seconds)
    )


@pytest.fixture
def customer(api: ApiClient, bank: dict) -> int:
    return api.post("/customers", {"name": "Dora Evans", "currency": "GBP"}).body["id"]


def test_a_one_transaction_write_takes_an_abandoned_claim_over_at_once(
    api: ApiClient, admin_user: Any, customer: int
) -> None:
    body = {"customer": customer, "amount": "12.00", "method": "bank_transfer"}
    _abandon_claim(admin_user, "k-crash", body)

    retried = api.post("/payments", body, {"Idempotency-Key": "k-crash"})
    repeated = api.post("/payments", body, {"Idempotency-Key": "k-crash"})

    assert retried.status == 201, retried.body
    assert (repeated.status, repeated.body["id"]) == (201, retried.body["id"])
    assert Document.objects.filter(type="payment").count() == 1
    assert ledger_is_clean() == {}


def test_a_gateway_write_takes_an_abandoned_claim_over_once_it_is_stale(
    api: ApiClient, admin_user: Any, customer: int, settings: Any
) -> None:
    settings.RECEIVABLES_IDEMPOTENCY_STALE_SECONDS = 300
    body = {"customer": customer, "amount": "12.00", "method": "card", "card_token": "tok_visa"}
    claim = _abandon_claim(admin_user, "k-card", body)
    headers = {"Idempotency-Key": "k-card"}

    fresh = api.post("/payments", body, headers)
    _age(claim, 301)
    retried = api.post("/payments", body, headers)
    repeated = api.post("/payments", body, headers)

    assert (fresh.status, fresh.body["error"]) == (409, "request_in_progress")
    assert retried.status == 201, retried.body
    assert (repeated.status, repeated.body["id"]) == (201, retried.body["id"])
    assert SandboxOperation.objects.filter(kind="charge").count() == 1
    assert Document.objects.filter(type="payment").count() == 1


def test_an_abandoned_claim_is_not_taken_over_by_a_different_request(
    api: ApiClient, admin_user: Any, customer: int
) -> None:
    body = {"customer": customer, "amount": "12.00", "method": "bank_transfer"}
    _age(_abandon_claim(admin_user, "k-crash", body), 301)

    other = api.post("/payments", {**body, "amount": "13.00"}, {"Idempotency-Key": "k-crash"})

    assert (other.status, other.body["error"]) == (409, "idempotency_key_reused")
    assert Document.objects.filter(type="payment").count() == 0


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_a_claim_whose_request_is_still_running_is_not_taken_over(api: ApiClient, admin_user: Any, bank: dict) -> None:
    customer = api.post("/customers", {"name": "Dora Evans", "currency": "GBP"}).body["id"]
    body = {"customer": customer, "amount": "12.00", "method": "bank_transfer"}
    claim = _abandon_claim(admin_user, "k-live", body)
    holding, release = threading.Event(), threading.Event()

    def live_request() -> None:  # holds the claim's row lock, as a request doing the work does
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.select_for_update().get(pk=claim.pk)
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=live_request)
    thread.start()
    try:
        assert holding.wait(30)
        answer = api.post("/payments", body, {"Idempotency-Key": "k-live"})
    finally:
        release.set()
        thread.join(30)

    assert (answer.status, answer.body["error"]) == (409, "request_in_progress")
    assert Document.objects.filter(type="payment").count() == 0
