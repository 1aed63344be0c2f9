"""An Idempotency-Key claimed by a request that died is not stuck for ever.

The crash test (test_crash.py) and the outage test (test_db_outage.py) found it: a request killed
mid-way, or cut off from the database, leaves its claim unanswered, and every retry with the same
key got 409 ``request_in_progress`` for ever. Now a one-transaction write takes such a claim over
at once (its work rolled back with it), and a write that calls the gateway runs again at once,
settling the same gateway call by its key.
"""

from __future__ import annotations

import datetime
import json
import threading
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import RequestFactory

from receivables.core.idempotency import _fingerprint
from receivables.core.models import IdempotencyRecord
from receivables.documents.models import Document
from receivables.gateways import services as gateway_services
from receivables.gateways.models import SandboxOperation
from receivables.gateways.reconcile import reconcile
from receivables.money import Money
from tests.conftest import ApiClient, ledger_is_clean, needs_postgres


def _abandon_claim(user: Any, key: str, body: dict) -> IdempotencyRecord:
    """The row a request leaves when it dies after claiming the key."""
    request = RequestFactory().post("/api/v1/payments", json.dumps(body), content_type="application/json")
    return IdempotencyRecord.objects.create(
        key=key, scope=f"{user.pk}:POST:/api/v1/payments", request_hash=_fingerprint(request)
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


def test_a_gateway_write_whose_request_died_is_settled_by_the_next_retry_at_once(
    api: ApiClient, admin_user: Any, customer: int
) -> None:
    """A card payment killed mid-charge left its claim unanswered; the retry with the key settles it.

    The gateway call is keyed by the client's key, so running the view again finds the charge and
    answers with the one payment: no 409 for minutes, no reason to retry without a key.
    """
    body = {"customer": customer, "amount": "12.00", "method": "card", "card_token": "tok_visa"}
    _abandon_claim(admin_user, "k-card", body)
    # The dead request had recorded its charge and the gateway had taken the money.
    key = gateway_services.derived_key(f"payment-{admin_user.pk}", "k-card")
    etx = gateway_services.open_transaction(
        customer_id=customer, kind="charge", amount=Money(1200, "GBP"), payment_method="tok_visa", idempotency_key=key
    )
    gateway_services.send_charge(etx)
    headers = {"Idempotency-Key": "k-card"}

    retried = api.post("/payments", body, headers)
    repeated = api.post("/payments", body, headers)

    assert retried.status == 201, retried.body
    assert (repeated.status, repeated.body["id"]) == (201, retried.body["id"])
    assert SandboxOperation.objects.filter(kind="charge").count() == 1
    assert Document.objects.filter(type="payment").count() == 1
    assert [r for r in reconcile(pending_older_than=datetime.timedelta(0)) if r.resolved] == []
    assert Document.objects.filter(type="payment").count() == 1
    assert ledger_is_clean() == {}


def test_an_abandoned_claim_is_not_taken_over_by_a_different_request(
    api: ApiClient, admin_user: Any, customer: int
) -> None:
    body = {"customer": customer, "amount": "12.00", "method": "bank_transfer"}
    _abandon_claim(admin_user, "k-crash", body)

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
