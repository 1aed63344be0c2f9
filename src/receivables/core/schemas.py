"""The API's value types: what the OpenAPI document states about each value is what the server enforces.

Each type pairs a JSON Schema (``pattern``, ``minLength``, ``enum``, integer ranges, ``format``)
with a validator that accepts exactly the values the schema admits and names the rule a value
breaks with a stable code from the catalogue (``core.errors``). So a request that satisfies the
schema is never refused for a reason the schema does not state, and one that breaks it is
always refused. Closed sets are enums derived from their one source (a model's TextChoices, a
services tuple, ``money.CURRENCY_EXPONENTS``) by ``ClosedSet``.
"""

from __future__ import annotations

import datetime
import enum
import re
from collections.abc import Callable, Iterable
from typing import Annotated, Any

from ninja import Schema
from pydantic import ConfigDict, Field, GetCoreSchemaHandler, Strict
from pydantic.json_schema import GetJsonSchemaHandler, JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from receivables.core.inputs import EARLIEST_DATE, LATEST_DATE
from receivables.money import CURRENCY_EXPONENTS

ID_MAX = 2**62
# The codes a value's check can refuse it with, stated beside its schema (and read by the OpenAPI
# document to declare each operation's error answers).
ERROR_CODES = "x-error-codes"
PRECISION_NOTE = "decimal places: the currency's ISO 4217 minor unit (x-minor-units of Currency)"


def _refuse(code: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(code, message)


class Checked:
    """``Annotated`` metadata: ``check`` runs before pydantic's own validation, ``schema`` is added to
    the JSON Schema. The two are written side by side so they state the same rule."""

    def __init__(self, check: Callable[[Any], Any], schema: dict[str, Any]) -> None:
        self.check, self.schema = check, schema

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.update(self.schema)
        return json_schema


def patterned(
    pattern: str, not_string: str, explain: Callable[[str], tuple[str, str]], schema: dict[str, Any]
) -> Checked:
    """Text that must match ``pattern`` whole (and be at most ``maxLength`` long, if the schema says);
    ``explain`` names the rule a value breaks."""
    compiled = re.compile(pattern, re.ASCII)  # \\d is 0-9, as in JSON Schema
    longest = schema.get("maxLength")

    def check(value: object) -> object:
        if not isinstance(value, str):
            raise _refuse(not_string, "must be a string")
        if longest is not None and len(value) > longest:
            raise _refuse("too_long", f"must be at most {longest} characters")
        if not compiled.fullmatch(value):
            raise _refuse(*explain(value))
        return value

    return Checked(check, {"pattern": pattern, **schema})


# --- amounts and decimals ---------------------------------------------------------------------

# At most 12 digits before the point (every currency stays below 10^15 minor units) and 3 after
# (the most any currency has); the currency's own precision is checked against the customer's.
_NONZERO_FRACTION_3 = r"(?:[1-9]\d{0,2}|0[1-9]\d?|00[1-9])"
POSITIVE_AMOUNT = rf"^(?:[1-9]\d{{0,11}}(?:\.\d{{1,3}})?|0\.{_NONZERO_FRACTION_3})$"
AMOUNT_OR_ZERO = r"^(?:0|[1-9]\d{0,11})(?:\.\d{1,3})?$"
SIGNED_AMOUNT = r"^-?\d{1,16}(?:\.\d{1,3})?$"
_LOOSE_NUMBER = re.compile(r"^-?\d+(?:\.(\d+))?$", re.ASCII)


def _explain_amount(text: str) -> tuple[str, str]:
    number = _LOOSE_NUMBER.fullmatch(text)
    if number is None:
        return "invalid_amount", f"{text[:40]!r} is not a decimal amount such as 25.00"
    if text.startswith("-") or not text.strip("-0."):
        return "amount_not_positive", "must be more than zero"
    if number.group(1) and len(number.group(1)) > 3:
        return "too_many_decimals", "amounts have at most 3 decimal places (the currency's minor unit)"
    return "invalid_amount", "at most 12 digits before the decimal point, no leading zeros"


def _explain_amount_or_zero(text: str) -> tuple[str, str]:
    code, message = _explain_amount(text)
    if code == "amount_not_positive":  # zero is fine here: it was negative
        return code, "must be zero or more"
    return code, message


AMOUNT_CODES = ["amount_not_string", "invalid_amount", "amount_not_positive", "too_many_decimals"]


def _amount(pattern: str, explain: Callable[[str], tuple[str, str]], example: str) -> Checked:
    schema = {"format": "decimal", "x-precision": PRECISION_NOTE, "example": example, ERROR_CODES: AMOUNT_CODES}
    return patterned(pattern, "amount_not_string", explain, schema)


Amount = Annotated[str, _amount(POSITIVE_AMOUNT, _explain_amount, "25.00")]
AmountOrZero = Annotated[str, _amount(AMOUNT_OR_ZERO, _explain_amount_or_zero, "0.00")]
# In answers: any sign, the currency's own number of places.
AmountOut = Annotated[
    str, Field(json_schema_extra={"pattern": SIGNED_AMOUNT, "format": "decimal", "x-precision": PRECISION_NOTE})
]


def _decimal(pattern: str, rule: str, example: str, not_string: str = "decimal_not_string") -> Checked:
    def explain(text: str) -> tuple[str, str]:
        number = _LOOSE_NUMBER.fullmatch(text)
        if number and len(number.group(1) or "") <= 4:
            return "decimal_out_of_range", rule
        return "invalid_decimal", f"{text[:40]!r} is not a decimal with at most 4 places ({rule})"

    codes = [not_string, "invalid_decimal", "decimal_out_of_range"]
    return patterned(
        pattern, not_string, explain, {"format": "decimal", "example": example, "description": rule, ERROR_CODES: codes}
    )


_NONZERO_FRACTION_4 = r"(?:[1-9]\d{0,3}|0[1-9]\d{0,2}|00[1-9]\d?|000[1-9])"
QUANTITY = rf"^(?:[1-9]\d{{0,8}}(?:\.\d{{1,4}})?|0\.{_NONZERO_FRACTION_4})$"
Quantity = Annotated[str, _decimal(QUANTITY, "more than 0, less than 10^9", "2")]
UnitPrice = Annotated[
    str, _decimal(r"^(?:0|[1-9]\d{0,9})(?:\.\d{1,4})?$", "from 0, less than 10^10", "10.00", "amount_not_string")
]
TaxRate = Annotated[
    str, _decimal(r"^(?:100(?:\.0{1,4})?|(?:0|[1-9]\d?)(?:\.\d{1,4})?)$", "a percentage from 0 to 100", "20")
]


# --- dates, text, ids -------------------------------------------------------------------------

DATE = r"^(?:19\d\d|2\d{3})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])$"


def _check_date(value: object) -> object:
    if not isinstance(value, str):
        raise _refuse("invalid_date", "must be a date (YYYY-MM-DD)")
    try:
        day = datetime.date.fromisoformat(value) if re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value) else None
    except ValueError:
        day = None
    if day is None:
        raise _refuse("invalid_date", f"{value[:40]!r} is not a date (YYYY-MM-DD)")
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise _refuse("date_out_of_range", f"must be between {EARLIEST_DATE} and {LATEST_DATE}")
    return value


DateIn = Annotated[
    str,
    Checked(
        _check_date,
        {
            "format": "date",
            "pattern": DATE,
            "example": "2026-11-23",
            ERROR_CODES: ["invalid_date", "date_out_of_range"],
        },
    ),
]
DateOut = Annotated[str, Field(json_schema_extra={"format": "date"})]
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]

# Text: no control characters but tab; required text has a character that str.strip() keeps
# (Python's whitespace, spelled out: JSON Schema's \\s differs). A lone surrogate (not Unicode, so
# no JSON Schema pattern can name it) is refused too: it cannot be stored.
_STORABLE = r"[^\x00-\x08\x0a-\x1f]"
_SPACE = r"\u0009\u000b\u000c\u000d\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
ANY_TEXT = rf"^{_STORABLE}*$"
SOME_TEXT = rf"^{_STORABLE}*[^{_SPACE}\x00-\x1f]{_STORABLE}*$"
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _explain_text(value: str) -> tuple[str, str]:
    if _CONTROL.search(value):
        return "control_characters", "must not contain control characters"
    return "required", "must not be empty"


def text(max_length: int, *, required: bool = True, example: str | None = None) -> Checked:
    """``Annotated[str, text(200)]``: at most ``max_length`` characters; required text is not blank."""
    codes = ["not_a_string", "control_characters", "not_unicode", "too_long", *(["required"] if required else [])]
    schema: dict[str, Any] = {"maxLength": max_length, ERROR_CODES: codes}
    if required:
        schema["minLength"] = 1
    if example:
        schema["example"] = example
    stated = patterned(SOME_TEXT if required else ANY_TEXT, "not_a_string", _explain_text, schema)

    def check(value: object) -> object:
        if isinstance(value, str) and _SURROGATE.search(value):
            raise _refuse("not_unicode", "must be valid Unicode text (a lone surrogate cannot be stored)")
        return stated.check(value)

    return Checked(check, stated.schema)


def _id_in_range(value: int) -> int:
    if not 1 <= value <= ID_MAX:
        raise _refuse("invalid_id", f"an id is a whole number from 1 to {ID_MAX}")
    return value


def _whole(value: object) -> int | None:
    """A JSON integer as JSON Schema means it: 776 and 776.0 alike, never true or "776"."""
    if type(value) is float and value.is_integer():
        return int(value)
    return value if type(value) is int else None


def _body_id(value: object) -> int:
    number = _whole(value)
    if number is None:
        raise _refuse("invalid_id", "an id is a JSON integer")
    return _id_in_range(number)


def _path_id(value: object) -> int:
    if type(value) is int:
        return _id_in_range(value)
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,19}", value):
        return _id_in_range(int(value))
    raise _refuse("invalid_id", f"{str(value)[:40]!r} is not an id")


_ID_SCHEMA = {"minimum": 1, "maximum": ID_MAX, ERROR_CODES: ["invalid_id"]}
# In a body an id is a JSON integer; in a path or a query, its digits.
Id = Annotated[int, Checked(_body_id, _ID_SCHEMA)]
PathId = Annotated[int, Checked(_path_id, _ID_SCHEMA)]
Flag = Annotated[bool, Strict()]


def count(low: int, high: int, code: str = "out_of_range") -> Checked:
    """``Annotated[int, count(0, 365)]``: a whole number in a body from ``low`` to ``high``; else ``code``."""

    def check(value: object) -> int:
        number = _whole(value)
        if number is None:
            raise _refuse(code, "must be a whole number")
        if not low <= number <= high:
            raise _refuse(code, f"must be from {low} to {high}")
        return number

    return Checked(check, {"minimum": low, "maximum": high, ERROR_CODES: [code]})


# --- closed sets ------------------------------------------------------------------------------


class ClosedSet:
    """Annotate ``str`` with this: the value is one of ``values``, published as the enum ``name``;
    anything else is refused with ``code``."""

    def __init__(self, name: str, values: Iterable[str], code: str = "invalid_choice", **extra: Any) -> None:
        self.values = tuple(values)
        self.enum = enum.StrEnum(name, {value.upper(): value for value in self.values})  # type: ignore[misc]
        self.code = code
        self.extra = {ERROR_CODES: [code], **extra}

    def check(self, value: object) -> object:
        if value not in self.values:
            raise _refuse(self.code, f"must be one of: {', '.join(self.values)}")
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self.check, handler.generate_schema(self.enum))

    def __get_pydantic_json_schema__(self, schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        json_schema = handler(schema)
        handler.resolve_ref_schema(json_schema).update(self.extra)
        return json_schema


Currency = Annotated[
    str,
    ClosedSet(
        "Currency",
        CURRENCY_EXPONENTS,
        "unknown_currency",
        description="ISO 4217 code",
        **{"x-minor-units": dict(CURRENCY_EXPONENTS)},
    ),
]


# --- bodies and errors ------------------------------------------------------------------------


class StrictIn(Schema):
    """Request bodies refuse fields they do not know."""

    model_config = ConfigDict(extra="forbid")


class ErrorOut(Schema):
    error: str
    detail: str
    field: str | None = None


# Every operation's "any other status": an idempotent repeat replays a stored refusal through the
# view. The OpenAPI document lists each status and its codes itself (receivables.openapi).
REFUSED: dict[Any, type[Schema]] = {...: ErrorOut}
