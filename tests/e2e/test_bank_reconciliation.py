"""Bank reconciliation clicked through: import a statement, accept a suggestion, split a line over two invoices."""

from __future__ import annotations

import re
from typing import Any

import pytest

from receivables.documents.models import Document
from tests.banking.conftest import SAMPLES, make_book
from tests.conftest import ledger_is_clean
from tests.e2e.conftest import needs_chromium

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def book(bank: dict) -> dict[str, Any]:
    return make_book(bank)


def _open_line(page: Any, payer: str) -> Any:
    page.locator("#lines tr", has_text=payer).get_by_role("link", name="Open").click()
    panel = page.locator("#panel .line-panel")
    panel.wait_for()
    return panel


def test_import_accept_a_suggestion_and_split_a_line(signed_in: Any, book: dict[str, Any]) -> None:
    page = signed_in
    page.get_by_role("link", name="Bank", exact=True).click()
    page.get_by_role("heading", name="Bank statements").wait_for()
    page.get_by_label("Statement file").set_input_files(str(SAMPLES / "camt053_statement.xml"))
    page.get_by_label("Bank account").select_option(label="Main GBP (GBP)")
    page.get_by_role("button", name="Import and match").click()
    page.get_by_text("Imported 6 lines: 3 matched, 1 suggested, 1 unmatched").wait_for()
    assert page.locator("#lines tr", has_text=re.compile("ALICE BROWN")).locator(".badge").inner_text() == "matched"

    # J SMITH paid 60.00: Dan Evans and Erin Ford both owe that much; the clerk knows it is Dan.
    panel = _open_line(page, "J SMITH")
    assert panel.locator(".suggestion").count() == 2
    panel.get_by_role("button", name="Accept the suggestion for Dan Evans").click()
    page.get_by_text("matched.").first.wait_for()
    assert page.locator("#lines tr", has_text="J SMITH").locator(".badge").inner_text() == "matched"
    assert Document.objects.get(number="INV-000006").outstanding_minor == 0

    # 45.00 from Unknown Trading: part for Alice's INV-000005, part for Bob's INV-000010.
    panel = _open_line(page, "Unknown Trading")
    search = panel.get_by_label("Find open invoices (number, customer name or number)")
    for number, amount in (("INV-000005", "20.00"), ("INV-000010", "25.00")):
        search.fill(number)
        panel.get_by_role("button", name=f"Add {number}").click()
        panel.get_by_label("Amount for " + number).fill(amount)
    assert panel.get_by_label("INV-000005", exact=True).is_checked()
    panel.get_by_role("button", name="Match", exact=True).click()
    page.get_by_text("Line of £45.00 from Unknown Trading matched.").wait_for()
    assert Document.objects.get(number="INV-000005").outstanding_minor == 18000
    assert Document.objects.get(number="INV-000010").outstanding_minor == 37500
    assert ledger_is_clean() == {}
