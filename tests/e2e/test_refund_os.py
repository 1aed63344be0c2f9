"""The first seed story clicked through: refund the £5 left on a £25 credit note from the accounts screen."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest

from receivables.customers import services as customer_services
from receivables.documents import services as documents
from receivables.documents.models import Document, DocumentType
from receivables.money import Money
from tests.conftest import ledger_is_clean
from tests.e2e.conftest import needs_chromium

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def story(bank: dict) -> dict[str, Any]:
    for name in ("Adam Ant", "Bella Cole", "Zoe Wynn"):
        customer_services.create_customer(name=name, currency="GBP")
    customer = customer_services.create_customer(name="Alice Brown", currency="GBP", email="alice@example.com")
    day = datetime.date(2026, 3, 2)
    credit = documents.create_credit_note(customer.pk, reason="returned_goods", amount=Money(2500, "GBP"), date=day)
    invoice = documents.create_invoice(
        customer.pk, [documents.LineInput("Cable", Decimal(2), Decimal("10.00"), Decimal(0))], date=day
    )
    documents.allocate(credit.pk, invoice.pk, Money(2000, "GBP"))
    return {"customer": customer, "credit": credit, "invoice": invoice}


def _refund_screen(page: Any, story: dict[str, Any]) -> Any:
    """Admin centre → My Customers (A–Z, then search) → details → View Accounts → Refund O/S."""
    page.get_by_role("link", name="My Customers").first.click()
    page.get_by_role("navigation", name="Filter by first letter").get_by_role("link", name="A", exact=True).click()
    rows = page.locator("table tbody tr")
    assert rows.filter(has_text="Alice Brown").count() == 1
    assert rows.filter(has_text="Bella Cole").count() == 0
    page.get_by_label("Search by name, number or email").fill("alice")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Alice Brown").click()
    page.get_by_role("link", name="View Accounts").click()
    page.get_by_role("heading", name="Statement").wait_for()
    page.get_by_role("link", name="Refund O/S").click()
    row = page.locator("#refundables tr", has_text=story["credit"].number)
    assert row.locator("td.num").all_inner_texts() == ["£25.00", "£5.00"]
    row.get_by_role("radio").check()
    return row


def _refunds() -> int:
    return Document.objects.filter(type=DocumentType.REFUND).count()


def test_refund_the_five_pounds_left_on_the_credit_note(signed_in: Any, story: dict[str, Any]) -> None:
    page = signed_in
    _refund_screen(page, story)
    banks = page.get_by_label("Bank account")
    assert banks.locator("option:checked").inner_text().startswith("Main GBP")
    assert "Main EUR" not in banks.inner_text()
    banks.select_option(label="Reserve GBP (GBP)")
    page.get_by_role("button", name="Refund Credit Note").click()
    page.get_by_role("heading", name="Create a new refund?").wait_for()
    page.get_by_role("button", name="Yes").click()
    page.get_by_role("heading", name="Statement").wait_for()

    refund = Document.objects.get(type=DocumentType.REFUND)
    statement = page.locator("#statement")
    refund_row = statement.locator(f'tr[data-number="{refund.number}"]')
    assert "Refund" in refund_row.inner_text() and "£5.00" in refund_row.inner_text()
    assert statement.locator(f'tr[data-number="{story["credit"].number}"] td.os').inner_text() == "£0.00"
    assert page.locator("#balance").inner_text() == "£0.00"
    assert refund.bank_account.name == "Reserve GBP"
    assert ledger_is_clean() == {}


def test_no_creates_nothing(signed_in: Any, story: dict[str, Any]) -> None:
    page = signed_in
    _refund_screen(page, story)
    page.get_by_role("button", name="Refund Credit Note").click()
    page.get_by_role("heading", name="Create a new refund?").wait_for()
    page.get_by_role("button", name="No").click()
    page.get_by_text("No refund was created.").wait_for()
    assert _refunds() == 0
    assert page.locator("#balance").inner_text() == "-£5.00"


def test_more_than_outstanding_is_refused_beside_the_amount(signed_in: Any, story: dict[str, Any]) -> None:
    page = signed_in
    _refund_screen(page, story)
    page.get_by_label("Amount to refund (GBP)").fill("5.01")
    page.get_by_role("button", name="Refund Credit Note").click()
    error = page.locator("#amount-error")
    assert "£5.00" in error.inner_text()
    assert page.get_by_label("Amount to refund (GBP)").get_attribute("aria-describedby") == "amount-error"
    assert _refunds() == 0


@pytest.mark.parametrize("page", [390], indirect=True)
def test_accounts_screen_on_a_phone(signed_in: Any, story: dict[str, Any], live_server: Any) -> None:
    page = signed_in
    page.goto(f"{live_server.url}/customers/{story['customer'].pk}/accounts/")
    page.get_by_role("link", name="Refund O/S").wait_for()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, f"the page is {width}px wide on a 390px phone"
