"""Writes to the ledger. Callers pass legs built by ``receivables.rules.posting``."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from receivables.core import rows
from receivables.ledger.models import Account, JournalEntry, Posting
from receivables.money import Money
from receivables.rules import posting
from receivables.rules.posting import Leg


def ensure_chart(using: str = "default") -> None:
    for code, (name, kind) in posting.CHART.items():
        Account.objects.using(using).get_or_create(code=code, defaults={"name": name, "kind": kind})


def post(
    date: datetime.date,
    memo: str,
    legs: list[Leg],
    document_id: int | None = None,
    reverses: JournalEntry | None = None,
) -> JournalEntry:
    entry, legs = _entry(date, memo, legs, document_id, reverses)
    _write_checked([(entry, legs)], lambda: _write(entry, legs))
    return entry


@dataclass(frozen=True)
class NewEntry:
    """A journal entry to post in a batch: its legs come from ``receivables.rules.posting``."""

    date: datetime.date
    memo: str
    legs: list[Leg]
    document_id: int | None = None


def post_many(new_entries: list[NewEntry]) -> list[JournalEntry]:
    """``post`` for a batch: the entries in one multi-row INSERT, all their postings in another."""
    made = [_entry(new.date, new.memo, new.legs, new.document_id, None) for new in new_entries]
    if len(made) == 1:
        _write_checked(made, lambda: _write(*made[0]))  # one statement on PostgreSQL
    elif made:
        _write_checked(made, lambda: _write_many(made))
    return [entry for entry, _ in made]


def _entry(
    date: datetime.date, memo: str, legs: list[Leg], document_id: int | None, reverses: JournalEntry | None
) -> tuple[JournalEntry, list[Leg]]:
    legs = posting.balanced(legs)
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("posting must run inside the caller's transaction")
    entry = JournalEntry(
        date=date,
        memo=memo[:200],
        currency=legs[0].debit.currency,
        document_id=document_id,
        reverses=reverses,
    )
    return entry, legs


def _write_checked(entries: list[tuple[JournalEntry, list[Leg]]], write: Callable[[], int]) -> None:
    """Write, then check every leg found its account (the postings join the chart by code)."""
    if write() < sum(len(legs) for _, legs in entries):
        codes = sorted({leg.account for _, legs in entries for leg in legs})
        raise RuntimeError(f"a ledger account among {codes} is missing from the chart")


def _write_many(entries: list[tuple[JournalEntry, list[Leg]]]) -> int:
    rows.insert_many([entry for entry, _ in entries], returning=True)
    return _insert_postings(entries)


def _write(entry: JournalEntry, legs: list[Leg]) -> int:
    """Write the entry and its postings; return how many postings were written."""
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        return _write_many([(entry, legs)])
    # PostgreSQL takes both in one statement (data-modifying CTEs): one round trip, not two.
    insert_entry, entry_params = rows.insert_statement(entry)
    insert_postings, posting_params = _postings_statement([(None, legs)], "(SELECT id FROM entry)")
    sql = (
        f"WITH entry AS ({insert_entry}), written AS ({insert_postings} RETURNING 1) "
        "SELECT (SELECT id FROM entry), (SELECT count(*) FROM written)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, entry_params + posting_params)
        entry_id, written = cursor.fetchone()
    rows.inserted(entry, entry_id)
    return written


def _insert_postings(entries: list[tuple[JournalEntry, list[Leg]]]) -> int:
    """Write the legs of written entries in one statement, looking their accounts up by code as it inserts.

    Posting is on every write path: one INSERT ... SELECT replaces a query for the account ids
    and a bulk insert (a round trip and the ORM's work for each leg).
    """
    sql, params = _postings_statement([(entry.pk, legs) for entry, legs in entries])
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


_LEG = "(CAST(%s AS BIGINT), %s, %s, CAST(%s AS BIGINT), CAST(%s AS BIGINT), CAST(%s AS INTEGER))"


def _postings_statement(
    entries: list[tuple[int | None, list[Leg]]], entry_id_sql: str = "leg.column1"
) -> tuple[str, list[object]]:
    """The INSERT ... SELECT of the entries' legs, each row taking its entry's id from ``entry_id_sql``.

    The first column carries each leg's entry id; a statement that inserts the entry itself
    passes None there and reads the id from ``entry_id_sql`` instead.
    """
    params: list[object] = []
    all_legs = [(entry_id, leg) for entry_id, legs in entries for leg in legs]
    for position, (entry_id, leg) in enumerate(all_legs):
        # The position keeps the postings in the order of the legs (ORDER BY leg.column6).
        params += [entry_id, leg.account, leg.debit.currency, leg.debit.minor, leg.credit.minor, position]
    values = ", ".join([_LEG] * len(all_legs))
    table, accounts = Posting._meta.db_table, Account._meta.db_table
    sql = (
        f"INSERT INTO {table} (entry_id, account_id, currency, debit_minor, credit_minor) "  # noqa: S608
        f"SELECT {entry_id_sql}, account.id, leg.column3, leg.column4, leg.column5 FROM (VALUES {values}) AS leg "
        f"JOIN {accounts} AS account ON account.code = leg.column2 ORDER BY leg.column6"
    )
    return sql, params


def legs_of(entry: JournalEntry) -> list[Leg]:
    return [
        Leg(p.account.code, Money(p.debit_minor, p.currency), Money(p.credit_minor, p.currency))
        for p in entry.postings.select_related("account")
    ]


def reverse(entry: JournalEntry, date: datetime.date, memo: str) -> JournalEntry:
    return post(date, memo, posting.reversal(legs_of(entry)), entry.document_id, reverses=entry)
