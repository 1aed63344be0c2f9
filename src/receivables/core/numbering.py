"""Gapless document numbers.

One ``UPDATE ... RETURNING`` takes the number and locks the sequence row inside the caller's
transaction, so a number is used only if the document that took it commits: concurrent
writers queue on the row (PostgreSQL re-reads it after the wait, so each sees the previous
writer's increment), and a rollback gives the number back.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator

from django.db import transaction

from receivables.core.models import Sequence

SERIES: dict[str, str] = {
    "customer": "CUS-",
    "invoice": "INV-",
    "debit_memo": "DBM-",
    "payment": "PAY-",
    "credit_note": "CRN-",
    "refund": "RFD-",
    "write_off": "WOF-",
    "order": "ORD-",
}

_TABLE = Sequence._meta.db_table
# Takes a block of n numbers; RETURNING gives the prefix and the block's first value.
_TAKE = f"UPDATE {_TABLE} SET next_value = next_value + %s WHERE series = %s RETURNING prefix, next_value - %s"  # noqa: S608
_START = f"INSERT INTO {_TABLE} (series, prefix, next_value) VALUES (%s, %s, 1) ON CONFLICT (series) DO NOTHING"  # noqa: S608


def format_number(prefix: str, value: int) -> str:
    return f"{prefix}{value:06d}"


def next_number(series: str) -> str:
    return next_numbers(series, 1)[0]


def next_numbers(series: str, count: int) -> list[str]:
    """``count`` consecutive numbers of ``series`` in one statement (a batch of documents takes a block)."""
    if count <= 0:
        return []
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("next_numbers must run inside the transaction that uses the numbers")
    with connection.cursor() as cursor:
        cursor.execute(_TAKE, [count, series, count])
        taken = cursor.fetchone()
        if taken is None:
            # The series' first number: create its row (a concurrent first writer may win), then take.
            cursor.execute(_START, [series, SERIES[series]])
            cursor.execute(_TAKE, [count, series, count])
            taken = cursor.fetchone()
    prefix, first = taken
    return [format_number(prefix, value) for value in range(first, first + count)]


def numbers_issued(series: str) -> int:
    sequence = Sequence.objects.filter(series=series).first()
    return 0 if sequence is None else sequence.next_value - 1


_NUMBER = re.compile(r"^(?P<prefix>\D+)(?P<value>\d+)$")


def numbering_gaps(numbers: Iterable[str]) -> Iterator[str]:
    """Each series' numbers used, against those issued: none twice, none missing."""
    issued = {s.prefix: s.next_value - 1 for s in Sequence.objects.all()}
    seen: dict[str, list[int]] = defaultdict(list)
    for number in numbers:
        match = _NUMBER.match(number)
        if match is None:
            yield f"number {number!r} is not in a series"
            continue
        seen[match["prefix"]].append(int(match["value"]))
    for prefix, values in seen.items():
        expected = issued.get(prefix, 0)
        if len(values) != len(set(values)):
            yield f"series {prefix}: duplicate numbers"
        if sorted(values) != list(range(1, expected + 1)):
            missing = sorted(set(range(1, expected + 1)) - set(values))[:10]
            yield f"series {prefix}: {len(values)} numbers used of {expected} issued; missing {missing}"
