"""Turning text from forms and JSON into typed values, with errors that name the field.

The API and the staff screens share these, so a bad value is refused the same way in both.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from receivables.core.errors import ReceivablesError
from receivables.money import LARGEST_MINOR, Money, MoneyError, check_currency

_DECIMAL_TEXT = re.compile(r"^-?\d{1,12}(\.\d{1,4})?$", re.ASCII)


def money(text: object, currency: str, field: str, *, allow_zero: bool = False) -> Money:
    try:
        amount = Money.parse(text, currency)
    except MoneyError as error:
        raise ReceivablesError(error.code, str(error), field) from None
    if amount.minor < 0 or (amount.minor == 0 and not allow_zero):
        rule = "zero or more" if allow_zero else "more than zero"
        raise ReceivablesError("amount_not_positive", f"must be {rule}", field)
    if amount.minor > LARGEST_MINOR:
        largest = Money(LARGEST_MINOR, currency).to_decimal_string()
        raise ReceivablesError("amount_too_large", f"must be at most {largest}", field)
    return amount


def decimal(text: object, field: str, *, minimum: Decimal | None = None, maximum: Decimal | None = None) -> Decimal:
    """A decimal string with at most 4 places (quantities, unit prices, rates)."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise ReceivablesError("decimal_not_string", 'must be a decimal string such as "1.5"', field)
    raw = text.strip()
    if not _DECIMAL_TEXT.match(raw):
        raise ReceivablesError("invalid_decimal", f"{raw[:40]!r} is not a decimal with at most 4 places", field)
    try:
        value = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        raise ReceivablesError("invalid_decimal", "not a decimal", field) from None
    if minimum is not None and value < minimum:
        raise ReceivablesError("decimal_out_of_range", f"must be at least {minimum}", field)
    if maximum is not None and value > maximum:
        raise ReceivablesError("decimal_out_of_range", f"must be at most {maximum}", field)
    return value


def tax_rate(text: object, field: str) -> Decimal:
    """A percentage such as "20" or "17.5"."""
    return decimal(text, field, minimum=Decimal(0), maximum=Decimal(100))


def currency(text: object, field: str = "currency") -> str:
    try:
        return check_currency(str(text))
    except MoneyError as error:
        raise ReceivablesError(error.code, str(error), field) from None


# Business dates outside these are typing mistakes; beyond them date arithmetic (a period's
# end, an ageing bucket) would overflow Python's calendar.
EARLIEST_DATE = datetime.date(1900, 1, 1)
LATEST_DATE = datetime.date(2999, 12, 31)


def date(value: object, field: str = "date") -> datetime.date:
    """A date given as ISO text (or a date); none means today in the business's time zone."""
    if value is None or value == "":
        return timezone.localdate()
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        day = value
    else:
        try:
            day = datetime.date.fromisoformat(str(value))
        except ValueError:
            raise ReceivablesError("invalid_date", f"{str(value)[:40]!r} is not a date (YYYY-MM-DD)", field) from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise ReceivablesError(
            "date_out_of_range", f"must be between {EARLIEST_DATE.isoformat()} and {LATEST_DATE.isoformat()}", field
        )
    return day


def text(value: object, field: str, *, max_length: int, required: bool = True) -> str:
    cleaned = "" if value is None else str(value).strip()
    if required and not cleaned:
        raise ReceivablesError("required", "must not be empty", field)
    if len(cleaned) > max_length:
        raise ReceivablesError("too_long", f"must be at most {max_length} characters", field)
    if any(ord(ch) < 32 and ch not in "\t" for ch in cleaned):
        raise ReceivablesError("control_characters", "must not contain control characters", field)
    return cleaned


def choice(value: object, field: str, allowed: list[str] | tuple[str, ...]) -> str:
    if value not in allowed:
        raise ReceivablesError("invalid_choice", f"must be one of: {', '.join(allowed)}", field)
    return str(value)


def identifier(value: object, field: str) -> int:
    """An id as clients echo it back: an integer, or its decimal text."""
    if isinstance(value, bool):
        raise ReceivablesError("invalid_id", "is not an id", field)
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ReceivablesError("invalid_id", f"{str(value)[:40]!r} is not an id", field) from None
    if not 0 < number < 2**63:
        raise ReceivablesError("invalid_id", "is not an id", field)
    return number
