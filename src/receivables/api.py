"""The REST API v1: bearer authentication, routers of each area, and one error table."""

from __future__ import annotations

import logging
import re
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.security import HttpBearer

from receivables.core import context
from receivables.core.errors import ReceivablesError, status_for
from receivables.core.permissions import ADMIN, APPROVE, EDIT_REFUND, READ, WRITE, can
from receivables.core.roles import role_of
from receivables.core.tokens import user_for_token

logger = logging.getLogger(__name__)


# The capability each route needs. A route missing here is refused to everyone (and the
# authorisation test fails), so a new route cannot ship without a rule.
ROUTE_RULES: dict[tuple[str, str], str] = {
    ("GET", "/customers"): READ,
    ("POST", "/customers"): WRITE,
    ("GET", "/customers/{customer_id}"): READ,
    ("GET", "/bank-accounts"): READ,
    ("POST", "/bank-accounts"): ADMIN,
    ("POST", "/invoices"): WRITE,
    ("POST", "/debit-memos"): WRITE,
    ("POST", "/payments"): WRITE,
    ("POST", "/credit-notes"): WRITE,
    ("GET", "/documents/{document_id}"): READ,
    ("POST", "/documents/{document_id}/release"): WRITE,
    ("POST", "/allocations"): WRITE,
    ("POST", "/allocations/{allocation_id}/reverse"): WRITE,
    ("GET", "/customers/{customer_id}/refundables"): READ,
    ("GET", "/customers/{customer_id}/statement"): READ,
    ("GET", "/customers/{customer_id}/summary"): READ,
    ("GET", "/customers/{customer_id}/aged-receivables"): READ,
    ("GET", "/aged-receivables"): READ,
    ("GET", "/ledger/trial-balance"): READ,
    ("GET", "/ledger/verify"): READ,
    ("GET", "/plans"): READ,
    ("POST", "/plans"): ADMIN,
    ("GET", "/plans/{plan_id}"): READ,
    ("POST", "/plans/{plan_id}/versions"): ADMIN,
    ("POST", "/subscriptions"): WRITE,
    ("GET", "/subscriptions/{subscription_id}"): READ,
    ("GET", "/customers/{customer_id}/subscriptions"): READ,
    ("GET", "/subscriptions/{subscription_id}/cancellation-quote"): READ,
    ("POST", "/subscriptions/{subscription_id}/cancel"): WRITE,
    ("GET", "/orders/{order_id}"): READ,
    ("POST", "/refunds"): WRITE,
    ("GET", "/refunds"): READ,
    ("GET", "/refunds/{refund_id}"): READ,
    ("PATCH", "/refunds/{refund_id}"): EDIT_REFUND,
    ("POST", "/refunds/{refund_id}/process"): APPROVE,
    ("POST", "/refunds/{refund_id}/approve"): APPROVE,
    ("POST", "/refunds/{refund_id}/reject"): APPROVE,
    ("POST", "/refunds/{refund_id}/cancel"): APPROVE,
    ("GET", "/customers/{customer_id}/transactions"): READ,
    ("GET", "/audit"): READ,
    ("GET", "/audit.csv"): READ,
    ("GET", "/api-tokens"): ADMIN,
    ("POST", "/api-tokens"): ADMIN,
    ("POST", "/api-tokens/{prefix}/revoke"): ADMIN,
    ("POST", "/bank-statements"): WRITE,
    ("GET", "/bank-statements"): READ,
    ("GET", "/bank-statements/{statement_id}"): READ,
    ("GET", "/bank-statements/{statement_id}/lines"): READ,
    ("GET", "/bank-lines/{line_id}"): READ,
    ("POST", "/bank-lines/{line_id}/match"): WRITE,
    ("POST", "/bank-lines/{line_id}/ignore"): WRITE,
    ("POST", "/bank-lines/{line_id}/unmatch"): WRITE,
    ("POST", "/bank-accounts/{bank_account_id}/csv-mapping"): WRITE,
    ("GET", "/bank-accounts/{bank_account_id}/csv-mapping"): READ,
    ("POST", "/write-offs"): WRITE,
    ("GET", "/write-offs"): READ,
    ("POST", "/write-offs/{write_off_id}/approve"): APPROVE,
    ("POST", "/write-offs/{write_off_id}/reject"): APPROVE,
}

_ROUTE_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


def route_of(request: HttpRequest) -> str:
    """The API path pattern of a request, as django-ninja names it: /refunds/{refund_id}/process."""
    match = request.resolver_match
    route = match.route if match else ""
    return "/" + _ROUTE_PARAMETER.sub(r"{\1}", route.removeprefix("api/v1/"))


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        found = user_for_token(token)
        if found is None:
            return None
        user, prefix = found
        request.user = user
        context.set_user(user, f"token:{prefix}")
        needed = ROUTE_RULES.get((request.method or "", route_of(request)))
        if needed is None or not can(user, needed):
            raise AuthorizationError(403, f"the {role_of(user) or 'user'} role may not do this")
        return user


api = NinjaAPI(
    title="Receivables API",
    version="1",
    description="Accounts receivable, refunds and subscriptions. Amounts are decimal strings.",
    auth=BearerToken(),
    urls_namespace="api",
)


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
    first: dict[str, Any] = dict(error.errors[0]) if error.errors else {}
    field = _field_of(first.get("loc", ()))
    code = VALIDATION_CODES.get(str(first.get("type", "")), "invalid_value")
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


@api.exception_handler(RequestDataTooBig)
def on_too_large(request: HttpRequest, error: RequestDataTooBig) -> HttpResponse:
    """Django refuses to read a body over DATA_UPLOAD_MAX_MEMORY_SIZE; that is the client's fault."""
    from django.conf import settings

    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return error_response(request, 413, "body_too_large", f"the request body is larger than {limit} bytes")


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
    from receivables.banking.api import router as banking_router
    from receivables.core.api import router as core_router
    from receivables.customers.api import router as customers_router
    from receivables.documents.api import router as documents_router
    from receivables.ledger.api import router as ledger_router
    from receivables.refunds.api import router as refunds_router
    from receivables.subscriptions.api import router as subscriptions_router

    api.add_router("", core_router)
    api.add_router("", customers_router)
    api.add_router("", documents_router)
    api.add_router("", ledger_router)
    api.add_router("", subscriptions_router)
    api.add_router("", refunds_router)
    api.add_router("", banking_router)


_register_routers()
