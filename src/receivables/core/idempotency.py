"""``Idempotency-Key`` for API writes: a repeat gets the first answer, never a second effect.

The key is claimed in its own committed row before the work starts, so a concurrent repeat
sees the claim (409 ``request_in_progress``) instead of doing the work again. An answer
that is not final (5xx, or a gateway outcome still unknown) releases the claim so the
client can retry with the same key.

Most writes are one database transaction; for them the work and its stored answer commit
together, in a transaction that holds the claim's row lock. A repeat that finds the claim
unanswered and unlocked knows the first request died (a crash, a lost database) and left
nothing behind, so it takes the claim over at once. Writes that call a payment gateway
(``atomic=False``) must commit in steps and are idempotent by their own gateway keys; an
unanswered claim of theirs is taken over once it is older than any request can run
(``RECEIVABLES_IDEMPOTENCY_STALE_SECONDS``).
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
from django.db import IntegrityError, OperationalError, transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja import Status

from receivables.core.errors import Conflict, ReceivablesError, status_for
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


def _claim(request: HttpRequest, key: str) -> tuple[IdempotencyRecord, bool] | Status:
    """Claim the key (the record, and True: it is new), or return the stored answer of the first
    request that claimed it. An unanswered claim is returned with False: the caller decides
    whether it may take it over.
    """
    fingerprint = _fingerprint(request)
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(key=key, scope=_scope(request), request_hash=fingerprint), True
    except IntegrityError:
        existing = IdempotencyRecord.objects.get(key=key, scope=_scope(request))
    if existing.request_hash != fingerprint:
        raise Conflict("idempotency_key_reused", "this key was sent before with a different request", "Idempotency-Key")
    if existing.status_code is None:
        return existing, False
    return Status(existing.status_code, existing.response_body)


def _in_progress() -> Conflict:
    return Conflict("request_in_progress", "a request with this key is still being handled", "Idempotency-Key")


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


def _refusal(refused: ReceivablesError) -> tuple[int, dict]:
    return status_for(refused), {"error": refused.code, "detail": str(refused), "field": refused.field}


def _run_in_steps(claim: IdempotencyRecord, fresh: bool, view: Callable[[], Any]) -> Any:
    """For views that call a gateway: the work commits as it goes; the answer is stored after."""
    if not fresh and not _take_over_abandoned(claim):
        raise _in_progress()
    try:
        result = view()
    except ReceivablesError as refused:
        _finish(claim, *_refusal(refused))
        raise
    except BaseException:
        claim.delete()
        raise
    _finish(claim, *_body_of(result))
    return result


def _run_atomically(claim: IdempotencyRecord, fresh: bool, view: Callable[[], Any]) -> Any:
    """The work and its answer in one transaction, holding the claim's row lock throughout."""
    refused: ReceivablesError | None = None
    with transaction.atomic():
        try:
            locked = IdempotencyRecord.objects.select_for_update(nowait=True).get(pk=claim.pk)
        except (OperationalError, IdempotencyRecord.DoesNotExist):
            refused = _in_progress()  # another request holds it (or just finished and released it)
        else:
            if locked.status_code is not None:
                return Status(locked.status_code, locked.response_body)
            try:
                with transaction.atomic():
                    result = view()
            except ReceivablesError as error:
                refused = error
                _finish(locked, *_refusal(error))
            else:
                _finish(locked, *_body_of(result))
    if refused is not None:
        raise refused
    return result


def idempotent(
    view: Callable[..., Any] | None = None, *, atomic: bool | Callable[..., bool] = True
) -> Callable[..., Any]:
    """Wrap a django-ninja view; its parameters are left as they are for ninja to read.

    ``atomic`` (or a function of the view's keyword arguments) says whether the view is one
    database transaction; a view that calls a payment gateway is not.
    """
    if view is None:
        return lambda inner: idempotent(inner, atomic=atomic)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER, "").strip()
        if not key:
            return view(request, *args, **kwargs)
        if len(key) > 200:
            raise ReceivablesError("too_long", "must be at most 200 characters", HEADER)
        claimed = _claim(request, key)
        if isinstance(claimed, Status):
            return claimed
        one_transaction = atomic(**kwargs) if callable(atomic) else atomic
        run = _run_atomically if one_transaction else _run_in_steps
        return run(*claimed, lambda: view(request, *args, **kwargs))

    # django-ninja reads the parameters from the signature; resolve its annotations here,
    # where the view's module globals are known.
    wrapper.__signature__ = inspect.signature(view, eval_str=True)  # type: ignore[attr-defined]
    wrapper.idempotency_header = HEADER  # type: ignore[attr-defined]
    return wrapper


def takes_key(view: Callable[..., Any]) -> bool:
    """Whether a view reads ``Idempotency-Key`` (the OpenAPI document declares the header on it)."""
    return getattr(view, "idempotency_header", None) == HEADER


def _finish(claim: IdempotencyRecord, status: int, body: Any) -> None:
    if status >= 500 or (isinstance(body, dict) and body.get("error") == "gateway_outcome_unknown"):
        claim.delete()
        return
    claim.status_code = status
    claim.response_body = json.loads(json.dumps(body, default=str))
    claim.save(update_fields=["status_code", "response_body"])
