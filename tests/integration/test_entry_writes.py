"""A journal entry and its postings: one statement on PostgreSQL, two on SQLite; the same rows either way."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
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


def test_an_entry_naming_an_account_missing_from_the_chart_is_refused_and_writes_nothing() -> None:
    Account.objects.filter(code=posting.VAT_PAYABLE).delete()
    legs = posting.sale(Money(1000, "GBP"), Money(200, "GBP"))
    with pytest.raises(RuntimeError, match="missing from the chart"), transaction.atomic():
        ledger.post(DAY, "memo", legs)
    assert JournalEntry.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_chart_of_accounts_is_back_after_the_database_is_flushed() -> None:
    """``flush`` (as tests that commit use) re-emits post_migrate, which lays the chart again."""
    call_command("flush", interactive=False, verbosity=0)
    assert set(posting.CHART) <= set(Account.objects.values_list("code", flat=True))
