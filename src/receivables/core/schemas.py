"""Pieces of the API's schemas that every area shares."""

from __future__ import annotations

from typing import Annotated

from ninja import Schema
from pydantic import ConfigDict, Field

# Amounts travel as decimal strings; a JSON number is refused by validation.
Amount = Annotated[str, Field(max_length=32, json_schema_extra={"format": "decimal", "example": "25.00"})]
DateText = Annotated[str, Field(max_length=10, json_schema_extra={"format": "date", "example": "2026-11-23"})]
Id = Annotated[int, Field(ge=1, le=2**62)]


class StrictIn(Schema):
    """Request bodies refuse fields they do not know."""

    model_config = ConfigDict(extra="forbid")


class ErrorOut(Schema):
    error: str
    detail: str
    field: str | None = None


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
