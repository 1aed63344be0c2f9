"""The second seed story clicked through: cancel on day 10 with the plan's policy, then refund the held refund."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from receivables.customers import services as customer_services
from receivables.documents.models import Document, DocumentType
from tests.conftest import ledger_is_clean
from tests.e2e.conftest import needs_chromium

subscriptions = pytest.importorskip(
    "receivables.subscriptions.services", reason="needs the subscriptions area (receivables.subscriptions.services)"
)

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def subscription(bank: dict) -> Any:
    """£10 setup + £30 a month, 20% tax, full refund for 30 days, then prorated; paid by card 10 days ago."""
    period = {"duration": "P1M", "setup_fee": "10.00", "recurring_fee": "30.00", "tax_rate": "20"}
    policy = {
        "non_refundable_amount": "0",
        "full_refund_days": 30,
        "after_full_refund_period": "prorated_recurring_fee",
    }
    plan = subscriptions.create_plan("Hosting", "GBP", [{**period, "refund_policy": policy}])
    customer = customer_services.create_customer(name="Eve Marsh", currency="GBP")
    start = timezone.localdate() - datetime.timedelta(days=10)
    result = subscriptions.subscribe(customer.pk, plan.pk, plan.periods.get().pk, "tok_visa", start=start)
    return result.subscription


def test_cancel_on_day_ten_then_refund_the_held_refund(signed_in: Any, subscription: Any) -> None:
    page = signed_in
    page.get_by_role("link", name="My Customers").first.click()
    page.get_by_label("Search by name, number or email").fill("Eve")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Eve Marsh").click()
    page.get_by_role("link", name=f"Cancel subscription {subscription.pk}").click()

    quote = page.locator("#quote-amount")
    assert quote.inner_text() == "£48.00"  # within 30 days: setup + recurring paid, with tax
    page.get_by_label("No refund").check()
    page.locator("#quote-amount", has_text="£0.00").wait_for()
    page.get_by_label("The plan's policy").check()
    page.locator("#quote-amount", has_text="£48.00").wait_for()
    page.get_by_label("Refund to the customer's card").check()
    page.get_by_label("Comment (optional)").fill("Moving to another provider")
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name=f"Cancel subscription {subscription.pk}?").wait_for()
    page.get_by_role("button", name="Yes, cancel it").click()
    page.get_by_role("heading", name="Statement").wait_for()

    memo = Document.objects.get(type=DocumentType.CREDIT_NOTE, reason="cancellation")
    refund = Document.objects.get(type=DocumentType.REFUND)
    assert (memo.total_minor, refund.total_minor, refund.status) == (4800, 4800, "hold")
    statement = page.locator("#statement")
    assert "£48.00" in statement.locator(f'tr[data-number="{memo.number}"]').inner_text()
    assert "Hold" in statement.locator(f'tr[data-number="{refund.number}"]').inner_text()

    page.get_by_role("link", name="Held refunds").first.click()
    held = page.locator(f'#held tr[data-number="{refund.number}"]')
    assert "Eve Marsh" in held.inner_text() and "£48.00" in held.inner_text()
    held.get_by_role("link", name=f"Edit {refund.number}").click()
    choice = page.get_by_label("Charge to refund against")
    charge = choice.locator("option", has_text="left to refund £48.00")
    choice.select_option(value=charge.get_attribute("value"))
    page.get_by_role("button", name="Save").click()
    page.get_by_text(f"Refund {refund.number} saved").wait_for()
    page.get_by_role("button", name="Refund", exact=True).click()
    page.locator("#refund-status", has_text="Refunded").wait_for()
    refund.refresh_from_db()
    assert refund.status == "refunded"
    assert ledger_is_clean() == {}
