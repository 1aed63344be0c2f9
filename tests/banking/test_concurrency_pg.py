"""Two people matching the same bank line at once, on PostgreSQL: one wins, the other gets 409, one payment."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection

from receivables.banking import decisions
from receivables.banking.models import BankLine, LinePayment
from receivables.core.errors import Conflict
from receivables.documents.models import Allocation, Document, DocumentType
from tests.bank_files import camt053
from tests.banking.conftest import import_bytes
from tests.conftest import ledger_is_clean, needs_postgres

pytestmark = [needs_postgres, pytest.mark.django_db(transaction=True)]

PEOPLE = 6


def test_the_same_line_matched_by_several_people_at_once_is_paid_once(book: dict[str, Any]) -> None:
    result = import_bytes(camt053([("60.00", "December")]), book["bank"])
    line = BankLine.objects.get(statement=result.statement)
    assert line.status == "suggested"
    targets = [s["allocations"][0]["target"] for s in line.suggestions]  # Dan's and Erin's 60.00
    start = threading.Barrier(PEOPLE)
    outcomes: list[str] = []

    def person(index: int) -> None:
        pick = [decisions.Pick(targets[index % len(targets)], "60.00")]
        try:
            start.wait()
            decisions.match_line(line.pk, pick)
            outcomes.append("matched")
        except Conflict as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=person, args=(index,)) for index in range(PEOPLE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(outcomes) == ["line_already_matched"] * (PEOPLE - 1) + ["matched"]
    assert LinePayment.objects.filter(line=line).count() == 1
    assert Document.objects.filter(type=DocumentType.PAYMENT).count() == 1
    assert sorted(Document.objects.filter(pk__in=targets).values_list("outstanding_minor", flat=True)) == [0, 6000]
    assert ledger_is_clean() == {}


def test_matching_while_the_import_matches_never_pays_twice(book: dict[str, Any]) -> None:
    """A person and the rules on the same invoice: the invoice is paid once, the later line suggested."""
    result = import_bytes(camt053([("120.00", "someone's money")]), book["bank"])
    waiting = BankLine.objects.get(statement=result.statement)
    invoice = Document.objects.get(number="INV-000001")
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def by_hand() -> None:
        try:
            start.wait()
            decisions.match_line(waiting.pk, [decisions.Pick(invoice.pk, "120.00")])
        except Conflict as error:
            errors.append(error)
        finally:
            connection.close()

    def by_rules() -> None:
        try:
            start.wait()
            import_bytes(camt053([{"amount": "120.00", "reference": "INV-000001", "ref": "OTHER"}]), book["bank"])
        finally:
            connection.close()

    threads = [threading.Thread(target=by_hand), threading.Thread(target=by_rules)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    invoice.refresh_from_db()
    assert invoice.outstanding_minor == 0
    assert sum(LinePayment.objects.values_list("payment__total_minor", flat=True)) == 12000
    assert Allocation.objects.filter(target=invoice).count() == 1
    assert len(errors) <= 1
    assert ledger_is_clean() == {}
