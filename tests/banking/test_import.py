"""Each format's sample imports to the expected lines; bad files are refused and write nothing."""

from __future__ import annotations

from typing import Any

import pytest

from receivables.banking import importing
from receivables.banking.formats.base import FileRefused
from receivables.banking.models import BankLine, BankStatement
from receivables.core.errors import ReceivablesError
from tests.bank_files import camt053
from tests.banking.conftest import SAMPLES, import_bytes, import_sample
from tests.conftest import ledger_is_clean

pytestmark = pytest.mark.django_db

CSV_MAPPING = {
    "date": "Date",
    "date_format": "%d/%m/%Y",
    "id": "Transaction ID",
    "reference": "Description",
    "counterparty": "Payer",
    "iban": "Payer IBAN",
    "credit": "Paid in",
    "debit": "Paid out",
}


def lines_of(result: importing.ImportResult) -> list[tuple]:
    return list(
        BankLine.objects.filter(statement=result.statement)
        .order_by("position")
        .values_list("direction", "amount_minor", "counterparty", "status")
    )


def test_camt053_with_a_batch_booking_imports_each_transaction(book: dict[str, Any]) -> None:
    result = import_sample("camt053_statement.xml", book["bank"])
    assert result.statement.format == "camt053"
    assert (result.statement.opening_minor, result.statement.closing_minor) == (100000, 154250)
    assert lines_of(result) == [
        ("credit", 12000, "ALICE BROWN", "matched"),
        ("credit", 25000, "Bob Carter Ltd", "matched"),
        ("credit", 8000, "Alice Brown", "matched"),
        ("credit", 6000, "J SMITH", "suggested"),
        ("credit", 4500, "Unknown Trading", "unmatched"),
        ("debit", 1250, "NatWest", "ignored"),
    ]
    assert (result.imported, result.matched, result.suggested, result.unmatched, result.skipped) == (6, 3, 1, 1, 0)
    batch = BankLine.objects.get(bank_reference="NWBK-26120100002-1")
    assert (batch.iban, batch.reference) == ("GB94BARC10201530093459", "INV000003")
    assert ledger_is_clean() == {}


def test_mt940_reads_structured_86_details(book: dict[str, Any]) -> None:
    result = import_sample("mt940_statement.sta", book["bank"])
    carol = BankLine.objects.get(statement=result.statement, amount_minor=9950)
    assert (carol.counterparty, carol.iban) == ("Carol Diaz", "GB82WEST12345698765432")
    assert "INV-000004" in carol.reference
    assert lines_of(result)[2] == ("debit", 2000, "", "ignored")
    assert (result.statement.opening_minor, result.statement.closing_minor) == (154250, 192200)


def test_ofx_lines_carry_fitid_and_name(book: dict[str, Any]) -> None:
    result = import_sample("ofx_statement.ofx", book["bank"])
    assert result.statement.format == "ofx"
    assert [line[:3] for line in lines_of(result)] == [
        ("credit", 15000, "Dan Evans"),
        ("credit", 7525, "Erin Ford"),
        ("debit", 999, "Software Co"),
    ]
    assert BankLine.objects.filter(identity="ref:20261204-0002").exists()


def test_csv_is_read_by_the_saved_mapping(book: dict[str, Any]) -> None:
    with pytest.raises(FileRefused) as refused:
        import_sample("csv_statement.csv", book["bank"])
    assert refused.value.code == "unknown_format"
    importing.save_csv_mapping(book["bank"].pk, CSV_MAPPING)
    result = import_sample("csv_statement.csv", book["bank"])
    assert result.statement.format == "csv"
    assert [line[:2] for line in lines_of(result)] == [("credit", 6000), ("credit", 100000), ("debit", 2500)]
    assert BankLine.objects.get(identity="ref:TX-9002").iban == "GB94BARC10201530093459"


def test_the_same_file_twice_adds_no_line(book: dict[str, Any]) -> None:
    first = import_sample("camt053_statement.xml", book["bank"])
    second = import_sample("camt053_statement.xml", book["bank"])
    assert (second.imported, second.skipped, second.matched) == (0, 6, 0)
    assert BankLine.objects.count() == first.imported == 6
    assert ledger_is_clean() == {}


def test_overlapping_files_add_only_the_new_lines(book: dict[str, Any]) -> None:
    monday = [{"amount": "10.00", "reference": "a", "ref": "R1"}, {"amount": "20.00", "reference": "b", "ref": "R2"}]
    tuesday = [monday[1], {"amount": "30.00", "reference": "c", "ref": "R3"}]
    import_bytes(camt053(monday), book["bank"])
    later = import_bytes(camt053(tuesday, opening="10.00"), book["bank"])
    assert (later.imported, later.skipped) == (1, 1)
    assert sorted(BankLine.objects.values_list("amount_minor", flat=True)) == [1000, 2000, 3000]


def test_lines_without_a_bank_reference_are_told_apart_by_position(book: dict[str, Any]) -> None:
    importing.save_csv_mapping(book["bank"].pk, {"date": "Date", "amount": "Amount", "reference": "Ref"})
    data = b"Date,Amount,Ref\n2026-12-01,5.00,coffee\n2026-12-01,5.00,coffee\n"
    first = import_bytes(data, book["bank"])
    again = import_bytes(data + b"2026-12-01,5.00,coffee\n", book["bank"])
    assert (first.imported, again.imported, again.skipped) == (2, 1, 2)


def test_a_closing_balance_that_does_not_follow_refuses_the_whole_file(book: dict[str, Any]) -> None:
    data = camt053([("10.00", "INV-000001")], closing="11.00")
    with pytest.raises(FileRefused) as refused:
        import_bytes(data, book["bank"])
    assert refused.value.code == "balance_mismatch"
    assert not BankStatement.objects.exists() and not BankLine.objects.exists()


ENTITY_BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE Document [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
<BkToCstmrStmt><Stmt><Id>&d;</Id></Stmt></BkToCstmrStmt></Document>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE Document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
<BkToCstmrStmt><Stmt><Id>&secret;</Id></Stmt></BkToCstmrStmt></Document>
"""


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (ENTITY_BOMB, "xml_dtd_forbidden"),
        (EXTERNAL_ENTITY, "xml_dtd_forbidden"),
        (camt053([("10.00", "x")])[:-60], "malformed_file"),
        (b"<html><body>not a statement</body></html>", "wrong_format"),
        (b"\x00\x01\x02 binary junk", "unknown_format"),
        ((SAMPLES / "mt940_statement.sta").read_bytes()[:-40], "malformed_file"),
        (b"OFXHEADER:100\nDATA:OFXSGML\n\n<OFX><BANKMSGSRSV1>", "malformed_file"),
    ],
    ids=["entity-bomb", "external-entity", "truncated-xml", "other-xml", "binary", "truncated-mt940", "broken-ofx"],
)
def test_hostile_and_broken_files_are_refused_and_write_nothing(book: dict[str, Any], data: bytes, code: str) -> None:
    with pytest.raises(ReceivablesError) as refused:
        import_bytes(data, book["bank"])
    assert refused.value.code == code
    assert refused.value.field == "file"
    assert not BankStatement.objects.exists() and not BankLine.objects.exists()


def test_a_file_in_another_currency_is_refused(book: dict[str, Any], bank: Any) -> None:
    with pytest.raises(FileRefused) as refused:
        import_bytes(camt053([("10.00", "x")], currency="EUR"), bank[("GBP", "Main GBP")])
    assert refused.value.code == "currency_mismatch"


def test_an_mt940_statement_whose_balances_do_not_follow_is_refused(book: dict[str, Any]) -> None:
    data = (SAMPLES / "mt940_statement.sta").read_bytes().replace(b":62F:C261203GBP1922,00", b":62F:C261203GBP1922,01")
    with pytest.raises(FileRefused) as refused:
        import_bytes(data, book["bank"])
    assert refused.value.code == "balance_mismatch"
    assert not BankLine.objects.exists()


def test_a_csv_row_that_breaks_the_mapping_refuses_the_file(book: dict[str, Any]) -> None:
    importing.save_csv_mapping(book["bank"].pk, {"date": "Date", "amount": "Amount", "date_format": "%d/%m/%Y"})
    good = b"Date,Amount\n01/12/2026,5.00\n"
    for bad, code in (
        (good + b"2026-12-01,5.00\n", "malformed_file"),
        (good + b"02/12/2026,5.001\n", "malformed_file"),
        (b"When,How much\n01/12/2026,5.00\n", "wrong_format"),
        (good + b"\xff\xfe\n", "malformed_file"),
    ):
        with pytest.raises(FileRefused) as refused:
            import_bytes(bad, book["bank"])
        assert refused.value.code == code, bad
    assert not BankLine.objects.exists()


def test_a_csv_mapping_is_checked_before_it_is_saved(book: dict[str, Any]) -> None:
    for mapping, field in (
        ({"amount": "A"}, "mapping.date"),
        ({"date": "D"}, "mapping"),
        ({"date": "D", "amount": "A", "credit": "C"}, "mapping"),
        ({"date": "D", "amount": "A", "colour": "x"}, "mapping"),
        ({"date": "D", "amount": "A", "decimal": ";"}, "mapping.decimal"),
    ):
        with pytest.raises(ReceivablesError) as refused:
            importing.save_csv_mapping(book["bank"].pk, mapping)
        assert refused.value.field == field, mapping


def test_decimal_commas_and_bracketed_debits(book: dict[str, Any]) -> None:
    mapping = {"date": "Datum", "amount": "Betrag", "reference": "Text", "decimal": ",", "delimiter": ";"}
    importing.save_csv_mapping(book["bank"].pk, mapping)
    result = import_bytes(
        "Datum;Betrag;Text\n2026-12-01;1.234,56;INV-000003\n2026-12-01;(7,50);Gebühr\n".encode(), book["bank"]
    )
    assert lines_of(result) == [("credit", 123456, "", "matched"), ("debit", 750, "", "ignored")]
