"""camt.053 statements written for tests and benchmarks: entries in, a well-formed file out, streamed.

An entry is ``(amount, reference)`` or a dict with ``amount`` (decimal text, negative for money
out), ``reference``, ``name``, ``iban``, ``ref`` (the bank's reference) and ``date``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from decimal import Decimal
from typing import IO, Any
from xml.sax.saxutils import escape

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def _entry(number: int, entry: Any, currency: str) -> tuple[str, Decimal]:
    if not isinstance(entry, dict):
        entry = {"amount": entry[0], "reference": entry[1]}
    amount = Decimal(entry["amount"])
    indicator = "CRDT" if amount > 0 else "DBIT"
    party = "Dbtr" if amount > 0 else "Cdtr"
    iban = f"<{party}Acct><Id><IBAN>{escape(entry['iban'])}</IBAN></Id></{party}Acct>" if entry.get("iban") else ""
    name = f"<{party}><Pty><Nm>{escape(entry.get('name', ''))}</Nm></Pty></{party}>" if entry.get("name") else ""
    reference = escape(entry.get("ref", f"BANK-{number:08d}"))
    day = entry.get("date", "2026-12-01")
    xml = (
        f'<Ntry><NtryRef>{number}</NtryRef><Amt Ccy="{currency}">{abs(amount)}</Amt>'
        f"<CdtDbtInd>{indicator}</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>"
        f"<BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
        f"<AcctSvcrRef>{reference}</AcctSvcrRef><NtryDtls><TxDtls>"
        f"<RltdPties>{name}{iban}</RltdPties>"
        f"<RmtInf><Ustrd>{escape(entry.get('reference', ''))}</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>\n"
    )
    return xml, amount


def _balance(code: str, amount: Decimal, currency: str) -> str:
    indicator = "CRDT" if amount >= 0 else "DBIT"
    return (
        f'<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="{currency}">{abs(amount)}</Amt>'
        f"<CdtDbtInd>{indicator}</CdtDbtInd><Dt><Dt>2026-12-01</Dt></Dt></Bal>\n"
    )


def write_camt053(
    out: IO[str],
    entries: Iterable[Any],
    *,
    total: Decimal,
    opening: Decimal = Decimal("0.00"),
    currency: str = "GBP",
    closing: Decimal | None = None,
) -> None:
    """Write a statement whose closing balance is opening + ``total`` (the entries' sum) unless given."""
    end = opening + total if closing is None else closing
    out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<Document xmlns="{NAMESPACE}"><BkToCstmrStmt>')
    out.write("<GrpHdr><MsgId>TEST</MsgId><CreDtTm>2026-12-02T06:00:00</CreDtTm></GrpHdr><Stmt><Id>TEST-1</Id>")
    out.write(f"<Acct><Id><IBAN>GB29NWBK60161331926819</IBAN></Id><Ccy>{currency}</Ccy></Acct>\n")
    out.write(_balance("OPBD", opening, currency) + _balance("CLBD", end, currency))
    for number, entry in enumerate(entries, start=1):
        out.write(_entry(number, entry, currency)[0])
    out.write("</Stmt></BkToCstmrStmt></Document>\n")


def camt053(entries: list[Any], *, opening: str = "0.00", currency: str = "GBP", closing: str | None = None) -> bytes:
    amounts = [Decimal(e["amount"] if isinstance(e, dict) else e[0]) for e in entries]
    text = io.StringIO()
    write_camt053(
        text,
        entries,
        total=sum(amounts, Decimal(0)),
        opening=Decimal(opening),
        currency=currency,
        closing=None if closing is None else Decimal(closing),
    )
    return text.getvalue().encode()
