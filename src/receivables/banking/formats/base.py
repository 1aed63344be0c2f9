"""What every statement reader gives: entries, the statement's own summary, and refusals.

Each reader streams a file's ``Entry`` values and, once they are read, fills a ``Summary``
with what the statement says of itself (currency, opening and closing balance). Readers
never write; a file that cannot be read raises ``FileRefused`` naming what is wrong.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from receivables.core.errors import ReceivablesError
from receivables.money import Money, MoneyError

CREDIT = "credit"
DEBIT = "debit"
FORMATS = ("camt053", "mt940", "ofx", "csv")


class FileRefused(ReceivablesError):
    """A statement file that is malformed, truncated, hostile or of another format: nothing is written."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(code, detail, "file")


@dataclass(frozen=True)
class Entry:
    """One booked movement on the statement; ``amount_minor`` is positive, ``direction`` says which way."""

    booking_date: datetime.date
    amount_minor: int
    direction: str
    currency: str
    # The bank's own id for the movement ("" when the format has none): the line's identity.
    bank_reference: str = ""
    value_date: datetime.date | None = None
    reference: str = ""
    counterparty: str = ""
    iban: str = ""

    @property
    def signed_minor(self) -> int:
        return self.amount_minor if self.direction == CREDIT else -self.amount_minor


@dataclass
class Summary:
    """What a statement says of itself; a balance is None when the format does not carry it."""

    currency: str | None = None
    statement_id: str = ""
    opening_minor: int | None = None
    closing_minor: int | None = None
    # Statements after the first in one file (MT940 may chain several): (opening, closing) each.
    chained: tuple[tuple[int, int], ...] = ()


class Reader(Protocol):
    summary: Summary

    def entries(self) -> Iterator[Entry]: ...


def minor_units(text: str | Decimal | None, currency: str, where: str) -> int:
    """An amount from a file as signed minor units; more decimals than the currency has is refused."""
    try:
        return Money.parse(text if isinstance(text, Decimal) else (text or "").strip(), currency).minor
    except MoneyError as error:
        raise FileRefused("malformed_file", f"{where}: {error}") from None


def clip(text: object, length: int) -> str:
    """Free text from a file, one line, within a column's length."""
    return " ".join(str(text or "").split())[:length]


def detect(head: bytes) -> str | None:
    """The format of a file from its first bytes; None when it is none of the XML, OFX or MT940 shapes."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").decode("latin-1")
    upper = text[:4096].upper()
    if upper.startswith("OFXHEADER") or "<OFX>" in upper:
        return "ofx"
    if text.startswith("<"):
        return "camt053"
    if text.startswith((":20:", "{1:")) or "\n:20:" in text[:4096]:
        return "mt940"
    return None
