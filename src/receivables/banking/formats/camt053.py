"""ISO 20022 camt.053 (bank to customer statement), any version, streamed with lxml's iterparse.

Safety: no DTD is accepted (a statement never has one; it is how entity bombs and external
entities arrive), entities are never resolved, nothing is fetched from the network, and
libxml2's limits on huge text nodes stay on. Memory: each ``Ntry`` is read, turned into
entries and cleared with everything before it, so a file of 100,000 entries needs no more
than one of ten.

A batch booking (one ``Ntry`` carrying several ``TxDtls``) becomes one entry per transaction,
each with its own amount, payer and reference; their amounts must add up to the booking's.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import replace
from functools import lru_cache
from typing import BinaryIO

from lxml import etree

from receivables.banking.formats.base import CREDIT, DEBIT, Entry, FileRefused, Summary, clip, minor_units

OPENING_CODES = frozenset({"OPBD", "PRCD"})
CLOSING_CODES = frozenset({"CLBD"})
BOOKED = "BOOK"


class Camt053Reader:
    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.summary = Summary()
        self._ns = ""
        self._statements = 0

    def entries(self) -> Iterator[Entry]:
        events = etree.iterparse(
            self.stream,
            events=("start", "end"),
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        try:
            yield from self._walk(events)
        except etree.XMLSyntaxError as error:
            raise FileRefused("malformed_file", f"not well-formed XML: {error}") from None

    def _walk(self, events: etree.iterparse) -> Iterator[Entry]:
        for event, element in events:
            if event == "start":
                self._start(element)
                continue
            name = etree.QName(element).localname
            if name == "Ntry" and element.getparent() is not None:
                yield from self._entry(element)
                _forget(element)
            elif name == "Bal":
                self._balance(element)
                _forget(element)
            elif name == "Acct" and etree.QName(element.getparent()).localname == "Stmt":
                self.summary.currency = self.summary.currency or self._text(element, "Ccy") or None
            elif name == "Id" and etree.QName(element.getparent()).localname == "Stmt":
                self.summary.statement_id = clip(element.text, 100)
        if self._statements != 1:
            raise FileRefused("malformed_file", "a camt.053 file here holds exactly one statement (Stmt)")

    def _start(self, element: etree._Element) -> None:
        if not self._ns:
            if element.getroottree().docinfo.doctype:
                raise FileRefused("xml_dtd_forbidden", "the file declares a DTD; statements never do")
            namespace = etree.QName(element).namespace or ""
            if etree.QName(element).localname != "Document" or "camt.053" not in namespace:
                raise FileRefused("wrong_format", "the XML is not an ISO 20022 camt.053 statement")
            self._ns = namespace
        elif etree.QName(element).localname == "Stmt":
            self._statements += 1

    def _path(self, path: str) -> str:
        return _qualified(self._ns, path)

    def _text(self, element: etree._Element, path: str) -> str:
        return (element.findtext(self._path(path)) or "").strip()

    def _all_text(self, element: etree._Element, path: str) -> list[str]:
        return [(found.text or "").strip() for found in element.iterfind(self._path(path)) if found.text]

    def _signed(self, element: etree._Element, where: str) -> tuple[int, str]:
        amount = element.find(self._path("Amt"))
        if amount is None:
            raise FileRefused("malformed_file", f"{where}: no Amt")
        currency = (amount.get("Ccy") or "").strip()
        if self.summary.currency and currency != self.summary.currency:
            raise FileRefused("currency_mismatch", f"{where}: {currency} in a statement in {self.summary.currency}")
        self.summary.currency = currency
        minor = minor_units(amount.text, currency or "XXX", where)
        indicator = self._text(element, "CdtDbtInd")
        if indicator not in ("CRDT", "DBIT"):
            raise FileRefused("malformed_file", f"{where}: CdtDbtInd must be CRDT or DBIT")
        return minor, CREDIT if indicator == "CRDT" else DEBIT

    def _balance(self, element: etree._Element) -> None:
        code = self._text(element, "Tp/CdOrPrtry/Cd")
        minor, direction = self._signed(element, f"balance {code}")
        signed = minor if direction == CREDIT else -minor
        if code in OPENING_CODES and self.summary.opening_minor is None:
            self.summary.opening_minor = signed
        elif code in CLOSING_CODES:
            self.summary.closing_minor = signed

    def _entry(self, element: etree._Element) -> Iterator[Entry]:
        reference = self._text(element, "AcctSvcrRef") or self._text(element, "NtryRef")
        status = self._text(element, "Sts/Cd") or self._text(element, "Sts")
        if status != BOOKED:
            return  # pending and information-only entries are not on the booked balance
        minor, direction = self._signed(element, f"entry {reference or '?'}")
        booked = _date(self._text(element, "BookgDt/Dt") or self._text(element, "BookgDt/DtTm")[:10], reference)
        valued = self._text(element, "ValDt/Dt")
        booking = Entry(
            booking_date=booked,
            value_date=_date(valued, reference) if valued else None,
            amount_minor=minor,
            direction=direction,
            currency=self.summary.currency or "",
            bank_reference=reference,
        )
        details = list(element.iterfind(self._path("NtryDtls/TxDtls")))
        if len(details) <= 1:
            yield self._described(booking, details)
            return
        yield from self._batch(details, booking)

    def _batch(self, details: list[etree._Element], booking: Entry) -> Iterator[Entry]:
        reference = booking.bank_reference
        parts = [self._transaction_amount(detail, reference) for detail in details]
        if sum(parts) != booking.amount_minor:
            raise FileRefused("batch_does_not_add_up", f"entry {reference}: its transactions do not add up to it")
        for position, (detail, part) in enumerate(zip(details, parts, strict=True), start=1):
            own = self._text(detail, "Refs/AcctSvcrRef") or f"{reference}/{position}"
            yield self._described(replace(booking, amount_minor=part, bank_reference=own), [detail])

    def _transaction_amount(self, detail: etree._Element, reference: str) -> int:
        amount = detail.find(self._path("Amt"))
        if amount is None:
            amount = detail.find(self._path("AmtDtls/TxAmt/Amt"))
        if amount is None:
            raise FileRefused("malformed_file", f"entry {reference}: a batch transaction has no amount")
        return minor_units(amount.text, amount.get("Ccy") or "XXX", f"entry {reference}")

    def _described(self, entry: Entry, details: list[etree._Element]) -> Entry:
        """The entry with the transaction's other party (who paid us on a credit) and its remittance text."""
        if not details:
            return entry
        detail = details[0]
        party = "Dbtr" if entry.direction == CREDIT else "Cdtr"
        name = self._text(detail, f"RltdPties/{party}/Nm") or self._text(detail, f"RltdPties/{party}/Pty/Nm")
        words = [
            *self._all_text(detail, "RmtInf/Ustrd"),
            *self._all_text(detail, "RmtInf/Strd/CdtrRefInf/Ref"),
            *[ref for ref in self._all_text(detail, "Refs/EndToEndId") if ref.upper() != "NOTPROVIDED"],
        ]
        return replace(
            entry,
            counterparty=clip(name, 200),
            iban=clip(self._text(detail, f"RltdPties/{party}Acct/Id/IBAN"), 34).replace(" ", ""),
            reference=clip(" ".join(words), 500),
        )


@lru_cache(maxsize=256)
def _qualified(namespace: str, path: str) -> str:
    """``Amt/Ccy`` as ElementPath in the statement's namespace (built once per path, not per entry)."""
    return "/".join(f"{{{namespace}}}{part}" for part in path.split("/"))


def _date(text: str, reference: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text[:10])
    except ValueError:
        raise FileRefused("malformed_file", f"entry {reference or '?'}: {text[:20]!r} is not a date") from None


def _forget(element: etree._Element) -> None:
    """Drop a read element and its earlier siblings: the tree never holds more than one entry."""
    element.clear(keep_tail=False)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]
