"""Matching worked examples on a real book: what becomes a payment, what is suggested, what waits."""

from __future__ import annotations

from typing import Any

import pytest

from receivables.banking.models import BankLine, LinePayment, PayerAccount
from receivables.documents.models import Allocation, Document, DocumentType
from tests.bank_files import camt053
from tests.banking.conftest import import_bytes, import_sample
from tests.conftest import ledger_is_clean

pytestmark = pytest.mark.django_db


def state(number: str) -> tuple[str, int]:
    document = Document.objects.get(number=number)
    return document.status, document.outstanding_minor


def only_line(result: Any) -> BankLine:
    return BankLine.objects.get(statement=result.statement)


def test_a_certain_match_becomes_a_bank_transfer_into_the_statements_account(book: dict[str, Any]) -> None:
    result = import_bytes(
        camt053([{"amount": "120.00", "reference": "INV-000001", "iban": "GB33BUKB20201555555555"}]), book["bank"]
    )
    line = only_line(result)
    payment = LinePayment.objects.get(line=line).payment
    assert (payment.type, payment.method, payment.bank_account_id) == ("payment", "bank_transfer", book["bank"].pk)
    assert (payment.total_minor, payment.outstanding_minor, payment.date.isoformat()) == (12000, 0, "2026-12-01")
    assert state("INV-000001") == ("closed", 0)
    assert PayerAccount.objects.filter(iban="GB33BUKB20201555555555", customer=book["people"][0]).exists()
    assert ledger_is_clean() == {}


def test_amount_only_is_suggested(book: dict[str, Any]) -> None:
    line = only_line(import_bytes(camt053([("75.25", "thanks")]), book["bank"]))
    assert line.status == "suggested"
    assert [(s["customer_name"], s["allocations"][0]["number"]) for s in line.suggestions] == [
        ("Erin Ford", "INV-000008")
    ]
    assert not Document.objects.filter(type=DocumentType.PAYMENT).exists()


def test_two_customers_with_the_same_amount_open_are_suggested_not_matched(book: dict[str, Any]) -> None:
    line = only_line(import_bytes(camt053([("60.00", "December")]), book["bank"]))
    assert line.status == "suggested"
    assert sorted(s["customer_name"] for s in line.suggestions) == ["Dan Evans", "Erin Ford"]


def test_one_line_pays_several_invoices_of_one_customer(book: dict[str, Any]) -> None:
    line = only_line(
        import_bytes(
            camt053([{"amount": "1000.00", "reference": "CUS-000002 Nov/Dec", "name": "Bob Carter"}]), book["bank"]
        )
    )
    assert line.status == "matched"
    assert [state(n) for n in ("INV-000010", "INV-000011")] == [("closed", 0), ("closed", 0)]
    assert state("INV-000003") == ("open", 25000)


def test_a_partial_payment_leaves_the_invoice_open(book: dict[str, Any]) -> None:
    import_bytes(camt053([("50.00", "part of INV-000003")]), book["bank"])
    assert state("INV-000003") == ("open", 20000)


def test_a_short_payment_within_tolerance_is_written_off_in_the_same_step(book: dict[str, Any]) -> None:
    result = import_sample("mt940_statement.sta", book["bank"])
    carol = BankLine.objects.get(statement=result.statement, amount_minor=9950)
    assert carol.status == "matched"
    write_off = carol.write_off
    assert (write_off.type, write_off.total_minor, write_off.status, write_off.invoice.number) == (
        "write_off",
        50,
        "closed",
        "INV-000004",
    )
    assert state("INV-000004") == ("closed", 0)
    assert ledger_is_clean() == {}


def test_an_overpayment_stays_on_account(book: dict[str, Any]) -> None:
    result = import_sample("mt940_statement.sta", book["bank"])
    alice = BankLine.objects.get(statement=result.statement, amount_minor=30000)
    payment = LinePayment.objects.get(line=alice).payment
    assert state("INV-000005") == ("closed", 0)
    assert (payment.status, payment.outstanding_minor) == ("open", 10000)


def test_the_payer_iban_learnt_from_one_statement_matches_the_next(book: dict[str, Any]) -> None:
    import_sample("camt053_statement.xml", book["bank"])  # Bob paid INV-000003 from GB94BARC...
    later = import_bytes(
        camt053(
            [
                {
                    "amount": "400.00",
                    "reference": "thanks",
                    "iban": "GB94BARC10201530093459",
                    "name": "BOB CARTER LTD",
                    "ref": "X1",
                }
            ]
        ),
        book["bank"],
    )
    line = only_line(later)
    assert line.status == "matched"
    assert [r for r in line.suggestions[0]["reasons"]] == ["known_iban", "exact_amount", "name"]
    assert state("INV-000010") == ("closed", 0)


def test_an_invalid_iban_teaches_nothing(book: dict[str, Any]) -> None:
    import_bytes(camt053([{"amount": "120.00", "reference": "INV-000001", "iban": "GB00NOTANIBAN"}]), book["bank"])
    assert not PayerAccount.objects.exists()


def test_two_lines_for_one_invoice_do_not_pay_it_twice(book: dict[str, Any]) -> None:
    result = import_bytes(camt053([("120.00", "INV-000001"), ("120.00", "INV-000001")]), book["bank"])
    assert (result.matched, result.suggested) == (1, 1)
    assert Allocation.objects.filter(target__number="INV-000001").count() == 1
    assert ledger_is_clean() == {}
