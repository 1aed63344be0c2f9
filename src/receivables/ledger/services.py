"""Writes to the ledger. Callers pass legs built by ``receivables.rules.posting``."""

from __future__ import annotations

import datetime

from django.db import transaction

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
    entry = JournalEntry.objects.create(
        date=date,
        memo=memo[:200],
        currency=legs[0].debit.currency,
        document_id=document_id,
        reverses=reverses,
    )
    ids = account_ids({leg.account for leg in legs})
    Posting.objects.bulk_create(
        [
            Posting(
                entry=entry,
                account_id=ids[leg.account],
                currency=leg.debit.currency,
                debit_minor=leg.debit.minor,
                credit_minor=leg.credit.minor,
            )
            for leg in legs
        ]
    )
    return entry


def legs_of(entry: JournalEntry) -> list[Leg]:
    from receivables.money import Money

    return [
        Leg(p.account.code, Money(p.debit_minor, p.currency), Money(p.credit_minor, p.currency))
        for p in entry.postings.select_related("account")
    ]


def reverse(entry: JournalEntry, date: datetime.date, memo: str) -> JournalEntry:
    return post(date, memo, posting.reversal(legs_of(entry)), entry.document_id, reverses=entry)
