"""``Idempotency-Key`` for API writes: a repeat gets the first answer, never a second effect.

The key is claimed in its own committed row before the work starts, so a concurrent repeat
sees the claim (409 ``request_in_progress``) instead of doing the work again. An answer
that is not final (5xx, or a gateway outcome still unknown) releases the claim so the
client can retry with the same key. A claim whose request died with its process (a crash,
a killed worker) is never finished: once it is older than any request can run
(``RECEIVABLES_IDEMPOTENCY_STALE_SECONDS``) a retry takes it over.
"""

from __future__ import annotations

import datetime
import hashlib
import inspect
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja import Status

from receivables.core.errors import Conflict, ReceivablesError
from receivables.core.models import IdempotencyRecord

HEADER = "Idempotency-Key"


def _fingerprint(request: HttpRequest) -> str:
    try:
        body: Any = json.loads(request.body or b"{}")
    except ValueError:
        body = request.body.decode(errors="replace")
    canonical = json.dumps([request.method, request.path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _scope(request: HttpRequest) -> str:
    return f"{getattr(request.user, 'pk', None)}:{request.method}:{request.path}"[:200]


def _claim(request: HttpRequest, key: str) -> IdempotencyRecord | Status:
    """Claim the key, or return the stored answer of the first request that claimed it."""
    fingerprint = _fingerprint(request)
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(key=key, scope=_scope(request), request_hash=fingerprint)
    except IntegrityError:
        existing = IdempotencyRecord.objects.get(key=key, scope=_scope(request))
    if existing.request_hash != fingerprint:
        raise Conflict("idempotency_key_reused", "this key was sent before with a different request", "Idempotency-Key")
    if existing.status_code is None:
        if _take_over_abandoned(existing):
            return existing
        raise Conflict("request_in_progress", "a request with this key is still being handled", "Idempotency-Key")
    return Status(existing.status_code, existing.response_body)


def _take_over_abandoned(claim: IdempotencyRecord) -> bool:
    """Renew a claim left by a request that can no longer be running; only one retry wins it."""
    stale_after = datetime.timedelta(seconds=settings.RECEIVABLES_IDEMPOTENCY_STALE_SECONDS)
    now = timezone.now()
    if now - claim.created_at < stale_after:
        return False
    won = IdempotencyRecord.objects.filter(pk=claim.pk, status_code__isnull=True, created_at=claim.created_at).update(
        created_at=now
    )
    claim.created_at = now
    return won == 1


def _body_of(result: Any) -> tuple[int, Any]:
    if isinstance(result, Status):
        return result.status_code, result.value
    return 200, result


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a django-ninja view; its parameters are left as they are for ninja to read."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return view(request, *args, **kwargs)
        if len(key) > 200:
            raise ReceivablesError("too_long", "must be at most 200 characters", HEADER)
        claim = _claim(request, key)
        if isinstance(claim, Status):
            return claim
        try:
            result = view(request, *args, **kwargs)
        except ReceivablesError as refused:
            from receivables.api import status_for

            _finish(claim, status_for(refused), {"error": refused.code, "detail": str(refused), "field": refused.field})
            raise
        except BaseException:
            claim.delete()
            raise
        status, body = _body_of(result)
        _finish(claim, status, body)
        return result

    # django-ninja reads the parameters from the signature; resolve its annotations here,
    # where the view's module globals are known.
    wrapper.__signature__ = inspect.signature(view, eval_str=True)  # type: ignore[attr-defined]
    return wrapper


def _finish(claim: IdempotencyRecord, status: int, body: Any) -> None:
    if status >= 500 or (isinstance(body, dict) and body.get("error") == "gateway_outcome_unknown"):
        claim.delete()
        return
    claim.status_code = status
    claim.response_body = json.loads(json.dumps(body, default=str))
    claim.save(update_fields=["status_code", "response_body"])
