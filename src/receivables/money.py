"""Exact money: integer minor units with an ISO 4217 currency.

Standard library only. Every amount in the project passes through here: parsing from
user input, rounding once (half-up) at the document, and splitting by largest remainder
so that parts always add up to the whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 minor-unit exponents for the currencies the product accepts.
CURRENCY_EXPONENTS: dict[str, int] = {
    "GBP": 2,
    "EUR": 2,
    "USD": 2,
    "CHF": 2,
    "CAD": 2,
    "AUD": 2,
    "NZD": 2,
    "SEK": 2,
    "NOK": 2,
    "DKK": 2,
    "PLN": 2,
    "CZK": 2,
    "ZAR": 2,
    "INR": 2,
    "SGD": 2,
    "HKD": 2,
    "JPY": 0,
    "KRW": 0,
    "ISK": 0,
    "BHD": 3,
    "KWD": 3,
    "JOD": 3,
}

# No document, balance or amount typed in may reach 10^15 minor units (a quadrillion pence):
# far beyond any real business, and far below where a 64-bit column or SQLite's arithmetic
# would overflow (SQLite turns an overflowing integer into a float).
LARGEST_MINOR = 10**15 - 1

_AMOUNT_TEXT = re.compile(r"^-?\d{1,15}(\.\d+)?$", re.ASCII)


class MoneyError(ValueError):
    """A money value that cannot exist: unknown currency, bad text, mixed currencies."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency]
    except (KeyError, TypeError):
        raise MoneyError("unknown_currency", f"{currency!r} is not a supported currency") from None


def check_currency(currency: str) -> str:
    exponent(currency)
    return currency


def decimal_formatter(currency: str) -> Callable[[int], str]:
    """Minor units as the currency's decimal string ("-5.00", "1000" for JPY), by integer arithmetic.

    A function per currency, so a long list is formatted without looking the currency up each time.
    """
    places = exponent(currency)
    if places == 0:
        return str
    scale = 10**places

    def text(minor: int) -> str:
        whole, fraction = divmod(abs(minor), scale)
        return f"{'-' if minor < 0 else ''}{whole}.{fraction:0{places}d}"

    return text


def decimal_text(minor: int, currency: str) -> str:
    return decimal_formatter(currency)(minor)


def round_half_up(value: Decimal, currency: str) -> int:
    """Round a major-unit Decimal to an integer count of minor units, half away from zero."""
    scaled = value.scaleb(exponent(currency))
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise MoneyError("invalid_amount", "minor units must be an integer")
        exponent(self.currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, text: object, currency: str) -> Money:
        """Parse a decimal string such as "25.00"; refuse floats and excess decimals."""
        places = exponent(currency)
        if isinstance(text, bool) or not isinstance(text, str | Decimal):
            raise MoneyError("amount_not_string", 'amount must be a decimal string such as "25.00"')
        raw = str(text).strip()
        if not _AMOUNT_TEXT.match(raw):
            raise MoneyError("invalid_amount", f"{raw!r} is not a decimal amount")
        decimals = len(raw.partition(".")[2])
        if decimals > places:
            raise MoneyError(
                "too_many_decimals",
                f"{currency} amounts have at most {places} decimal places",
            )
        try:
            value = Decimal(raw)
        except InvalidOperation:  # pragma: no cover - the pattern above admits only numbers
            raise MoneyError("invalid_amount", f"{raw!r} is not a decimal amount") from None
        return cls(int(value.scaleb(places)), currency)

    @classmethod
    def from_decimal(cls, value: Decimal, currency: str) -> Money:
        """Round a computed Decimal (e.g. a proration) once, half-up, to the minor unit."""
        if not isinstance(value, Decimal):
            raise MoneyError("invalid_amount", "computed amounts must be Decimal")
        return cls(round_half_up(value, currency), currency)

    @property
    def amount(self) -> Decimal:
        return Decimal(self.minor).scaleb(-exponent(self.currency))

    def to_decimal_string(self) -> str:
        return decimal_text(self.minor, self.currency)

    def __str__(self) -> str:
        return f"{self.to_decimal_string()} {self.currency}"

    def _same(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise MoneyError("currency_mismatch", f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: object) -> Money:
        return Money(self.minor + self._same(other).minor, self.currency)

    def __sub__(self, other: object) -> Money:
        return Money(self.minor - self._same(other).minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __mul__(self, factor: object) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int | Decimal):
            raise TypeError("Money can be multiplied only by an int or a Decimal")
        return Money.from_decimal(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        return self.minor < self._same(other).minor

    def __le__(self, other: Money) -> bool:
        return self.minor <= self._same(other).minor

    def __gt__(self, other: Money) -> bool:
        return self.minor > self._same(other).minor

    def __ge__(self, other: Money) -> bool:
        return self.minor >= self._same(other).minor

    def is_positive(self) -> bool:
        return self.minor > 0


def allocate(total: Money, weights: Sequence[int | Decimal]) -> list[Money]:
    """Split ``total`` in proportion to ``weights`` by largest remainder.

    The parts always add up exactly to the total; ties go to the earlier weight.
    """
    if not weights:
        raise ValueError("allocate needs at least one weight")
    if any(Decimal(w) < 0 for w in weights):
        raise ValueError("weights must not be negative")
    weight_sum = sum(Decimal(w) for w in weights)
    if weight_sum == 0:
        raise ValueError("weights must not all be zero")
    sign = -1 if total.minor < 0 else 1
    magnitude = abs(total.minor)
    exact = [Decimal(magnitude) * Decimal(w) / weight_sum for w in weights]
    floors = [int(share) for share in exact]
    leftover = magnitude - sum(floors)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for index in by_remainder[:leftover]:
        floors[index] += 1
    return [Money(sign * part, total.currency) for part in floors]


def sum_money(amounts: Sequence[Money], currency: str) -> Money:
    total = Money.zero(currency)
    for amount in amounts:
        total = total + amount
    return total
