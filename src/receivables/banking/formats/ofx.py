"""OFX and QFX statements (1.x SGML and 2.x XML), read by ``ofxtools``.

OFX gives the closing (ledger) balance but no opening one, so a file alone cannot show that its
balance follows from its lines; its ``FITID`` is each transaction's identity.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from ofxtools.Parser import OFXTree

from receivables.banking.formats.base import CREDIT, DEBIT, Entry, FileRefused, Summary, clip, minor_units


class OfxReader:
    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.summary = Summary()

    def entries(self) -> Iterator[Entry]:
        statement = self._statement()
        currency = str(statement.curdef)
        self.summary.currency = currency
        if statement.ledgerbal is not None:
            self.summary.closing_minor = minor_units(statement.ledgerbal.balamt, currency, "LEDGERBAL")
        for transaction in statement.banktranlist or []:
            yield self._entry(transaction, currency)

    def _statement(self) -> Any:
        tree = OFXTree()
        try:
            tree.parse(self.stream)
            statements = tree.convert().statements
        except Exception as error:  # noqa: BLE001 - ofxtools raises many kinds of error on bad input
            raise FileRefused("malformed_file", f"not a readable OFX statement: {str(error)[:200]}") from None
        if len(statements) != 1:
            raise FileRefused("malformed_file", "an OFX file here holds exactly one bank statement")
        return statements[0]

    def _entry(self, transaction: Any, currency: str) -> Entry:
        fitid = clip(transaction.fitid, 100)
        signed = minor_units(transaction.trnamt, currency, f"transaction {fitid}")
        words = [transaction.memo, transaction.refnum, transaction.checknum]
        return Entry(
            booking_date=transaction.dtposted.date(),
            value_date=transaction.dtuser.date() if transaction.dtuser else None,
            amount_minor=abs(signed),
            direction=CREDIT if signed > 0 else DEBIT,
            currency=currency,
            bank_reference=fitid,
            reference=clip(" ".join(str(word) for word in words if word), 500),
            counterparty=clip(transaction.name or (transaction.payee.name if transaction.payee else ""), 200),
        )
