"""Maker–checker: which refunds need a second person before money leaves."""

from __future__ import annotations

from receivables.money import Money

NEVER = None


def parse_thresholds(text: str) -> dict[str, int | None]:
    """``"GBP=250.00,EUR=200.00,*=0"`` → minor units per currency; ``none`` means never."""
    thresholds: dict[str, int | None] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        currency, _, amount = item.partition("=")
        currency = currency.strip().upper()
        amount = amount.strip()
        if amount.lower() == "none":
            thresholds[currency] = NEVER
        else:
            parse_as = "GBP" if currency == "*" else currency
            thresholds[currency] = Money.parse(amount, parse_as).minor
    return thresholds


def needs_second_person(amount: Money, thresholds: dict[str, int | None]) -> bool:
    threshold = thresholds.get(amount.currency, thresholds.get("*", 0))
    return threshold is not NEVER and amount.minor >= threshold
