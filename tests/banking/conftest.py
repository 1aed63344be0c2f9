"""A small book whose numbers the sample statements under tests/fixtures/bank name."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from receivables.banking import importing
from receivables.customers import services as customers
from receivables.documents import services as documents
from receivables.documents.services import LineInput

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "bank"
PEOPLE = ("Alice Brown", "Bob Carter Ltd", "Carol Diaz", "Dan Evans", "Erin Ford")
# (customer index, amount): INV-000001 ... INV-000011 in this order.
INVOICES = (
    (0, "120.00"),
    (0, "80.00"),
    (1, "250.00"),
    (2, "100.00"),
    (0, "200.00"),
    (3, "60.00"),
    (4, "60.00"),
    (4, "75.25"),
    (3, "90.00"),
    (1, "400.00"),
    (1, "600.00"),
)


def invoice(customer_id: int, amount: str, day: str = "2026-11-01") -> Any:
    line = [LineInput("Services", Decimal(1), Decimal(amount), Decimal(0))]
    return documents.create_invoice(customer_id, line, date=datetime.date.fromisoformat(day))


def make_book(bank: Any) -> dict[str, Any]:
    """Five customers (CUS-000001 Alice Brown ...) and eleven open invoices (INV-000001 ...)."""
    people = [customers.create_customer(name=name, currency="GBP") for name in PEOPLE]
    invoices = [invoice(people[who].pk, amount) for who, amount in INVOICES]
    return {"bank": bank[("GBP", "Main GBP")], "people": people, "invoices": invoices}


@pytest.fixture
def book(bank: Any) -> dict[str, Any]:
    return make_book(bank)


def import_bytes(data: bytes, bank_account: Any, **options: Any) -> importing.ImportResult:
    return importing.import_statement(io.BytesIO(data), bank_account.pk, **options)


def import_sample(name: str, bank_account: Any, **options: Any) -> importing.ImportResult:
    return import_bytes((SAMPLES / name).read_bytes(), bank_account, file_name=name, **options)
