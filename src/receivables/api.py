"""The REST API v1: bearer authentication, routers of each area, and one error table."""

from __future__ import annotations

import logging
import re
from functools import cache
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, AuthorizationError, HttpError, ValidationError
from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation
from ninja.security import HttpBearer

from receivables.banking.api import router as banking_router
from receivables.core import context
from receivables.core.api import router as core_router
from receivables.core.errors import CATALOGUE, ReceivablesError, status_for
from receivables.core.middleware import RETRY_AFTER_SECONDS
from receivables.core.permissions import ADMIN, APPROVE, EDIT_REFUND, READ, WRITE, can
from receivables.core.roles import role_of
from receivables.core.tokens import user_for_token
from receivables.customers.api import router as customers_router
from receivables.documents.api import router as documents_router
from receivables.ledger.api import router as ledger_router
from receivables.openapi import TAGS, ContractSchema
from receivables.refunds.api import router as refunds_router
from receivables.subscriptions.api import router as subscriptions_router

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
    ("POST", "/documents/{document_id}/cancel"): WRITE,
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
    ("POST", "/users/{username}/unlock"): ADMIN,
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
        user = found.user
        request.user = user
        context.set_user(user, f"token:{found.prefix}", found.minted_by)
        needed = ROUTE_RULES.get((request.method or "", route_of(request)))
        if needed is None or not can(user, needed):
            raise AuthorizationError(403, f"the {role_of(user) or 'user'} role may not do this")
        return user


class ReceivablesApi(NinjaAPI):
    """django-ninja's API with the contract's OpenAPI document (``receivables.openapi``)."""

    def get_openapi_schema(
        self, *, path_prefix: str | None = None, path_params: dict[str, Any] | None = None
    ) -> OpenAPISchema:
        return _contract(self, self.get_root_path(path_params or {}) if path_prefix is None else path_prefix)

    def get_openapi_operation_id(self, operation: Operation) -> str:
        """The view's own name: create_invoice, process_refund."""
        return operation.view_func.__name__


@cache
def _contract(api: ReceivablesApi, path_prefix: str) -> OpenAPISchema:
    """Built once per process: reading which codes each view can raise takes a moment."""
    return ContractSchema(api, path_prefix)


api = ReceivablesApi(
    title="Receivables API",
    version="1",
    description="Accounts receivable, refunds and subscriptions. Amounts are decimal strings; every error is "
    '`{"error": code, "detail": message, "field": field}` with the codes each operation lists (docs/ERRORS.md).',
    auth=BearerToken(),
    urls_namespace="api",
    openapi_extra={"tags": TAGS},
)


def error_response(request: HttpRequest, status: int, code: str, detail: str, field: str | None = None) -> HttpResponse:
    return api.create_response(request, {"error": code, "detail": detail, "field": field}, status=status)


@api.exception_handler(ReceivablesError)
def on_refused(request: HttpRequest, error: ReceivablesError) -> HttpResponse:
    return error_response(request, status_for(error), error.code, str(error), error.field)


# Pydantic's own error types, translated to the project's stable codes (the schema types raise
# catalogue codes themselves).
VALIDATION_CODES = {
    "missing": "missing_field",
    "extra_forbidden": "extra_field",
    "string_type": "not_a_string",
    "string_too_short": "required",
    "string_too_long": "too_long",
    "string_pattern_mismatch": "invalid_value",
    "int_parsing": "not_a_number",
    "int_type": "not_a_number",
    "int_from_float": "not_a_number",
    "greater_than_equal": "out_of_range",
    "less_than_equal": "out_of_range",
    "bool_type": "not_a_boolean",
    "bool_parsing": "not_a_boolean",
    "literal_error": "invalid_choice",
    "enum": "invalid_choice",
    "json_invalid": "invalid_json",
    "model_attributes_type": "invalid_body",
    "model_type": "invalid_body",
    "dict_type": "invalid_body",
    "list_type": "not_a_list",
    "too_short": "required",
    "too_long": "too_long",
}


def _field_of(location: tuple | list) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "payload", "form", "file")]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text


@api.exception_handler(ValidationError)
def on_invalid(request: HttpRequest, error: ValidationError) -> HttpResponse:
    first: dict[str, Any] = dict(error.errors[0]) if error.errors else {}
    field = _field_of(first.get("loc", ()))
    kind = str(first.get("type", ""))
    code = kind if kind in CATALOGUE else VALIDATION_CODES.get(kind, "invalid_value")
    status = 400 if code == "invalid_json" else 422
    return error_response(request, status, code, f"{field or 'body'}: {first.get('msg', 'invalid')}", field or None)


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


@api.exception_handler(MultiPartParserError)
def on_unreadable_upload(request: HttpRequest, error: MultiPartParserError) -> HttpResponse:
    """A multipart body Django cannot split (no boundary, a broken part) is the client's fault."""
    return error_response(request, 400, "invalid_multipart", f"the multipart body cannot be read: {error}")


@api.exception_handler(RequestDataTooBig)
def on_too_large(request: HttpRequest, error: RequestDataTooBig) -> HttpResponse:
    """Django refuses to read a body over DATA_UPLOAD_MAX_MEMORY_SIZE; that is the client's fault."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return error_response(request, 413, "body_too_large", f"the request body is larger than {limit} bytes")


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, error: Exception) -> HttpResponse:
    """Log the trace for the operators; the client gets a code and never a stack trace."""
    if isinstance(error, OperationalError | InterfaceError):
        logger.warning("database unavailable: %s", error)
        response = error_response(request, 503, "database_unavailable", "the database is unavailable; try again")
        response["Retry-After"] = RETRY_AFTER_SECONDS
        return response
    if isinstance(error, DatabaseError):
        logger.exception("database error")
        return error_response(request, 409, "database_conflict", "the change conflicted with another; try again")
    logger.exception("unexpected error")
    return error_response(request, 500, "internal_error", "an unexpected error occurred")


# Every area's routes, under the one prefix; each area's router knows nothing of the others.
for area_router in (
    core_router,
    customers_router,
    documents_router,
    ledger_router,
    subscriptions_router,
    refunds_router,
    banking_router,
):
    api.add_router("", area_router)
