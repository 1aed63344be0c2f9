"""Writes to the ledger. Callers pass legs built by ``receivables.rules.posting``."""

from __future__ import annotations

import datetime

from django.db import transaction

from receivables.core import rows
from receivables.ledger.models import Account, JournalEntry, Posting
from receivables.rules import posting
from receivables.rules.posting import Leg


def ensure_chart() -> None:
    for code, (name, kind) in posting.CHART.items():
        Account.objects.get_or_create(code=code, defaults={"name": name, "kind": kind})


def account_ids(codes: set[str]) -> dict[str, int]:
    ids = dict(Account.objects.filter(code__in=codes).values_list("code", "id"))
    if len(ids) < len(codes):
        ensure_chart()
        ids = dict(Account.objects.filter(code__in=codes).values_list("code", "id"))
    return ids


def post(
    date: datetime.date,
    memo: str,
    legs: list[Leg],
    document_id: int | None = None,
    reverses: JournalEntry | None = None,
) -> JournalEntry:
    legs = posting.balanced(legs)
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("post() must run inside the caller's transaction")
    entry = JournalEntry(
        date=date,
        memo=memo[:200],
        currency=legs[0].debit.currency,
        document_id=document_id,
        reverses=reverses,
    )
    if _write(entry, legs) < len(legs):
        # An account of the chart is missing (a database flushed by a test): add the chart, write again.
        Posting.objects.filter(entry_id=entry.pk).delete()
        ensure_chart()
        if _insert_postings(entry.pk, legs) < len(legs):
            raise RuntimeError(f"no ledger account among {sorted({leg.account for leg in legs})}")
    return entry


def _write(entry: JournalEntry, legs: list[Leg]) -> int:
    """Write the entry and its postings; return how many postings were written."""
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        rows.insert(entry)
        return _insert_postings(entry.pk, legs)
    # PostgreSQL takes both in one statement (data-modifying CTEs): one round trip, not two.
    insert_entry, entry_params = rows.insert_statement(entry)
    insert_postings, posting_params = _postings_statement("(SELECT id FROM entry)", legs)
    sql = (
        f"WITH entry AS ({insert_entry}), written AS ({insert_postings} RETURNING 1) "
        "SELECT (SELECT id FROM entry), (SELECT count(*) FROM written)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, entry_params + posting_params)
        entry_id, written = cursor.fetchone()
    rows.inserted(entry, entry_id)
    return written


def _insert_postings(entry_id: int, legs: list[Leg]) -> int:
    """Write the legs in one statement, looking their accounts up by code as it inserts.

    Posting is on every write path: one INSERT ... SELECT replaces a query for the account ids
    and a bulk insert (a round trip and the ORM's work for each leg).
    """
    sql, params = _postings_statement("%s", legs)
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(sql, [entry_id, *params])
        return cursor.rowcount


def _postings_statement(entry_id_sql: str, legs: list[Leg]) -> tuple[str, list[object]]:
    """The INSERT ... SELECT of the legs, taking the entry's id from ``entry_id_sql``."""
    values = ", ".join(["(%s, CAST(%s AS BIGINT), CAST(%s AS BIGINT), CAST(%s AS INTEGER))"] * len(legs))
    params: list[object] = [legs[0].debit.currency]
    for position, leg in enumerate(legs):
        params += [leg.account, leg.debit.minor, leg.credit.minor, position]
    table, accounts = Posting._meta.db_table, Account._meta.db_table
    sql = (
        f"INSERT INTO {table} (entry_id, account_id, currency, debit_minor, credit_minor) "  # noqa: S608
        f"SELECT {entry_id_sql}, account.id, %s, leg.column2, leg.column3 FROM (VALUES {values}) AS leg "
        f"JOIN {accounts} AS account ON account.code = leg.column1 ORDER BY leg.column4"
    )
    return sql, params


def legs_of(entry: JournalEntry) -> list[Leg]:
    from receivables.money import Money

    return [
        Leg(p.account.code, Money(p.debit_minor, p.currency), Money(p.credit_minor, p.currency))
        for p in entry.postings.select_related("account")
    ]


def reverse(entry: JournalEntry, date: datetime.date, memo: str) -> JournalEntry:
    return post(date, memo, posting.reversal(legs_of(entry)), entry.document_id, reverses=entry)
