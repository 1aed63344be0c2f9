"""Importing a statement file: read it through once to check it, then store its new lines, then match.

The first pass writes nothing: a malformed, truncated, hostile or unbalanced file is refused
whole before a row exists. The second pass stores the lines in one transaction, in chunks, and
skips each line an earlier import already stored (same bank account, same identity), so the
same file twice, or two overlapping files, never hold a line twice. Matching then runs in its
own transactions (``banking.matching``): a line left unmatched by a crash is simply still
unmatched, and the next import or a person takes it up.
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


@dataclass(frozen=True)
class Checked:
    """What the checking pass learnt of a file."""

    kind: str
    currency: str
    entries: int
    statement_id: str
    opening_minor: int | None
    closing_minor: int | None
    first_date: datetime.date | None
    last_date: datetime.date | None


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


def check_file(stream: BinaryIO, bank: BankAccount, kind: str, mapping: dict | None) -> Checked:
    """Read the whole file without writing: formats, currency, and that its balances follow from its lines."""
    reader = _reader(kind, stream, mapping, bank)
    count, movement, first, last = 0, 0, None, None
    for entry in reader.entries():
        if entry.currency != bank.currency:
            raise FileRefused("currency_mismatch", f"the file is in {entry.currency}; the account in {bank.currency}")
        count += 1
        movement += entry.signed_minor
        first = entry.booking_date if first is None else min(first, entry.booking_date)
        last = entry.booking_date if last is None else max(last, entry.booking_date)
    summary = reader.summary
    if summary.currency and summary.currency != bank.currency:
        raise FileRefused(
            "currency_mismatch", f"the statement is in {summary.currency}; the account in {bank.currency}"
        )
    _check_balances(summary.opening_minor, summary.closing_minor, summary.chained, movement, bank.currency)
    return Checked(
        kind, bank.currency, count, summary.statement_id, summary.opening_minor, _closing(summary), first, last
    )


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
def _store(
    stream: BinaryIO, bank: BankAccount, checked: Checked, mapping: dict | None, file_name: str, user: object
) -> tuple[BankStatement, int]:
    statement = BankStatement.objects.create(
        bank_account=bank,
        format=checked.kind,
        file_name=file_name[:200],
        statement_id=checked.statement_id,
        currency=checked.currency,
        opening_minor=checked.opening_minor,
        closing_minor=checked.closing_minor,
        first_date=checked.first_date,
        last_date=checked.last_date,
        imported_by=audit.person(user),
    )
    identified = _identified(bank, _reader(checked.kind, stream, mapping, bank).entries())
    stored = skipped = 0
    while chunk := list(islice(identified, CHUNK)):
        added, passed = _store_chunk(statement, chunk, stored + 1)
        stored, skipped = stored + added, skipped + passed
    BankStatement.objects.filter(pk=statement.pk).update(skipped=skipped)
    statement.skipped = skipped
    after = {"bank_account": bank.pk, "format": checked.kind, "lines": stored, "skipped": skipped}
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
    """Check, store and match a statement file for one bank account; the stream must be seekable."""
    bank = _bank_account(bank_account_id)
    mapping = _mapping(bank)
    kind = _kind(stream, format or None, mapping)
    try:
        checked = check_file(stream, bank, kind, mapping)
    except (UnicodeDecodeError, ValueError) as error:
        raise FileRefused("malformed_file", f"the file cannot be read: {str(error)[:200]}") from None
    statement, stored = _store(stream, bank, checked, mapping, file_name, user)
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
