"""CSV exports, read with the standard library's ``csv`` by the bank account's saved column mapping.

A mapping names the header of each column: ``date``, either ``amount`` (signed) or ``credit`` and
``debit`` (money in and out), and optionally ``reference``, ``counterparty``, ``iban`` and ``id``
(the bank's transaction id); ``date_format`` (strftime, default ``%Y-%m-%d``), ``decimal`` (``.``
or ``,``) and ``delimiter``. CSV carries no balances, so no continuity check applies.
"""

from __future__ import annotations

import csv
import datetime
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from receivables.banking.formats.base import CREDIT, DEBIT, Entry, FileRefused, Summary, clip, minor_units
from receivables.core.errors import ReceivablesError

MAPPED = ("date", "amount", "credit", "debit", "reference", "counterparty", "iban", "id")
OPTIONS = ("date_format", "decimal", "delimiter")
MAX_FIELD = 10_000
DATE_FORMAT = "%Y-%m-%d"


def check_mapping(mapping: object) -> dict[str, str]:
    """A column mapping as saved for a bank account; errors name the key at fault."""
    if not isinstance(mapping, dict):
        raise ReceivablesError("invalid_mapping", "must be an object of column names", "mapping")
    unknown = sorted(set(mapping) - set(MAPPED) - set(OPTIONS))
    if unknown:
        raise ReceivablesError("invalid_mapping", f"unknown keys: {', '.join(unknown)}", "mapping")
    clean = {key: str(value).strip() for key, value in mapping.items() if value not in (None, "")}
    if any(len(value) > 100 for value in clean.values()):
        raise ReceivablesError("too_long", "a column name has at most 100 characters", "mapping")
    if "date" not in clean:
        raise ReceivablesError("invalid_mapping", "name the date column", "mapping.date")
    if ("amount" in clean) == ("credit" in clean or "debit" in clean):
        raise ReceivablesError("invalid_mapping", "name either an amount column or credit/debit columns", "mapping")
    if clean.get("decimal", ".") not in (".", ","):
        raise ReceivablesError("invalid_mapping", "the decimal mark is . or ,", "mapping.decimal")
    if len(clean.get("delimiter", ",")) != 1:
        raise ReceivablesError("invalid_mapping", "the delimiter is one character", "mapping.delimiter")
    _check_date_format(clean.get("date_format", DATE_FORMAT))
    return clean


def _check_date_format(text: str) -> None:
    try:
        datetime.datetime.strptime(datetime.date(2026, 12, 31).strftime(text), text)
    except ValueError:
        raise ReceivablesError("invalid_mapping", "not a date format such as %d/%m/%Y", "mapping.date_format") from None


def _text_lines(stream: BinaryIO) -> Iterator[str]:
    """The file as lines of text, a byte-order mark dropped; csv joins quoted fields that span lines."""
    for number, raw in enumerate(stream):
        yield raw.decode("utf-8-sig" if number == 0 else "utf-8")


class CsvReader:
    def __init__(self, stream: BinaryIO, mapping: dict[str, str], currency: str) -> None:
        self.stream = stream
        self.mapping = mapping
        self.summary = Summary(currency=currency)

    def entries(self) -> Iterator[Entry]:
        csv.field_size_limit(MAX_FIELD)
        rows = csv.DictReader(_text_lines(self.stream), delimiter=self.mapping.get("delimiter", ","))
        try:
            self._check_header(rows.fieldnames)
            for number, row in enumerate(rows, start=2):
                entry = self._entry(row, number)
                if entry is not None:
                    yield entry
        except (csv.Error, UnicodeDecodeError) as error:
            raise FileRefused("malformed_file", f"not readable as CSV: {error}") from None

    def _check_header(self, header: Sequence[str] | None) -> None:
        wanted = {self.mapping[key] for key in MAPPED if key in self.mapping}
        missing = sorted(wanted - set(header or []))
        if missing:
            raise FileRefused("wrong_format", f"the CSV has no column {', '.join(missing)} of the saved mapping")

    def _amount(self, text: str | None, where: str) -> int:
        raw = (text or "").strip().replace(" ", "").replace("\u00a0", "")
        negative = raw.startswith("(") and raw.endswith(")")
        raw = raw.strip("()")
        if self.mapping.get("decimal", ".") == ",":
            raw = raw.replace(".", "").replace(",", ".")
        else:
            raw = raw.replace(",", "")
        minor = minor_units(raw or "0", self.summary.currency or "XXX", where)
        return -minor if negative else minor

    def _signed(self, row: dict[str, str], where: str) -> int:
        if "amount" in self.mapping:
            return self._amount(row.get(self.mapping["amount"]), where)
        money_in = self._amount(row.get(self.mapping.get("credit", "")), where) if "credit" in self.mapping else 0
        money_out = self._amount(row.get(self.mapping.get("debit", "")), where) if "debit" in self.mapping else 0
        return abs(money_in) - abs(money_out)

    def _entry(self, row: dict[str, str], number: int) -> Entry | None:
        where = f"row {number}"
        column = self.mapping.get
        try:
            day = datetime.datetime.strptime(
                (row.get(self.mapping["date"]) or "").strip(), column("date_format", "%Y-%m-%d")
            )
        except ValueError:
            raise FileRefused("malformed_file", f"{where}: the date is not in the mapping's format") from None
        signed = self._signed(row, where)
        return Entry(
            booking_date=day.date(),
            amount_minor=abs(signed),
            direction=CREDIT if signed > 0 else DEBIT,
            currency=self.summary.currency or "",
            bank_reference=clip(row.get(column("id", "")), 100) if column("id") else "",
            reference=clip(row.get(column("reference", "")), 500) if column("reference") else "",
            counterparty=clip(row.get(column("counterparty", "")), 200) if column("counterparty") else "",
            iban=clip(row.get(column("iban", "")), 34).replace(" ", "") if column("iban") else "",
        )
