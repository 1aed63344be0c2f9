"""The OpenAPI document as a contract: what django-ninja generates, plus what a client needs to rely on.

For each operation: a short ``operationId`` (the view's name), the ``Idempotency-Key`` header
when its view is ``@idempotent``, and one response per error status it can answer with, listing
its error codes as an ``enum`` (each with its meaning in the description). The codes come from
three places, none kept by hand: the view's source and the functions it calls
(``core.refusals``), the checks its inputs' schemas state (``x-error-codes`` beside each value,
the structure of the body), and what every operation can meet (authentication, roles, the
database). The catalogue (``core.errors``) gives each code its status and meaning.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ninja.openapi.schema import OpenAPISchema
from ninja.operation import Operation

from receivables.core import refusals
from receivables.core.errors import CATALOGUE
from receivables.core.idempotency import HEADER, takes_key
from receivables.core.schemas import ERROR_CODES

# Every operation: the bearer token, the role's capability, the database.
EVERY_OPERATION = ("unauthenticated", "forbidden", "database_unavailable", "database_conflict")
WITH_A_BODY = ("invalid_json", "body_too_large", "invalid_body", "missing_field")
WITH_A_KEY = ("idempotency_key_reused", "request_in_progress", "too_long")

IDEMPOTENCY_PARAMETER = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "description": "Sent again with the same request, the first answer is replayed and nothing happens twice; "
    "the same key with another request is refused (409 idempotency_key_reused).",
    "schema": {"type": "string", "maxLength": 200, ERROR_CODES: ["too_long"]},
}

# Answered by the HTTP server itself (gunicorn), before the application: a request line too long.
SERVER_REFUSALS = {414: {"description": "URI Too Long: the request line is longer than the server reads"}}


def _link(**values: str) -> dict[str, str]:
    """Each value an expression on the answer: ``id`` is ``$response.body#/id``."""
    return {name: f"$response.body#/{path}" for name, path in values.items()}


def _to_path(**values: str) -> dict[str, Any]:
    return {"parameters": _link(**values)}


def _to_body(**values: str) -> dict[str, Any]:
    return {"requestBody": _link(**values)}


# Where one answer feeds the next operation: the OpenAPI links a client (and schemathesis's
# stateful phase) follow from a created resource to what can be done with it.
_CUSTOMER_READS = (
    "get_customer",
    "get_statement",
    "list_refundables",
    "get_account_summary",
    "get_customer_aged_receivables",
    "list_customer_transactions",
    "list_customer_subscriptions",
)
_REFUND_STEPS = ("get_refund", "update_refund", "process_refund", "approve_refund", "reject_refund", "cancel_refund")
# A payment or a credit note: read it, apply it, refund it.
_CREDIT_STEPS = {
    "get_document": _to_path(document_id="id"),
    "create_allocation": _to_body(source="id"),
    "create_refund": _to_body(source="id"),
}
LINKS: dict[str, dict[str, dict[str, Any]]] = {
    "create_customer": {
        **{read: _to_path(customer_id="id") for read in _CUSTOMER_READS},
        **{write: _to_body(customer="id") for write in ("create_invoice", "create_debit_memo", "record_payment")},
        "create_credit_note": _to_body(customer="id"),
    },
    "create_bank_account": {"record_payment": _to_body(bank_account="id")},
    "create_invoice": {
        "get_document": _to_path(document_id="id"),
        "create_allocation": _to_body(target="id"),
        "create_credit_note": _to_body(customer="customer", invoice="id"),
    },
    "create_credit_note": {
        **_CREDIT_STEPS,
        "release_document": _to_path(document_id="id"),
        "list_refundables": _to_path(customer_id="customer"),
    },
    "record_payment": _CREDIT_STEPS,
    "create_allocation": {"reverse_allocation": _to_path(allocation_id="id")},
    "create_refund": {step: _to_path(refund_id="id") for step in _REFUND_STEPS},
    "create_plan": {
        "get_plan": _to_path(plan_id="id"),
        "create_plan_version": _to_path(plan_id="id"),
        "create_subscription": _to_body(plan="id", period="periods/0/id"),
    },
    "create_subscription": {
        "get_subscription": _to_path(subscription_id="id"),
        "get_cancellation_quote": _to_path(subscription_id="id"),
        "cancel_subscription": _to_path(subscription_id="id"),
        "get_order": _to_path(order_id="order/id"),
    },
    "cancel_subscription": {"get_order": _to_path(order_id="order/id")},
}

TAGS = [
    {"name": "customers", "description": "Customers and the business's bank accounts"},
    {"name": "documents", "description": "Invoices, debit memos, payments, credit notes, allocations, statements"},
    {"name": "refunds", "description": "Refunds: create, choose the card charge, approve, process, cancel"},
    {"name": "subscriptions", "description": "Plans, subscriptions, orders, cancellations and their quotes"},
    {"name": "ledger", "description": "The trial balance and the ledger's invariants"},
    {"name": "audit and access", "description": "The audit trail and API tokens"},
    {"name": "banking", "description": "Bank statement import, matching and reconciliation, write-offs"},
]


class ContractSchema(OpenAPISchema):
    def operation_details(self, operation: Operation) -> dict[str, Any]:
        details: dict[str, Any] = super().operation_details(operation)
        if takes_key(operation.view_func):
            details["parameters"] = [*details.get("parameters", []), IDEMPOTENCY_PARAMETER]
        codes = self.codes_of(operation, details)
        by_status: dict[int, list[str]] = {}
        for code in sorted(codes):
            by_status.setdefault(CATALOGUE[code].status, []).append(code)
        for status, status_codes in sorted(by_status.items()):
            details["responses"][status] = error_response(status_codes)
        details["responses"].update(SERVER_REFUSALS)
        self.add_links(details)
        return details

    def add_links(self, details: dict[str, Any]) -> None:
        links = LINKS.get(details["operationId"])
        if links:
            success = min(status for status in details["responses"] if 200 <= status < 300)
            details["responses"][success]["links"] = {
                target: {"operationId": target, **link} for target, link in links.items()
            }

    def codes_of(self, operation: Operation, details: dict[str, Any]) -> set[str]:
        codes = set(EVERY_OPERATION) | set(refusals.codes_of(operation.view_func))
        for parameter in details.get("parameters", []):
            codes |= set(self.input_codes(parameter["schema"]))
        body = details.get("requestBody")
        if body:
            codes |= set(WITH_A_BODY)
            if "multipart/form-data" in body["content"]:
                codes.add("invalid_multipart")
            for media in body["content"].values():
                codes |= set(self.input_codes(media["schema"]))
        if takes_key(operation.view_func):
            codes |= set(WITH_A_KEY)
        unknown = codes - CATALOGUE.keys()
        if unknown:
            raise LookupError(f"{operation.view_func.__name__} can answer codes the catalogue lacks: {sorted(unknown)}")
        return codes

    def input_codes(self, schema: dict[str, Any], seen: frozenset[str] = frozenset()) -> Iterator[str]:
        """The codes a value of this schema can be refused with, from its keywords and ``x-error-codes``."""
        reference = schema.get("$ref", "")
        if reference:
            name = reference.rsplit("/", 1)[-1]
            if name not in seen:
                yield from self.input_codes(self.schemas[name], seen | {name})
            return
        for alternative in schema.get("anyOf", []) + schema.get("allOf", []):
            yield from self.input_codes(alternative, seen)
        if ERROR_CODES in schema:  # a value with its own check, which states its codes
            yield from schema[ERROR_CODES]
            return
        kind = schema.get("type")
        if kind == "object":
            yield "invalid_body"
            if schema.get("required"):
                yield "missing_field"
            if schema.get("additionalProperties") is False:
                yield "extra_field"
            for value in schema.get("properties", {}).values():
                yield from self.input_codes(value, seen)
        elif kind == "array":
            yield "not_a_list"
            yield from ("required",) if schema.get("minItems") else ()
            yield from ("too_long",) if "maxItems" in schema else ()
            yield from self.input_codes(schema.get("items", {}), seen)
        else:
            yield from _plain_codes(kind, schema)


def _plain_codes(kind: object, schema: dict[str, Any]) -> Iterator[str]:
    """Codes of a value checked by pydantic's own constraints (query limits, flags)."""
    if "enum" in schema:
        yield "invalid_choice"
    elif kind == "boolean":
        yield "not_a_boolean"
    elif kind == "integer":
        yield "not_a_number"
        yield from ("out_of_range",) if "minimum" in schema or "maximum" in schema else ()
    elif kind == "string":
        yield "not_a_string"
        yield from ("too_long",) if "maxLength" in schema else ()
        yield from ("required",) if schema.get("minLength") else ()
        yield from ("invalid_value",) if "pattern" in schema else ()


def error_response(codes: list[str]) -> dict[str, Any]:
    meanings = "\n".join(f"- `{code}`: {CATALOGUE[code].meaning}" for code in codes)
    return {
        "description": f"Refused; `error` is one of:\n{meanings}",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["error", "detail"],
                    "properties": {
                        "error": {"type": "string", "enum": codes},
                        "detail": {"type": "string"},
                        "field": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    },
                }
            }
        },
    }
