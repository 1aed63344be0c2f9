"""Importing a statement file: read it once, storing its new lines as they come, then match them.

The lines are stored in one transaction, in chunks, as the file is read; a file found malformed,
truncated, hostile or in another currency on the way, or whose closing balance does not follow
from its opening balance and lines at its end, raises and the transaction rolls back whole:
nothing is written. Each line an earlier import already stored (same bank account, same
identity) is skipped, so the same file twice, or two overlapping files, never hold a line twice.
Matching then runs in its own transactions (``banking.matching``): a line left unmatched by a
crash is simply still unmatched, and the next import or a person takes it up.
"""

from __future__ import annotations

import datetime
import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from typing import BinaryIO

from django.db import transaction

from receivables.banking import formats, matching
from receivables.banking.formats import csvfile
from receivables.banking.formats.base import CREDIT, Entry, FileRefused, Reader, Summary, detect
from receivables.banking.models import BankLine, BankStatement, CsvMapping, Direction, LineStatus
from receivables.core import audit, inputs, rows
from receivables.core.errors import NotFound
from receivables.customers.models import BankAccount
from receivables.money import Money

CHUNK = 1000
DEBIT_REASON = "money out: debits are listed, not matched"


@dataclass
class Tally:
    """What reading the file has shown so far: its lines' count, net movement and dates."""

    currency: str
    count: int = 0
    movement: int = 0
    first: datetime.date | None = None
    last: datetime.date | None = None

    def add(self, entry: Entry) -> Entry:
        if entry.currency != self.currency:
            raise FileRefused("currency_mismatch", f"the file is in {entry.currency}; the account in {self.currency}")
        self.count += 1
        self.movement += entry.signed_minor
        self.first = entry.booking_date if self.first is None else min(self.first, entry.booking_date)
        self.last = entry.booking_date if self.last is None else max(self.last, entry.booking_date)
        return entry


@dataclass(frozen=True)
class ImportResult:
    statement: BankStatement
    imported: int
    skipped: int
    counts: Counter

    @property
    def matched(self) -> int:
        return self.counts[LineStatus.MATCHED]

    @property
    def suggested(self) -> int:
        return self.counts[LineStatus.SUGGESTED]

    @property
    def unmatched(self) -> int:
        return self.counts[LineStatus.UNMATCHED]


def _bank_account(bank_account_id: object) -> BankAccount:
    ident = inputs.identifier(bank_account_id, "bank_account")
    bank = BankAccount.objects.filter(pk=ident).first() if rows.storable(ident) else None
    if bank is None:
        raise NotFound("bank_account", ident, "bank_account")
    return bank


def _mapping(bank: BankAccount) -> dict | None:
    saved = CsvMapping.objects.filter(bank_account=bank).first()
    return saved.columns if saved else None


def _kind(stream: BinaryIO, chosen: str | None, mapping: dict | None) -> str:
    if chosen:
        return inputs.choice(chosen, "format", formats.FORMATS)
    head = stream.read(8192)
    stream.seek(0)
    found = detect(head)
    if found is None and mapping:
        return "csv"
    if found is None:
        raise FileRefused("unknown_format", "not camt.053, MT940 or OFX; for CSV save a column mapping first")
    return found


def _reader(kind: str, stream: BinaryIO, mapping: dict | None, bank: BankAccount) -> Reader:
    stream.seek(0)
    return formats.open_reader(kind, stream, mapping, bank.currency)


def _check_summary(summary: Summary, tally: Tally) -> None:
    """Once every entry is read: the statement's own currency, and that its balances follow from its lines."""
    if summary.currency and summary.currency != tally.currency:
        raise FileRefused(
            "currency_mismatch", f"the statement is in {summary.currency}; the account in {tally.currency}"
        )
    _check_balances(summary.opening_minor, summary.closing_minor, summary.chained, tally.movement, tally.currency)


def _closing(summary: Summary) -> int | None:
    return summary.chained[-1][1] if summary.chained else summary.closing_minor


def _check_balances(
    opening: int | None, closing: int | None, chained: tuple[tuple[int, int], ...], movement: int, currency: str
) -> None:
    if opening is None or closing is None:
        return  # OFX and CSV carry no opening balance: there is nothing to check the lines against
    previous = closing
    for next_opening, next_closing in chained:
        if next_opening != previous:
            raise FileRefused("balance_gap", "a statement does not open at the previous one's closing balance")
        previous = next_closing
    if opening + movement != previous:
        expected = Money(opening + movement, currency)
        raise FileRefused(
            "balance_mismatch",
            f"the closing balance {Money(previous, currency)} does not follow from the opening balance "
            f"{Money(opening, currency)} and the lines ({expected})",
        )


def identity(bank_account_id: int, entry: Entry, occurrence: int) -> str:
    """The line's identity: the bank's reference, else a hash of what the line says and its position among equals."""
    if entry.bank_reference:
        return f"ref:{entry.bank_reference}"
    said = "|".join(
        [
            str(bank_account_id),
            entry.booking_date.isoformat(),
            str(entry.signed_minor),
            entry.reference,
            entry.counterparty,
            str(occurrence),
        ]
    )
    return "hash:" + hashlib.sha256(said.encode()).hexdigest()[:48]


def _identified(bank: BankAccount, entries: Iterator[Entry]) -> Iterator[tuple[str, Entry]]:
    # Identical lines without a bank reference are told apart by their order in the file.
    seen: Counter[bytes] = Counter()
    for entry in entries:
        if entry.amount_minor == 0:
            continue
        occurrence = 0
        if not entry.bank_reference:
            key = hashlib.blake2b(
                repr((entry.booking_date, entry.signed_minor, entry.reference)).encode(), digest_size=12
            )
            seen[key.digest()] += 1
            occurrence = seen[key.digest()]
        yield identity(bank.pk, entry, occurrence), entry


def _line(statement: BankStatement, position: int, ident: str, entry: Entry) -> BankLine:
    credit = entry.direction == CREDIT
    return BankLine(
        statement=statement,
        bank_account_id=statement.bank_account_id,
        identity=ident,
        position=position,
        booking_date=entry.booking_date,
        value_date=entry.value_date,
        direction=Direction.CREDIT if credit else Direction.DEBIT,
        amount_minor=entry.amount_minor,
        currency=entry.currency,
        reference=entry.reference,
        counterparty=entry.counterparty,
        iban=entry.iban,
        bank_reference=entry.bank_reference,
        status=LineStatus.UNMATCHED if credit else LineStatus.IGNORED,
        ignore_reason="" if credit else DEBIT_REASON,
        suggestions=[],
    )


def _store_chunk(statement: BankStatement, chunk: list[tuple[str, Entry]], position: int) -> tuple[int, int]:
    """Insert the chunk's lines that no import stored before; (stored, skipped)."""
    fresh = dict(chunk)  # the same identity twice in one chunk is one line
    stored_before = set(
        BankLine.objects.filter(bank_account_id=statement.bank_account_id, identity__in=list(fresh)).values_list(
            "identity", flat=True
        )
    )
    new = [(ident, entry) for ident, entry in fresh.items() if ident not in stored_before]
    rows.insert_many([_line(statement, position + offset, ident, entry) for offset, (ident, entry) in enumerate(new)])
    return len(new), len(chunk) - len(new)


@transaction.atomic
def _store(reader: Reader, bank: BankAccount, kind: str, file_name: str, user: object) -> tuple[BankStatement, int]:
    statement = BankStatement.objects.create(
        bank_account=bank,
        format=kind,
        file_name=file_name[:200],
        currency=bank.currency,
        imported_by=audit.person(user),
    )
    tally = Tally(bank.currency)
    identified = _identified(bank, (tally.add(entry) for entry in reader.entries()))
    stored = skipped = 0
    while chunk := list(islice(identified, CHUNK)):
        added, passed = _store_chunk(statement, chunk, stored + 1)
        stored, skipped = stored + added, skipped + passed
    _check_summary(reader.summary, tally)
    read = {
        "statement_id": reader.summary.statement_id,
        "opening_minor": reader.summary.opening_minor,
        "closing_minor": _closing(reader.summary),
        "first_date": tally.first,
        "last_date": tally.last,
        "skipped": skipped,
    }
    BankStatement.objects.filter(pk=statement.pk).update(**read)
    for name, value in read.items():
        setattr(statement, name, value)
    after = {"bank_account": bank.pk, "format": kind, "lines": stored, "skipped": skipped}
    audit.record("bank_statement.import", statement, before=None, after=after, user=user, label=file_name[:60])
    return statement, stored


def import_statement(
    stream: BinaryIO,
    bank_account_id: object,
    *,
    format: str | None = None,
    file_name: str = "",
    user: object = None,
) -> ImportResult:
    """Read, store and match a statement file for one bank account; the stream must be seekable."""
    bank = _bank_account(bank_account_id)
    mapping = _mapping(bank)
    kind = _kind(stream, format or None, mapping)
    try:
        statement, stored = _store(_reader(kind, stream, mapping, bank), bank, kind, file_name, user)
    except (UnicodeDecodeError, ValueError) as error:
        raise FileRefused("malformed_file", f"the file cannot be read: {str(error)[:200]}") from None
    counts = matching.match_statement(statement, user=user)
    return ImportResult(statement, stored, statement.skipped, counts)


@transaction.atomic
def save_csv_mapping(bank_account_id: object, mapping: object, *, user: object = None) -> dict:
    """Save which CSV column holds what for a bank account (the last saved mapping is used)."""
    bank = _bank_account(bank_account_id)
    columns = csvfile.check_mapping(mapping)
    saved = CsvMapping.objects.select_for_update().filter(bank_account=bank).first()
    before = {"columns": saved.columns} if saved else None
    CsvMapping.objects.update_or_create(bank_account=bank, defaults={"columns": columns})
    audit.record("bank_account.csv_mapping", bank, before=before, after={"columns": columns}, user=user)
    return columns
