"""The posting path writes plain rows (``core.rows``): they must read back as the ORM would have written them."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from receivables.core.errors import NotFound
from receivables.core.models import AuditEntry, Sequence
from receivables.core.numbering import next_number, numbers_issued
from receivables.customers import services as customers
from receivables.documents import services
from receivables.documents.models import Document, DocumentLine, Status
from receivables.documents.services import LineInput
from receivables.ledger.models import JournalEntry
from receivables.money import Money

pytestmark = pytest.mark.django_db
DAY = datetime.date(2026, 3, 1)


def test_a_posted_invoice_reads_back_whole() -> None:
    customer = customers.create_customer(name="Ada", currency="GBP")
    before = timezone.now()
    lines = [
        LineInput("Hosting", Decimal(1), Decimal("19.99"), Decimal(20)),
        LineInput("Setup", Decimal(2), Decimal(5), Decimal(0)),
    ]
    written = services.create_invoice(customer.pk, lines, date=DAY)

    stored = Document.objects.get(pk=written.pk)
    assert (stored.number, stored.date, stored.due_date, stored.status) == (
        written.number,
        DAY,
        written.due_date,
        Status.OPEN,
    )
    assert (stored.net_minor, stored.tax_minor, stored.total_minor, stored.outstanding_minor) == (2999, 400, 3399, 3399)
    assert stored.created_at.tzinfo is not None and stored.created_at >= before - datetime.timedelta(seconds=1)
    assert stored.standalone is False and stored.reason == ""
    assert list(DocumentLine.objects.filter(document=stored).values_list("position", "unit_price", "net_minor")) == [
        (1, "19.99", 1999),
        (2, "5", 1000),
    ]
    record = AuditEntry.objects.get(object_type="document", object_id=str(written.pk))
    assert record.action == "invoice.create" and record.before is None
    assert record.after["number"] == written.number and record.after["outstanding_minor"] == 3399
    entry = JournalEntry.objects.get(document=stored)
    assert sum(p.debit_minor for p in entry.postings.all()) == sum(p.credit_minor for p in entry.postings.all()) == 3399


def test_a_locked_customer_and_document_behave_as_loaded_ones() -> None:
    customer = customers.create_customer(name="Bo", currency="GBP", auto_apply=True)
    credit = services.create_credit_note(customer.pk, reason="goodwill", amount=Money(500, "GBP"), date=DAY)
    with transaction.atomic():
        locked_customer, locked = services.lock_with_customer(credit.pk, "document")
        assert locked_customer.auto_apply is True and locked_customer.balance_minor == -500
        assert locked.date == DAY and locked.outstanding_minor == 500
        assert locked.created_at == Document.objects.get(pk=credit.pk).created_at  # deferred, loaded on use


@pytest.mark.parametrize("ident", [0, 2**63, 10**20])
def test_a_missing_or_oversized_id_is_not_found(ident: int) -> None:
    with transaction.atomic(), pytest.raises(NotFound):
        services.lock_with_customer(ident, "document")


def test_numbers_start_at_one_and_a_rollback_gives_its_number_back() -> None:
    Sequence.objects.filter(series="debit_memo").delete()
    with transaction.atomic():
        assert next_number("debit_memo") == "DBM-000001"
    with pytest.raises(RuntimeError), transaction.atomic():
        assert next_number("debit_memo") == "DBM-000002"
        raise RuntimeError("the document failed")
    with transaction.atomic():
        assert next_number("debit_memo") == "DBM-000002"
    assert numbers_issued("debit_memo") == 2
