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
