"""Concurrent writers on PostgreSQL: gapless numbers, and one credit note spent from many threads."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection

from receivables.core.errors import ReceivablesError
from receivables.core.numbering import format_number
from receivables.customers import services as customers
from receivables.documents import services
from receivables.documents.models import Allocation, Document, DocumentType
from receivables.documents.services import LineInput
from receivables.money import Money
from tests.conftest import ledger_is_clean, needs_postgres

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8


def run_threads(work: Callable[[int], None]) -> list[BaseException]:
    """Start every thread at once; each closes its own connection at the end."""
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            start.wait()
            work(index)
        except BaseException as error:  # noqa: BLE001 - reported to the test thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(thread.is_alive() for thread in threads), "a thread did not finish"
    return errors


def test_concurrent_invoices_get_unique_gapless_numbers() -> None:
    per_thread = 25
    # Four customers for eight threads: writers queue on customer rows and on the sequence.
    people = [customers.create_customer(name=f"Customer {n}", currency="GBP").pk for n in range(4)]
    line = [LineInput("Widget", Decimal(1), Decimal("9.99"), Decimal(20))]

    def work(index: int) -> None:
        for _ in range(per_thread):
            services.create_invoice(people[index % len(people)], line)

    assert run_threads(work) == []
    numbers = list(Document.objects.filter(type=DocumentType.INVOICE).values_list("number", flat=True))
    total = THREADS * per_thread
    assert len(numbers) == len(set(numbers)) == total
    assert sorted(numbers) == [format_number("INV-", n) for n in range(1, total + 1)]
    per_customer = Counter(Document.objects.values_list("customer_id", flat=True))
    assert per_customer == {pk: total // len(people) for pk in people}
    assert ledger_is_clean() == {}


def test_concurrent_allocations_never_overspend_one_credit_note() -> None:
    customers.create_bank_account(name="Main GBP", currency="GBP", is_default=True)
    alice = customers.create_customer(name="Alice Brown", currency="GBP")
    credit = services.create_credit_note(alice.pk, reason="goodwill", amount=Money(50000, "GBP"))
    # 8 × 70.00 of invoices against a 500.00 credit: both sides' limits are reached.
    invoices = [
        services.create_invoice(alice.pk, [LineInput("Item", Decimal(1), Decimal("70.00"), Decimal(0))]).pk
        for _ in range(THREADS)
    ]
    refusals: list[str] = []
    lowest_seen: list[int] = []
    stop = threading.Event()

    def watch() -> None:
        try:
            while not stop.is_set():
                lowest_seen.append(Document.objects.get(pk=credit.pk).outstanding_minor)
        finally:
            connection.close()

    def work(index: int) -> None:
        for _ in range(10):
            try:
                services.allocate(credit.pk, invoices[index], Money(1000, "GBP"))
            except ReceivablesError as refused:
                refusals.append(refused.code)

    watcher = threading.Thread(target=watch)
    watcher.start()
    errors = run_threads(work)
    stop.set()
    watcher.join(timeout=60)

    assert errors == []
    assert set(refusals) <= {"exceeds_source_outstanding", "exceeds_target_outstanding", "source_closed"}
    applied = list(Allocation.objects.filter(source_id=credit.pk).values_list("amount_minor", flat=True))
    assert sum(applied) == 50000 == len(applied) * 1000
    assert len(applied) + len(refusals) == THREADS * 10
    assert Document.objects.get(pk=credit.pk).outstanding_minor == 0
    assert min(lowest_seen) >= 0
    for invoice in Document.objects.filter(pk__in=invoices):
        assert 0 <= invoice.outstanding_minor <= invoice.total_minor
        assert invoice.total_minor - invoice.outstanding_minor <= 7000
    assert ledger_is_clean() == {}
