"""The one error type services raise, and the catalogue of every error code with its HTTP status.

No HTTP here beyond the status numbers: the API answers a refusal with ``status_for(error)`` and
``{"error": code, "detail": message, "field": field}``; the screens show the same message in the form.
The catalogue is the API's published list of codes (docs/ERRORS.md is generated from it), and
the OpenAPI document declares, per operation, the codes it can answer with.
"""

from __future__ import annotations

from dataclasses import dataclass


class ReceivablesError(Exception):
    """A refused operation. ``code`` is stable; ``field`` names the input at fault."""

    def __init__(self, code: str, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.field = field

    def __str__(self) -> str:
        return f"{self.field}: {self.detail}" if self.field else self.detail


class NotFound(ReceivablesError):
    def __init__(self, what: str, ident: object, field: str | None = None) -> None:
        super().__init__(f"{what}_not_found", f"no {what.replace('_', ' ')} with id {ident!r}", field)


class Conflict(ReceivablesError):
    """The request is well-formed but the current state forbids it."""


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    meaning: str
    # Raised as an f-string (``f"source_{status}"``): the template with ``{}`` for the value.
    template: str | None = None
    # A 422 for a rule no schema can state: it joins the request to what is stored (the customer's
    # currency, the documents' customers) or its fields to each other.
    beyond_schema: bool = False


def _codes(status: int, meanings: dict[str, str], *, beyond_schema: bool = False) -> list[ErrorCode]:
    return [ErrorCode(code, status, meaning, beyond_schema=beyond_schema) for code, meaning in meanings.items()]


_NOT_FOUND = {
    name: f"no {name.replace('_', ' ')} has this id"
    for name in (
        "allocation",
        "api_token",
        "bank_account",
        "customer",
        "document",
        "invoice",
        "order",
        "period",
        "plan",
        "refund",
        "subscription",
        "transaction",
        "user",
        "bank_line",
        "bank_statement",
        "write_off",
    )
}
_SOURCE_STATES = ("closed", "hold", "cancelled")

CATALOGUE: dict[str, ErrorCode] = {
    entry.code: entry
    for entry in [
        *_codes(
            400,
            {
                "invalid_json": "the body is not JSON",
                "invalid_multipart": "the multipart body cannot be read (its boundary is missing or broken)",
            },
        ),
        *_codes(401, {"unauthenticated": "no valid bearer token (missing, unknown, revoked or expired)"}),
        *_codes(
            403,
            {
                "forbidden": "the token's role may not do this",
                "approval_required": "at or above the approval threshold: another approver must process the refund",
                "self_approval": "a refund is approved or rejected by someone other than its creator",
                "token_for_another_person": "a person's API token is minted by that person only (or for a service)",
            },
        ),
        *_codes(404, {"not_found": "no API route at this path"}),
        *_codes(404, {f"{name}_not_found": meaning for name, meaning in _NOT_FOUND.items()}),
        *_codes(
            405, {"method_not_allowed": "the route does not take this method (the Allow header lists those it does)"}
        ),
        *_codes(
            409,
            {
                "already_reversed": "the allocation is already reversed",
                "database_conflict": "the change collided with a concurrent one; nothing was saved, try again",
                "exceeds_refundable": "more than the card charge has left to refund",
                "exceeds_source_outstanding": "more than the credit's outstanding",
                "exceeds_target_outstanding": "more than the invoice's outstanding",
                "gateway_outcome_unknown": "the gateway did not answer: retry with the same Idempotency-Key",
                "idempotency_key_reused": "this Idempotency-Key was sent before with a different request",
                "is_reversal": "a reversal cannot itself be reversed",
                "not_on_hold": "only a credit document on hold can be released or cancelled",
                "nothing_outstanding": "the source has nothing outstanding to refund",
                "plan_superseded": "the plan has a newer version; use the current one",
                "refund_allocation": "a refund's reservation is returned by cancelling the refund",
                "refund_exceeds_outstanding": "more than the source's outstanding",
                "refund_in_progress": "the refund is already being processed",
                "refund_not_cancellable": "only a refund on hold or failed can be cancelled",
                "refund_not_on_hold": "only a refund on hold can be changed",
                "refund_not_pending": "only a refund waiting for approval can be approved or rejected",
                "refund_not_processable": "the refund is not in a state that can be processed",
                "request_in_progress": "a request with this Idempotency-Key is still being handled",
                "source_on_hold": "the source is on hold: release it first",
                "subscription_cancelled": "the subscription is already cancelled",
                "touched_gateway": "the document has gateway transactions and cannot be cancelled",
                "transaction_required": "the refund needs its card charge (PATCH /refunds/{id}) before it is processed",
                "transaction_final": "the gateway's answer to this call is final and is never overwritten",
                "order_not_waiting": "the order no longer waits for its payment",
                "document_not_open": "the document is not open",
                "refund_not_processing": "the refund is not waiting for the gateway's answer",
                "refund_rejected": "the refund was rejected; it cannot be approved",
                "line_already_matched": "the bank line is already matched (unmatch it first)",
                "line_is_debit": "money out of the account is listed, never matched",
                "line_not_decided": "the bank line is neither matched nor ignored",
                "payment_refunded": "the line's payment was refunded: cancel the refund before unmatching",
                "write_off_not_held": "only a write-off waiting for approval can be approved or rejected",
            },
        ),
        *[
            ErrorCode(f"source_{state}", 409, f"the source document is {state}", template="source_{}")
            for state in _SOURCE_STATES
        ],
        *_codes(
            413,
            {
                "body_too_large": "the request body is larger than the server accepts",
                "file_too_large": "the uploaded file is larger than BANK_STATEMENT_MAX_BYTES",
            },
        ),
        # The request's own values: the schema states these rules.
        *_codes(
            422,
            {
                "missing_field": "a required field is missing",
                "extra_field": "a field the operation does not know",
                "invalid_body": "the body is not the JSON object the operation expects",
                "not_a_string": "the value must be a string",
                "not_a_boolean": "the value must be true or false",
                "not_a_list": "the value must be a list",
                "not_a_number": "the value must be a whole number",
                "invalid_id": "not an id (a whole number from 1)",
                "out_of_range": "the number is outside its range",
                "invalid_value": "the value does not have the form its schema states",
                "required": "must not be empty",
                "too_long": "longer than its maximum",
                "control_characters": "text must not contain control characters",
                "not_unicode": "text must be valid Unicode (a lone surrogate cannot be stored)",
                "invalid_choice": "not one of the values its schema lists",
                "amount_not_string": 'amounts are decimal strings such as "25.00", never JSON numbers',
                "invalid_amount": "not a decimal amount",
                "decimal_not_string": 'decimals are strings such as "1.5"',
                "invalid_decimal": "not a decimal with at most 4 places",
                "decimal_out_of_range": "the decimal is outside its range",
                "invalid_date": "not a date (YYYY-MM-DD)",
                "date_out_of_range": "dates are between 1900-01-01 and 2999-12-31",
                "invalid_email": "not an e-mail address",
                "unknown_currency": "not a supported ISO 4217 currency",
                "invalid_duration": "not an ISO 8601 duration of months or days (P1M, P1Y, P30D)",
                "invalid_days": "not a whole number of days in range",
            },
        ),
        *_codes(
            422,
            {
                "too_many_decimals": "more decimal places than the currency has",
                "amount_not_positive": "the amount, or the document's total, must be more than zero",
                "invalid_period": "the subscription period is not a valid range of dates",
                "invalid_period_index": "the period number is out of range",
                "invalid_range": "the start of the range is after its end",
                "allocation_to_itself": "a document cannot be applied to itself",
                "amount_or_lines": "give either an amount or lines, not both",
                "amount_too_large": "the total would pass 10^15 minor units",
                "cancellation_after_period": "the cancellation date is after the current period",
                "cancellation_before_period": "the cancellation date is before the current period",
                "card_declined": "the card was declined",
                "card_token_needs_card": 'a card token needs method "card"',
                "currency_mismatch": "the currencies of the documents, accounts or customer differ",
                "duplicate_period": "two periods of a plan have the same duration",
                "no_default_bank_account": "no default bank account in the currency: name one",
                "not_a_credit": "the source must be a payment or a credit note",
                "not_a_debit": "the target must be an invoice or a debit memo",
                "not_a_successful_charge": "the transaction is not a successful card charge of this customer",
                "not_refundable": "the document cannot be refunded",
                "other_customer": "the documents belong to different customers",
                "period_not_in_plan": "the period belongs to another plan",
                "source_not_refundable": "only a credit note or a payment can be refunded",
                "too_many_lines": "more lines than a document may have",
                "too_many_periods": "more periods than a plan may have",
                "naive_datetime": "a time without a time zone",
                "balance_too_large": "the customer's balance would pass 10^15 minor units",
                "balance_gap": "the statement's closing balance does not follow from its opening balance and lines",
                "balance_mismatch": "the statement's balances do not agree with each other",
                "batch_does_not_add_up": "a batch booking's entries do not add up to its total",
                "malformed_file": "the bank file cannot be read (malformed or truncated)",
                "unknown_format": "the bank file is in none of the formats read (camt053, mt940, ofx, csv)",
                "wrong_format": "the bank file is not in the format named",
                "xml_dtd_forbidden": "an XML file with a DTD or entities is refused (entity bombs, external entities)",
                "csv_mapping_required": "a CSV file needs the bank account's column mapping first",
                "invalid_mapping": "the CSV column mapping names no such column or lacks a required one",
                "customer_required": "the bank line pays no invoice: name the customer it is on account for",
                "duplicate_target": "an invoice is named twice in one match",
                "exceeds_line": "the allocations add up to more than the bank line",
                "write_off_target": "a write-off applies to one invoice or debit memo",
                "write_off_above_tolerance": "the short amount is more than WRITE_OFF_TOLERANCE allows",
                "start_too_early": "a subscription starts at most one period before today",
            },
            beyond_schema=True,
        ),
        *_codes(500, {"internal_error": "an unexpected error; it is logged, never shown"}),
        *_codes(
            503, {"database_unavailable": "the database is unavailable; nothing was saved, retry after Retry-After"}
        ),
    ]
}
TEMPLATES: dict[str, list[str]] = {}
for _entry in CATALOGUE.values():
    if _entry.template:
        TEMPLATES.setdefault(_entry.template, []).append(_entry.code)


def status_for(error: ReceivablesError) -> int:
    """The HTTP status an API answers a refusal with."""
    if error.code in CATALOGUE:
        return CATALOGUE[error.code].status
    if error.code.endswith("_not_found"):
        return 404
    if isinstance(error, Conflict):
        return 409
    return 422


def catalogue_markdown() -> str:
    """docs/ERRORS.md: ``python -m receivables.core.errors > docs/ERRORS.md`` writes it again."""
    lines = [
        "# Error codes",
        "",
        'Every refusal of the API is `{"error": code, "detail": message, "field": field}` with one of these',
        "codes (stable: clients may branch on them). Each operation of `/api/v1/openapi.json` lists, per status,",
        "the codes it can answer with. Generated from `receivables.core.errors.CATALOGUE`; a test keeps it current.",
        "",
        "| code | status | meaning |",
        "|---|---|---|",
    ]
    for entry in sorted(CATALOGUE.values(), key=lambda e: (e.status, e.code)):
        lines.append(f"| `{entry.code}` | {entry.status} | {entry.meaning} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(catalogue_markdown(), end="")
