"""``receivables bank import`` and the reconciliation invariants ``ledger verify`` checks."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from receivables.banking.checks import bank_movement_matches_lines, lines_match_payments
from receivables.banking.models import BankLine, LinePayment
from receivables.cli import find
from receivables.core.checks import CHECKS
from receivables.documents.models import Document
from receivables.ledger.models import Posting
from tests.banking.conftest import SAMPLES, import_sample

pytestmark = pytest.mark.django_db


def test_the_command_imports_and_prints_the_counts(book: dict[str, Any]) -> None:
    found = find(["bank", "import", "x.xml", "--bank-account", "1"])
    assert found is not None
    assert (found[0].target, found[1]) == ("bank_import", ["x.xml", "--bank-account", "1"])
    out = StringIO()
    call_command("bank_import", str(SAMPLES / "camt053_statement.xml"), bank_account=str(book["bank"].pk), stdout=out)
    assert out.getvalue().strip().endswith("imported 6, matched 3, suggested 1, unmatched 1, skipped 0")
    again = StringIO()
    call_command("bank_import", str(SAMPLES / "camt053_statement.xml"), bank_account=str(book["bank"].pk), stdout=again)
    assert "imported 0, matched 0, suggested 0, unmatched 0, skipped 6" in again.getvalue()


def test_the_command_refuses_with_the_reason(book: dict[str, Any], tmp_path: Any) -> None:
    with pytest.raises(CommandError, match="No such file"):
        call_command("bank_import", str(tmp_path / "missing.xml"), bank_account=str(book["bank"].pk))
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<Document")
    with pytest.raises(CommandError, match="malformed_file"):
        call_command("bank_import", str(bad), bank_account=str(book["bank"].pk), format="camt053")
    with pytest.raises(CommandError, match="bank_account_not_found"):
        call_command("bank_import", str(bad), bank_account="424242")


def test_the_checks_are_registered_and_hold_after_an_import(book: dict[str, Any]) -> None:
    import_sample("mt940_statement.sta", book["bank"])
    assert CHECKS["every matched bank line equals its payments"] is lines_match_payments
    assert list(lines_match_payments()) == [] and list(bank_movement_matches_lines()) == []


def test_a_matched_line_whose_payment_differs_is_reported(book: dict[str, Any]) -> None:
    import_sample("mt940_statement.sta", book["bank"])
    line = BankLine.objects.filter(status="matched").first()
    BankLine.objects.filter(pk=line.pk).update(amount_minor=line.amount_minor + 1)
    assert [p for p in lines_match_payments() if f"bank line {line.pk}:" in p]
    assert [p for p in bank_movement_matches_lines() if "matched lines add to" in p]


def test_a_payment_posted_to_another_account_is_reported(book: dict[str, Any], bank: Any) -> None:
    import_sample("mt940_statement.sta", book["bank"])
    payment = LinePayment.objects.first().payment
    reserve = bank[("GBP", "Reserve GBP")].ledger_account
    Posting.objects.filter(entry__document=payment, account=book["bank"].ledger_account).update(account=reserve)
    assert list(bank_movement_matches_lines()) != []
    assert Document.objects.filter(pk=payment.pk).exists()
