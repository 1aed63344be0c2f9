"""SWIFT MT940 statements, read by the ``mt-940`` package.

Structured ``:86:`` details (``?20`` purpose, ``?31`` IBAN, ``?32`` name, SEPA ``EREF+``/``SVWZ+``)
are split by the package's own details processor; unstructured ones are the reference as they
stand. A file may chain several statements (``:20:`` blocks): each must run from its opening
balance (``:60F:``/``:60M:``) to its closing one (``:62F:``/``:62M:``). The package reads a whole
file at once; the upload limit bounds it.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import mt940

from receivables.banking.formats.base import CREDIT, DEBIT, Entry, FileRefused, Summary, clip, minor_units

NO_REFERENCE = {"", "NONREF", "NOTPROVIDED"}
PROCESSORS: dict[str, list[Callable[..., dict[str, Any]]]] = {
    "post_transaction_details": [mt940.processors.transaction_details_post_processor_with_space]
}


class Mt940Reader:
    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.summary = Summary()

    def entries(self) -> Iterator[Entry]:
        text = self.stream.read().decode("latin-1")
        try:
            statements = mt940.parse_statements(
                text, processors=PROCESSORS, options=mt940.Options(applicant_iban=True, merge_keeps_values=True)
            )
        except Exception as error:  # noqa: BLE001 - the package raises bare errors of many kinds on bad input
            raise FileRefused("malformed_file", f"not a readable MT940 statement: {error}") from None
        statements = [statement for statement in statements if statement.data or len(statement)]
        if not statements:
            raise FileRefused("wrong_format", "no MT940 statement in the file")
        balances = [self._balances(statement, number) for number, statement in enumerate(statements, start=1)]
        self.summary.opening_minor = balances[0][0]
        self.summary.closing_minor = balances[0][1]
        self.summary.chained = tuple(balances[1:])
        self.summary.statement_id = clip(statements[0].data.get("transaction_reference"), 100)
        for statement in statements:
            for transaction in statement:
                yield self._entry(transaction.data)

    def _balances(self, statement: Any, number: int) -> tuple[int, int]:
        opening = statement.data.get("final_opening_balance") or statement.data.get("intermediate_opening_balance")
        closing = statement.data.get("final_closing_balance") or statement.data.get("intermediate_closing_balance")
        if opening is None or closing is None:
            raise FileRefused("malformed_file", f"statement {number}: an MT940 statement needs :60F: and :62F:")
        currency = opening.amount.currency
        if self.summary.currency and currency != self.summary.currency:
            raise FileRefused("currency_mismatch", f"statement {number} is in {currency}")
        self.summary.currency = currency
        return (
            minor_units(opening.amount.amount, currency, f"statement {number} :60F:"),
            minor_units(closing.amount.amount, currency, f"statement {number} :62F:"),
        )

    def _entry(self, data: dict[str, Any]) -> Entry:
        currency = self.summary.currency or ""
        bank_reference = str(data.get("bank_reference") or "").strip()
        signed = minor_units(data["amount"].amount, currency, f"transaction {bank_reference or data.get('date')}")
        own_reference = str(data.get("customer_reference") or "").strip()
        words = [
            data.get("purpose") or data.get("transaction_details") or "",
            data.get("end_to_end_reference") or "",
            "" if own_reference.upper() in NO_REFERENCE else own_reference,
        ]
        date = data.get("entry_date") or data["date"]
        return Entry(
            booking_date=datetime.date(date.year, date.month, date.day),
            value_date=datetime.date(data["date"].year, data["date"].month, data["date"].day),
            amount_minor=abs(signed),
            direction=CREDIT if signed > 0 else DEBIT,
            currency=currency,
            bank_reference="" if bank_reference.upper() in NO_REFERENCE else clip(bank_reference, 100),
            reference=clip(" ".join(word for word in words if word), 500),
            counterparty=clip(data.get("applicant_name"), 200),
            iban=clip(data.get("applicant_iban") or data.get("gvc_applicant_iban"), 34).replace(" ", ""),
        )
