"""Every screen at a laptop and a phone width: it loads, htmx runs, no console error, no page wider than the phone.

The screenshots land in test-artifacts/ for people to look at.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from receivables.customers import services as customer_services
from receivables.documents import services as documents
from receivables.money import Money
from receivables.subscriptions import services as subscriptions
from tests.e2e.conftest import ARTIFACTS, needs_chromium

# Printable pages carry no htmx: nothing on paper is interactive.
PAPER = {"statement", "invoice_print"}

pytestmark = [pytest.mark.e2e, needs_chromium, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def book(bank: dict) -> dict[str, Any]:
    customer = customer_services.create_customer(name="Alice Brown", currency="GBP", email="alice@example.com")
    day = datetime.date(2026, 3, 2)
    credit = documents.create_credit_note(customer.pk, reason="returned_goods", amount=Money(2500, "GBP"), date=day)
    invoice = documents.create_invoice(
        customer.pk, [documents.LineInput("Cable", Decimal(2), Decimal("10.00"), Decimal("20"))], date=day
    )
    documents.allocate(credit.pk, invoice.pk, Money(2000, "GBP"))
    recently = timezone.localdate() - datetime.timedelta(days=10)
    period = {"duration": "P1M", "setup_fee": "10.00", "recurring_fee": "30.00", "tax_rate": "20"}
    policy = {"full_refund_days": 30, "after_full_refund_period": "prorated_recurring_fee"}
    plan = subscriptions.create_plan("Hosting", "GBP", [{**period, "refund_policy": policy}])
    sold = subscriptions.subscribe(customer.pk, plan.pk, plan.periods.get().pk, "tok_visa", start=recently)
    return {"customer": customer.pk, "credit": credit.pk, "invoice": invoice.pk, "subscription": sold.subscription.pk}


@pytest.mark.parametrize("page", [1280, 390], indirect=True)
def test_every_screen_at_two_widths(signed_in: Any, book: dict[str, Any], live_server: Any) -> None:
    page = signed_in
    width = page.viewport_size["width"]
    c = book["customer"]
    screens = {
        "home": "/",
        "customers": "/customers/?initial=A",
        "customer": f"/customers/{c}/",
        "accounts": f"/customers/{c}/accounts/",
        "payment": f"/customers/{c}/payment/",
        "credit_note": f"/customers/{c}/credit-note/",
        "invoice": f"/customers/{c}/invoice/",
        "allocate": f"/customers/{c}/allocate/",
        "refund_os": f"/customers/{c}/refund/",
        "statement": f"/customers/{c}/statement/",
        "invoice_print": f"/documents/{book['invoice']}/",
        "cancel_wizard": f"/subscriptions/{book['subscription']}/cancel/",
        "held_refunds": "/refunds/held/",
        "subscriptions": "/subscriptions/",
        "plans": "/plans/",
        "bank_accounts": "/bank-accounts/",
        "ledger": "/ledger/?verify=1",
    }
    ARTIFACTS.mkdir(exist_ok=True)
    for name, path in screens.items():
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, path
        if name not in PAPER:
            assert page.evaluate("typeof window.htmx") == "object", f"htmx did not load on {path}"
        if name == "cancel_wizard":
            page.locator("#quote-amount").wait_for()
        page.screenshot(path=str(ARTIFACTS / f"screen_{name}_{width}.png"), full_page=True)
        # Wide tables scroll inside their own box; the page itself never scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1, path
