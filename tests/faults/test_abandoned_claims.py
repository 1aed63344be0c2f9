"""An Idempotency-Key claimed by a request that died with its server is not stuck forever.

The crash test (test_crash.py) found it: a request killed mid-way leaves its claim unanswered,
and every retry with the same key got 409 ``request_in_progress``, for ever.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from django.test import RequestFactory
from django.utils import timezone

from receivables.core.idempotency import _fingerprint
from receivables.core.models import IdempotencyRecord
from receivables.documents.models import Document
from tests.conftest import ApiClient


def _abandon_claim(user: Any, key: str, body: dict) -> IdempotencyRecord:
    """The row a request leaves when its process is SIGKILLed after claiming the key."""
    request = RequestFactory().post("/api/v1/payments", json.dumps(body), content_type="application/json")
    return IdempotencyRecord.objects.create(
        key=key, scope=f"{user.pk}:POST:/api/v1/payments", request_hash=_fingerprint(request)
    )


def test_a_retry_takes_over_a_claim_older_than_any_request(api: ApiClient, admin_user: Any, bank: dict) -> None:
    customer = api.post("/customers", {"name": "Dora Evans", "currency": "GBP"}).body["id"]
    body = {"customer": customer, "amount": "12.00", "method": "bank_transfer"}
    claim = _abandon_claim(admin_user, "k-crash", body)
    headers = {"Idempotency-Key": "k-crash"}

    fresh = api.post("/payments", body, headers)
    assert (fresh.status, fresh.body["error"]) == (409, "request_in_progress")

    IdempotencyRecord.objects.filter(pk=claim.pk).update(created_at=timezone.now() - datetime.timedelta(seconds=301))
    retried = api.post("/payments", body, headers)
    repeated = api.post("/payments", body, headers)

    assert retried.status == 201, retried.body
    assert (repeated.status, repeated.body["id"]) == (201, retried.body["id"])
    assert Document.objects.filter(type="payment").count() == 1


def test_a_stale_claim_is_not_taken_over_for_a_different_request(api: ApiClient, admin_user: Any, bank: dict) -> None:
    customer = api.post("/customers", {"name": "Dora Evans", "currency": "GBP"}).body["id"]
    body = {"customer": customer, "amount": "12.00", "method": "bank_transfer"}
    claim = _abandon_claim(admin_user, "k-crash", body)
    IdempotencyRecord.objects.filter(pk=claim.pk).update(created_at=timezone.now() - datetime.timedelta(seconds=301))

    other = api.post("/payments", {**body, "amount": "13.00"}, {"Idempotency-Key": "k-crash"})

    assert (other.status, other.body["error"]) == (409, "idempotency_key_reused")
    assert Document.objects.filter(type="payment").count() == 0
