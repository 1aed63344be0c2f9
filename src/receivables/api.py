"""The REST API v1: bearer authentication, routers of each area, and one error table."""

from __future__ import annotations

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from receivables.core.errors import ReceivablesError
from receivables.core.tokens import user_for_token

logger = logging.getLogger(__name__)


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="Receivables API",
    version="1",
    description="Accounts receivable, refunds and subscriptions. Amounts are decimal strings.",
    auth=BearerToken(),
    urls_namespace="api",
)

# Codes whose status is not 422. Everything not named here and not ending in _not_found
# is bad input (422). Conflicts with the current state are 409.
STATUS_OF_CODE: dict[str, int] = {
    "invalid_json": 400,
    "idempotency_key_reused": 409,
    "request_in_progress": 409,
}


def status_for(error: ReceivablesError) -> int:
    from receivables.core.errors import Conflict

    if error.code in STATUS_OF_CODE:
        return STATUS_OF_CODE[error.code]
    if error.code.endswith("_not_found"):
        return 404
    if isinstance(error, Conflict):
        return 409
    return 422


def error_response(request: HttpRequest, status: int, code: str, detail: str, field: str | None = None) -> HttpResponse:
    return api.create_response(request, {"error": code, "detail": detail, "field": field}, status=status)


@api.exception_handler(ReceivablesError)
def on_refused(request: HttpRequest, error: ReceivablesError) -> HttpResponse:
    return error_response(request, status_for(error), error.code, str(error), error.field)


# Pydantic's error types, translated to the project's stable codes.
VALIDATION_CODES = {
    "missing": "missing_field",
    "extra_forbidden": "extra_field",
    "string_type": "not_a_string",
    "string_too_long": "too_long",
    "int_parsing": "invalid_id",
    "int_type": "invalid_id",
    "bool_type": "not_a_boolean",
    "bool_parsing": "not_a_boolean",
    "literal_error": "invalid_choice",
    "enum": "invalid_choice",
    "json_invalid": "invalid_json",
    "model_attributes_type": "invalid_body",
    "dict_type": "invalid_body",
    "list_type": "not_a_list",
}


def _field_of(location: tuple | list) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "payload")]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text


@api.exception_handler(ValidationError)
def on_invalid(request: HttpRequest, error: ValidationError) -> HttpResponse:
    first = error.errors[0] if error.errors else {"type": "invalid", "loc": (), "msg": "invalid request"}
    field = _field_of(first.get("loc", ()))
    code = VALIDATION_CODES.get(first.get("type", ""), "invalid_value")
    if code == "not_a_string" and field.split(".")[-1] in AMOUNT_FIELDS:
        code = "amount_not_string"
    status = 400 if code == "invalid_json" else 422
    return error_response(request, status, code, f"{field or 'body'}: {first.get('msg', 'invalid')}", field or None)


AMOUNT_FIELDS = {
    "amount",
    "unit_price",
    "setup_fee",
    "recurring_fee",
    "non_refundable_amount",
    "credit_limit",
}


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return error_response(request, 401, "unauthenticated", "a valid bearer token is required")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    code = {400: "bad_request", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}.get(
        error.status_code, "http_error"
    )
    if error.status_code == 400:
        code = "invalid_json"
    return error_response(request, error.status_code, code, str(error))


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return error_response(request, 404, "not_found", "no such resource")


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, error: Exception) -> HttpResponse:
    """Log the trace for the operators; the client gets a code and never a stack trace."""
    from django.db import DatabaseError, InterfaceError, OperationalError

    if isinstance(error, OperationalError | InterfaceError):
        logger.warning("database unavailable: %s", error)
        return error_response(request, 503, "database_unavailable", "the database is unavailable; try again")
    if isinstance(error, DatabaseError):
        logger.exception("database error")
        return error_response(request, 409, "database_conflict", "the change conflicted with another; try again")
    logger.exception("unexpected error")
    return error_response(request, 500, "internal_error", "an unexpected error occurred")


def _register_routers() -> None:
    from receivables.customers.api import router as customers_router
    from receivables.documents.api import router as documents_router
    from receivables.ledger.api import router as ledger_router
    from receivables.refunds.api import router as refunds_router

    api.add_router("", customers_router)
    api.add_router("", documents_router)
    api.add_router("", ledger_router)
    api.add_router("", refunds_router)


_register_routers()
