"""The one error type services raise. No HTTP here: the API maps ``code`` to a status."""

from __future__ import annotations


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


# Codes whose status is not 422. Everything not named here and not ending in _not_found
# is bad input (422). Conflicts with the current state are 409.
STATUS_OF_CODE: dict[str, int] = {
    "invalid_json": 400,
    "idempotency_key_reused": 409,
    "request_in_progress": 409,
    "approval_required": 403,
    "self_approval": 403,
    "file_too_large": 413,
}


def status_for(error: ReceivablesError) -> int:
    """The HTTP status an API answers a refusal with (the screens show the same message in the form)."""
    if error.code in STATUS_OF_CODE:
        return STATUS_OF_CODE[error.code]
    if error.code.endswith("_not_found"):
        return 404
    if isinstance(error, Conflict):
        return 409
    return 422
