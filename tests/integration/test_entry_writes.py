"""A journal entry and its postings: one statement on PostgreSQL, two on SQLite; the same rows either way."""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction

from receivables.ledger import services as ledger
from receivables.ledger.models import Account, JournalEntry
from receivables.money import Money
from receivables.rules import posting

pytestmark = pytest.mark.django_db
DAY = datetime.date(2026, 3, 1)


def test_an_entry_and_its_postings_are_written_together() -> None:
    with transaction.atomic():
        entry = ledger.post(DAY, "memo", posting.sale(Money(1000, "GBP"), Money(200, "GBP")))
    stored = JournalEntry.objects.get(pk=entry.pk)
    postings = list(stored.postings.order_by("id").values_list("account__code", "debit_minor", "credit_minor"))
    assert [(debit, credit) for _, debit, credit in postings] == [
        (leg.debit.minor, leg.credit.minor) for leg in posting.sale(Money(1000, "GBP"), Money(200, "GBP"))
    ]


def test_an_entry_posted_to_a_missing_chart_adds_the_chart_and_posts_once() -> None:
    Account.objects.all().delete()
    legs = posting.sale(Money(1000, "GBP"), Money(200, "GBP"))
    with transaction.atomic():
        entry = ledger.post(DAY, "memo", legs)
    assert entry.pk is not None
    assert JournalEntry.objects.get(pk=entry.pk).postings.count() == len(legs)
