"""``Idempotency-Key`` for API writes: a repeat gets the first answer, never a second effect.

The key is claimed in its own committed row before the work starts. Most writes are one
database transaction; for them the work and its stored answer commit together, in a
transaction that holds the claim's row lock: a concurrent repeat finds the row locked (409
``request_in_progress``), and a repeat that finds the claim unanswered and unlocked knows the
first request died (a crash, a lost database) and left nothing behind, so it takes over.

Writes that call a payment gateway (``atomic=False``) commit in steps, and each step is
idempotent by the gateway's own key (derived from this one): running such a view again settles
the same gateway call instead of making another. So a repeat that finds the claim unanswered
simply runs the view: after a crash it looks the first call up and answers with its outcome,
at once. The first answer stored wins; an answer that is not final (a 5xx, a gateway outcome
still unknown, work still in progress elsewhere) is not stored, so the client retries.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.http import HttpRequest
from ninja import Status

from receivables.core.errors import Conflict, ReceivablesError, status_for
from receivables.core.models import IdempotencyRecord

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
# Answers that say "not yet": the work may still finish, so the key stays open for a retry.
NOT_FINAL = frozenset({"gateway_outcome_unknown", "request_in_progress", "refund_in_progress"})
# A claim released by another request between our insert and our read is claimed again, this often.
CLAIM_ATTEMPTS = 3


def _fingerprint(request: HttpRequest) -> str:
    try:
        body: Any = json.loads(request.body or b"{}")
    except ValueError:
        body = request.body.decode(errors="replace")
    canonical = json.dumps([request.method, request.path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _scope(request: HttpRequest) -> str:
    return f"{getattr(request.user, 'pk', None)}:{request.method}:{request.path}"[:200]


def _in_progress() -> Conflict:
    return Conflict("request_in_progress", "a request with this key is still being handled", HEADER)


def _claim(request: HttpRequest, key: str) -> IdempotencyRecord | Status:
    """Claim the key, or find the claim of an earlier request with it: its stored answer if it has
    one, else the unanswered claim (still running, or left by a request that died).
    """
    fingerprint, scope = _fingerprint(request), _scope(request)
    for _ in range(CLAIM_ATTEMPTS):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(key=key, scope=scope, request_hash=fingerprint)
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(key=key, scope=scope).first()
        if existing is None:
            continue  # the claim was released meanwhile (its answer was not final): claim it again
        if existing.request_hash != fingerprint:
            raise Conflict("idempotency_key_reused", "this key was sent before with a different request", HEADER)
        if existing.status_code is None:
            return existing
        return Status(existing.status_code, existing.response_body)
    raise _in_progress()


class Provisional(Status):
    """An answer that is not settled yet (a gateway call had no answer): sent, but never replayed,
    so a retry with the same key runs again and settles it."""


def _body_of(result: Any) -> tuple[int, Any, bool]:
    if isinstance(result, Status):
        return result.status_code, result.value, not isinstance(result, Provisional)
    return 200, result, True


def _refusal(refused: ReceivablesError) -> tuple[int, dict, bool]:
    body = {"error": refused.code, "detail": str(refused), "field": refused.field}
    return status_for(refused), body, refused.code not in NOT_FINAL


def _finish(claim: IdempotencyRecord, status: int, body: Any, final: bool) -> None:
    """Store the answer if it is final and no other run of the same request stored one first."""
    unanswered = IdempotencyRecord.objects.filter(pk=claim.pk, status_code__isnull=True)
    if not final or status >= 500:
        unanswered.delete()
        return
    unanswered.update(status_code=status, response_body=json.loads(json.dumps(body, default=str)))


def _run_in_steps(claim: IdempotencyRecord, view: Callable[[], Any]) -> Any:
    """For views that call a gateway: the work commits as it goes; the answer is stored after."""
    try:
        result = view()
    except ReceivablesError as refused:
        _finish(claim, *_refusal(refused))
        raise
    except BaseException:
        IdempotencyRecord.objects.filter(pk=claim.pk, status_code__isnull=True).delete()
        raise
    _finish(claim, *_body_of(result))
    return result


def _run_atomically(claim: IdempotencyRecord, view: Callable[[], Any]) -> Any:
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


def client_key(request: HttpRequest) -> str | None:
    """The request's Idempotency-Key, if it sent one."""
    return request.headers.get(HEADER, "").strip() or None


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
        key = client_key(request)
        if key is None:
            return view(request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            raise ReceivablesError("too_long", f"must be at most {MAX_KEY_LENGTH} characters", HEADER)
        claim = _claim(request, key)
        if isinstance(claim, Status):
            return claim
        one_transaction = atomic(**kwargs) if callable(atomic) else atomic
        run = _run_atomically if one_transaction else _run_in_steps
        return run(claim, lambda: view(request, *args, **kwargs))

    # django-ninja reads the parameters from the signature; resolve its annotations here,
    # where the view's module globals are known.
    wrapper.__signature__ = inspect.signature(view, eval_str=True)  # type: ignore[attr-defined]
    wrapper.idempotency_header = HEADER  # type: ignore[attr-defined]
    return wrapper


def takes_key(view: Callable[..., Any]) -> bool:
    """Whether a view reads ``Idempotency-Key`` (the OpenAPI document declares the header on it)."""
    return getattr(view, "idempotency_header", None) == HEADER
