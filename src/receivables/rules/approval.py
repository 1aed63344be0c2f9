"""Maker–checker: which amounts need a second person before money leaves.

Thresholds are written ``"GBP=250.00,EUR=200.00,*=100"``: a named currency's amount is in
that currency; the ``*`` amount applies to every other currency, in each one's major units
(``*=250`` is £250, ¥250 and BHD 250.000). ``none`` means never; a currency with no entry and
no ``*`` needs a second person for every amount.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache

from receivables.money import Money, MoneyError, exponent

EVERY_OTHER_CURRENCY = "*"
NEVER = "none"
_MAJOR_AMOUNT = re.compile(r"^\d{1,15}(\.\d{1,3})?$", re.ASCII)


class ThresholdError(ValueError):
    """A threshold setting that cannot be read; the message says which part and why."""


@dataclass(frozen=True)
class Thresholds:
    # Minor units per named currency; None: never needs a second person.
    named: dict[str, int | None] = field(default_factory=dict)
    # Major units for every other currency; None: never.
    others: Decimal | None = Decimal(0)

    def minor_for(self, currency: str) -> int | None:
        if currency in self.named:
            return self.named[currency]
        if self.others is None:
            return None
        # "At or above 0.005" in pounds means at or above 1p: round the threshold up.
        return math.ceil(self.others.scaleb(exponent(currency)))


def _named(currency: str, amount: str) -> int:
    try:
        money = Money.parse(amount, currency)
    except MoneyError as error:
        raise ThresholdError(f"{currency}={amount}: {error}") from None
    if money.minor < 0:
        raise ThresholdError(f"{currency}={amount}: must be zero or more")
    return money.minor


def _others(amount: str) -> Decimal:
    if not _MAJOR_AMOUNT.match(amount):
        raise ThresholdError(f"*={amount}: must be an amount in major units such as 250.00, or none")
    return Decimal(amount)


@cache
def parse_thresholds(text: str) -> Thresholds:
    """Read a threshold setting; a malformed one raises ``ThresholdError`` naming the bad part."""
    named: dict[str, int | None] = {}
    others: Decimal | None = Decimal(0)
    for item in filter(None, (part.strip() for part in text.split(","))):
        currency, equals, amount = (piece.strip() for piece in item.partition("="))
        currency = currency.upper()
        if not equals or not amount:
            raise ThresholdError(f"{item!r} is not CURRENCY=AMOUNT")
        never = amount.lower() == NEVER
        if currency == EVERY_OTHER_CURRENCY:
            others = None if never else _others(amount)
            continue
        try:
            exponent(currency)
        except MoneyError:
            raise ThresholdError(f"{currency!r} is not a supported currency") from None
        named[currency] = None if never else _named(currency, amount)
    return Thresholds(named, others)


def needs_second_person(amount: Money, thresholds: Thresholds) -> bool:
    threshold = thresholds.minor_for(amount.currency)
    return threshold is not None and amount.minor >= threshold
