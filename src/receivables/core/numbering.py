"""Gapless document numbers.

The sequence row is locked with SELECT ... FOR UPDATE inside the caller's transaction, so a
number is taken only if the document that uses it commits: concurrent writers queue on the
row, and a rollback gives the number back.
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


def format_number(prefix: str, value: int) -> str:
    return f"{prefix}{value:06d}"


def next_number(series: str) -> str:
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("next_number must run inside the transaction that uses the number")
    sequence, _ = Sequence.objects.select_for_update().get_or_create(series=series, defaults={"prefix": SERIES[series]})
    value = sequence.next_value
    Sequence.objects.filter(series=series).update(next_value=value + 1)
    return format_number(sequence.prefix, value)


def numbers_issued(series: str) -> int:
    sequence = Sequence.objects.filter(series=series).first()
    return 0 if sequence is None else sequence.next_value - 1
