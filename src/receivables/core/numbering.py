"""Gapless document numbers.

One ``UPDATE ... RETURNING`` takes the number and locks the sequence row inside the caller's
transaction, so a number is used only if the document that took it commits: concurrent
writers queue on the row (PostgreSQL re-reads it after the wait, so each sees the previous
writer's increment), and a rollback gives the number back.
"""

from __future__ import annotations

from django.db import transaction

from receivables.core.models import Sequence

SERIES: dict[str, str] = {
    "customer": "CUS-",
    "invoice": "INV-",
    "debit_memo": "DBM-",
    "payment": "PAY-",
    "credit_note": "CRN-",
    "refund": "RFD-",
    "order": "ORD-",
}

_TABLE = Sequence._meta.db_table
_TAKE = f"UPDATE {_TABLE} SET next_value = next_value + 1 WHERE series = %s RETURNING prefix, next_value - 1"  # noqa: S608
_START = f"INSERT INTO {_TABLE} (series, prefix, next_value) VALUES (%s, %s, 1) ON CONFLICT (series) DO NOTHING"  # noqa: S608


def format_number(prefix: str, value: int) -> str:
    return f"{prefix}{value:06d}"


def next_number(series: str) -> str:
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("next_number must run inside the transaction that uses the number")
    with connection.cursor() as cursor:
        cursor.execute(_TAKE, [series])
        taken = cursor.fetchone()
        if taken is None:
            # The series' first number: create its row (a concurrent first writer may win), then take.
            cursor.execute(_START, [series, SERIES[series]])
            cursor.execute(_TAKE, [series])
            taken = cursor.fetchone()
    prefix, value = taken
    return format_number(prefix, value)


def numbers_issued(series: str) -> int:
    sequence = Sequence.objects.filter(series=series).first()
    return 0 if sequence is None else sequence.next_value - 1
