"""Bank statement files, read by maintained parsers of their published formats.

Each reader streams a file's ``Entry`` values and, once they are read, fills a ``Summary``
with what the statement says of itself (currency, opening and closing balance). Readers
never write; a file that cannot be read raises ``FileRefused`` naming what is wrong.
"""

from __future__ import annotations

from typing import BinaryIO

from receivables.banking.formats import camt053, csvfile, mt940file, ofx
from receivables.banking.formats.base import FORMATS, Reader
from receivables.core.errors import ReceivablesError


def open_reader(kind: str, stream: BinaryIO, csv_mapping: dict | None, currency: str) -> Reader:
    """The reader for ``kind``; a CSV file needs the bank account's saved column mapping."""
    if kind == "camt053":
        return camt053.Camt053Reader(stream)
    if kind == "mt940":
        return mt940file.Mt940Reader(stream)
    if kind == "ofx":
        return ofx.OfxReader(stream)
    if kind == "csv":
        if not csv_mapping:
            raise ReceivablesError("csv_mapping_required", "save a CSV column mapping for this bank account", "format")
        return csvfile.CsvReader(stream, csv_mapping, currency)
    raise ReceivablesError("invalid_choice", f"must be one of: {', '.join(FORMATS)}", "format")
