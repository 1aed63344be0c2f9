"""Every bad input of issue 2, through the API: a 4xx, a stable code, the field named, nothing written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from receivables.core.models import Sequence
from receivables.customers.models import BankAccount, Customer
from receivables.documents.models import Allocation, Document, DocumentLine
from receivables.ledger.models import JournalEntry, Posting
from tests.conftest import Answer, ApiClient, ledger_is_clean

LINE = {"description": "Cable", "quantity": "2", "unit_price": "10.00"}


@dataclass
class Book:
    alice: int  # GBP
    bob: int  # GBP
    carla: int  # EUR
    yuki: int  # JPY
    alice_invoice: int  # 20.00
    alice_big_invoice: int  # 50.00
    alice_credit: int  # 25.00
    bob_invoice: int
    carla_credit: int
    eur_bank: int


def created(answer: Answer) -> int:
    assert answer.status == 201, answer.body
    return answer.body["id"]


@pytest.fixture
def book(api: ApiClient, bank: dict) -> Book:
    def customer(name: str, currency: str) -> int:
        return created(api.post("/customers", {"name": name, "currency": currency}))

    def invoice(customer_id: int, price: str) -> int:
        line = {**LINE, "quantity": "1", "unit_price": price}
        return created(api.post("/invoices", {"customer": customer_id, "lines": [line]}))

    def credit(customer_id: int, amount: str) -> int:
        return created(api.post("/credit-notes", {"customer": customer_id, "amount": amount, "reason": "goodwill"}))

    alice, bob, carla, yuki = (
        customer("Alice Brown", "GBP"),
        customer("Bob Clarke", "GBP"),
        customer("Carla Dietz", "EUR"),
        customer("Yuki Tanaka", "JPY"),
    )
    return Book(
        alice=alice,
        bob=bob,
        carla=carla,
        yuki=yuki,
        alice_invoice=invoice(alice, "20.00"),
        alice_big_invoice=invoice(alice, "50.00"),
        alice_credit=credit(alice, "25.00"),
        bob_invoice=invoice(bob, "30.00"),
        carla_credit=credit(carla, "10.00"),
        eur_bank=bank[("EUR", "Main EUR")].pk,
    )


def snapshot() -> dict[str, Any]:
    """Everything a refused request must leave alone."""
    return {
        "customers": list(Customer.objects.order_by("id").values_list("id", "balance_minor", "name")),
        "documents": list(Document.objects.order_by("id").values_list("id", "outstanding_minor", "status")),
        "lines": DocumentLine.objects.count(),
        "allocations": Allocation.objects.count(),
        "journal_entries": JournalEntry.objects.count(),
        "postings": Posting.objects.count(),
        "bank_accounts": BankAccount.objects.count(),
        "sequences": list(Sequence.objects.order_by("series").values_list("series", "next_value")),
    }


Request = Callable[[Book], tuple[str, str, Any]]


@dataclass
class Case:
    name: str
    request: Request
    status: int
    code: str
    field: str | None


def post(path: str, body: Callable[[Book], Any]) -> Request:
    return lambda b: ("post", path, body(b))


def get(path: Callable[[Book], str]) -> Request:
    return lambda b: ("get", path(b), None)


CASES = [
    # A JSON number where an amount is expected.
    Case(
        "payment amount as a JSON number",
        post("/payments", lambda b: {"customer": b.alice, "amount": 25, "method": "cash"}),
        422,
        "amount_not_string",
        "amount",
    ),
    Case(
        "payment amount as a JSON float",
        post("/payments", lambda b: {"customer": b.alice, "amount": 25.5, "method": "cash"}),
        422,
        "amount_not_string",
        "amount",
    ),
    Case(
        "credit note amount as a JSON number",
        post("/credit-notes", lambda b: {"customer": b.alice, "amount": 5.0, "reason": "goodwill"}),
        422,
        "amount_not_string",
        "amount",
    ),
    Case(
        "allocation amount as a JSON number",
        post("/allocations", lambda b: {"source": b.alice_credit, "target": b.alice_invoice, "amount": 5}),
        422,
        "amount_not_string",
        "amount",
    ),
    Case(
        "unit price as a JSON number",
        post("/invoices", lambda b: {"customer": b.alice, "lines": [{**LINE, "unit_price": 10.0}]}),
        422,
        "amount_not_string",
        "lines[0].unit_price",
    ),
    Case(
        "credit limit as a JSON number",
        post("/customers", lambda b: {"name": "Dan", "currency": "GBP", "credit_limit": 100}),
        422,
        "amount_not_string",
        "credit_limit",
    ),
    # More decimals than the currency has.
    Case(
        "three decimals in GBP",
        post("/payments", lambda b: {"customer": b.alice, "amount": "1.001", "method": "cash"}),
        422,
        "too_many_decimals",
        "amount",
    ),
    Case(
        "decimals in JPY",
        post("/payments", lambda b: {"customer": b.yuki, "amount": "1.5", "method": "cash"}),
        422,
        "too_many_decimals",
        "amount",
    ),
    Case(
        "three decimals in an allocation",
        post("/allocations", lambda b: {"source": b.alice_credit, "target": b.alice_invoice, "amount": "0.001"}),
        422,
        "too_many_decimals",
        "amount",
    ),
    Case(
        "three decimals in a credit note",
        post("/credit-notes", lambda b: {"customer": b.alice, "amount": "2.505", "reason": "goodwill"}),
        422,
        "too_many_decimals",
        "amount",
    ),
    # Negative or zero amounts.
    Case(
        "zero payment",
        post("/payments", lambda b: {"customer": b.alice, "amount": "0.00", "method": "cash"}),
        422,
        "amount_not_positive",
        "amount",
    ),
    Case(
        "negative payment",
        post("/payments", lambda b: {"customer": b.alice, "amount": "-5.00", "method": "cash"}),
        422,
        "amount_not_positive",
        "amount",
    ),
    Case(
        "negative credit note",
        post("/credit-notes", lambda b: {"customer": b.alice, "amount": "-1", "reason": "goodwill"}),
        422,
        "amount_not_positive",
        "amount",
    ),
    Case(
        "zero allocation",
        post("/allocations", lambda b: {"source": b.alice_credit, "target": b.alice_invoice, "amount": "0"}),
        422,
        "amount_not_positive",
        "amount",
    ),
    Case(
        "invoice of zero",
        post("/invoices", lambda b: {"customer": b.alice, "lines": [{**LINE, "unit_price": "0"}]}),
        422,
        "amount_not_positive",
        "amount",
    ),
    # Unknown currency.
    Case(
        "customer in an unknown currency",
        post("/customers", lambda b: {"name": "Dan", "currency": "XYZ"}),
        422,
        "unknown_currency",
        "currency",
    ),
    Case(
        "bank account in an unknown currency",
        post("/bank-accounts", lambda b: {"name": "Odd", "currency": "gbp"}),
        422,
        "unknown_currency",
        "currency",
    ),
    # Another currency than the customer's.
    Case(
        "payment into a EUR bank account for a GBP customer",
        post(
            "/payments",
            lambda b: {"customer": b.alice, "amount": "5.00", "method": "bank_transfer", "bank_account": b.eur_bank},
        ),
        422,
        "currency_mismatch",
        "bank_account",
    ),
    Case(
        "EUR credit applied to a GBP invoice (another customer too)",
        post("/allocations", lambda b: {"source": b.carla_credit, "target": b.alice_invoice, "amount": "5.00"}),
        422,
        "other_customer",
        "target",
    ),
    # More than either side's outstanding.
    Case(
        "more than the credit's outstanding",
        post("/allocations", lambda b: {"source": b.alice_credit, "target": b.alice_big_invoice, "amount": "30.00"}),
        409,
        "exceeds_source_outstanding",
        "amount",
    ),
    Case(
        "more than the invoice's outstanding",
        post("/allocations", lambda b: {"source": b.alice_credit, "target": b.alice_invoice, "amount": "20.01"}),
        409,
        "exceeds_target_outstanding",
        "amount",
    ),
    # Wrong pairs of documents.
    Case(
        "a credit note applied to itself",
        post("/allocations", lambda b: {"source": b.alice_credit, "target": b.alice_credit, "amount": "1.00"}),
        422,
        "allocation_to_itself",
        "target",
    ),
    Case(
        "a credit applied to another customer's invoice",
        post("/allocations", lambda b: {"source": b.alice_credit, "target": b.bob_invoice, "amount": "1.00"}),
        422,
        "other_customer",
        "target",
    ),
    Case(
        "an invoice used as the credit",
        post("/allocations", lambda b: {"source": b.alice_invoice, "target": b.alice_big_invoice, "amount": "1.00"}),
        422,
        "not_a_credit",
        "source",
    ),
    Case(
        "a credit note correcting another customer's invoice",
        post(
            "/credit-notes",
            lambda b: {"customer": b.alice, "amount": "1.00", "reason": "overcharge", "invoice": b.bob_invoice},
        ),
        422,
        "other_customer",
        "invoice",
    ),
    # Unknown ids.
    Case(
        "unknown source document",
        post("/allocations", lambda b: {"source": 987654, "target": b.alice_invoice, "amount": "1.00"}),
        404,
        "document_not_found",
        "source",
    ),
    Case(
        "unknown target document",
        post("/allocations", lambda b: {"source": b.alice_credit, "target": 987654, "amount": "1.00"}),
        404,
        "document_not_found",
        "target",
    ),
    Case(
        "payment for an unknown customer",
        post("/payments", lambda b: {"customer": 987654, "amount": "1.00", "method": "cash"}),
        404,
        "customer_not_found",
        "customer",
    ),
    Case(
        "payment into an unknown bank account",
        post(
            "/payments",
            lambda b: {"customer": b.alice, "amount": "1.00", "method": "bank_transfer", "bank_account": 987654},
        ),
        404,
        "bank_account_not_found",
        "bank_account",
    ),
    Case(
        "credit note for an unknown invoice",
        post("/credit-notes", lambda b: {"customer": b.alice, "amount": "1.00", "reason": "other", "invoice": 987654}),
        404,
        "invoice_not_found",
        "invoice",
    ),
    Case(
        "reversing an unknown allocation",
        post("/allocations/987654/reverse", lambda b: {}),
        404,
        "allocation_not_found",
        "allocation",
    ),
    Case("an unknown customer", get(lambda b: "/customers/987654"), 404, "customer_not_found", None),
    Case(
        "the statement of an unknown customer",
        get(lambda b: "/customers/987654/statement"),
        404,
        "customer_not_found",
        None,
    ),
    # Missing and extra fields.
    Case(
        "payment without an amount",
        post("/payments", lambda b: {"customer": b.alice, "method": "cash"}),
        422,
        "missing_field",
        "amount",
    ),
    Case("customer without a name", post("/customers", lambda b: {"currency": "GBP"}), 422, "missing_field", "name"),
    Case(
        "invoice line without a unit price",
        post("/invoices", lambda b: {"customer": b.alice, "lines": [{"description": "x", "quantity": "1"}]}),
        422,
        "missing_field",
        "lines[0].unit_price",
    ),
    Case(
        "allocation with an extra field",
        post("/allocations", lambda b: {"source": b.alice_credit, "target": b.alice_invoice, "discount": "1.00"}),
        422,
        "extra_field",
        "discount",
    ),
    Case(
        "invoice line with an extra field",
        post("/invoices", lambda b: {"customer": b.alice, "lines": [{**LINE, "colour": "red"}]}),
        422,
        "extra_field",
        "lines[0].colour",
    ),
    # Dates that are not dates.
    Case(
        "invoice on 30 February",
        post("/invoices", lambda b: {"customer": b.alice, "date": "2026-02-30", "lines": [LINE]}),
        422,
        "invalid_date",
        "date",
    ),
    Case(
        "payment dated 'tomorrow'",
        post("/payments", lambda b: {"customer": b.alice, "amount": "1.00", "method": "cash", "date": "tomorrow"}),
        422,
        "invalid_date",
        "date",
    ),
    Case(
        "statement from month 13",
        get(lambda b: f"/customers/{b.alice}/statement?from=2026-13-01"),
        422,
        "invalid_date",
        "from",
    ),
    # Text longer than its column.
    Case(
        "a name one character too long",
        post("/customers", lambda b: {"name": "N" * 201, "currency": "GBP"}),
        422,
        "too_long",
        "name",
    ),
    Case(
        "a name far too long",
        post("/customers", lambda b: {"name": "N" * 5000, "currency": "GBP"}),
        422,
        "too_long",
        "name",
    ),
    Case(
        "a line description too long",
        post("/invoices", lambda b: {"customer": b.alice, "lines": [{**LINE, "description": "d" * 201}]}),
        422,
        "too_long",
        "lines[0].description",
    ),
    Case(
        "a bank account name too long",
        post("/bank-accounts", lambda b: {"name": "B" * 101, "currency": "GBP"}),
        422,
        "too_long",
        "name",
    ),
    # Other values outside their range.
    Case(
        "an unknown payment method",
        post("/payments", lambda b: {"customer": b.alice, "amount": "1.00", "method": "bitcoin"}),
        422,
        "invalid_choice",
        "method",
    ),
    Case(
        "an unknown credit reason",
        post("/credit-notes", lambda b: {"customer": b.alice, "amount": "1.00", "reason": "because"}),
        422,
        "invalid_choice",
        "reason",
    ),
    Case(
        "a quantity of zero",
        post("/invoices", lambda b: {"customer": b.alice, "lines": [{**LINE, "quantity": "0"}]}),
        422,
        "decimal_out_of_range",
        "lines[0].quantity",
    ),
    Case(
        "a tax rate over 100",
        post("/invoices", lambda b: {"customer": b.alice, "lines": [{**LINE, "tax_rate": "120"}]}),
        422,
        "decimal_out_of_range",
        "lines[0].tax_rate",
    ),
    Case(
        "a customer id that is not a number",
        post("/payments", lambda b: {"customer": "abc", "amount": "1.00", "method": "cash"}),
        422,
        "invalid_id",
        "customer",
    ),
]


def send(api: ApiClient, request: Request, book: Book) -> Answer:
    method, path, body = request(book)
    return api.post(path, body) if method == "post" else api.get(path)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_bad_input_is_refused_and_changes_nothing(api: ApiClient, book: Book, case: Case) -> None:
    before = snapshot()
    answer = send(api, case.request, book)
    assert answer.status == case.status, answer.body
    assert answer.body["error"] == case.code, answer.body
    assert answer.body["field"] == case.field, answer.body
    assert isinstance(answer.body["detail"], str) and answer.body["detail"]
    assert snapshot() == before
    assert ledger_is_clean() == {}


def test_the_same_requests_made_good_are_accepted(api: ApiClient, book: Book) -> None:
    """The refusals above are about the bad value, not about the documents used."""
    good = [
        ("/payments", {"customer": book.alice, "amount": "25.00", "method": "cash"}),
        ("/payments", {"customer": book.yuki, "amount": "1500", "method": "cash"}),
        ("/allocations", {"source": book.alice_credit, "target": book.alice_big_invoice, "amount": "25.00"}),
        (
            "/credit-notes",
            {"customer": book.alice, "amount": "1.00", "reason": "overcharge", "invoice": book.alice_invoice},
        ),
        ("/invoices", {"customer": book.alice, "date": "2026-02-28", "lines": [{**LINE, "description": "d" * 200}]}),
        ("/customers", {"name": "N" * 200, "currency": "GBP", "credit_limit": "100.00"}),
    ]
    for path, body in good:
        answer = api.post(path, body)
        assert answer.status == 201, (path, answer.body)
    assert ledger_is_clean() == {}


@pytest.mark.parametrize("text", ["{not json", '{"customer": 1,}', "\x00", '{"amount": "1.00"'])
def test_a_body_that_is_not_json_is_a_400(api: ApiClient, book: Book, text: str) -> None:
    before = snapshot()
    answer = api.raw_post("/payments", text)
    assert answer.status == 400, answer.body
    assert answer.body["error"] == "invalid_json"
    assert snapshot() == before


@pytest.mark.parametrize(
    ("text", "code"), [("[1, 2]", "invalid_body"), ('"text"', "invalid_body"), ("", "missing_field")]
)
def test_a_body_that_is_not_an_object_is_refused(api: ApiClient, book: Book, text: str, code: str) -> None:
    before = snapshot()
    answer = api.raw_post("/payments", text)
    assert answer.status == 422, answer.body
    assert answer.body["error"] == code
    assert snapshot() == before


@pytest.mark.parametrize("token", [None, "rcv_deadbeef_not-a-real-token", "garbage"])
def test_no_or_an_invalid_token_is_a_401(book: Book, token: str | None) -> None:
    stranger = ApiClient(token)
    before = snapshot()
    for answer in (
        stranger.get(f"/customers/{book.alice}"),
        stranger.post("/payments", {"customer": book.alice, "amount": "5.00", "method": "cash"}),
    ):
        assert answer.status == 401, answer.body
        assert answer.body["error"] == "unauthenticated"
    assert snapshot() == before


def test_a_revoked_token_is_a_401(api: ApiClient, book: Book) -> None:
    from receivables.core.models import ApiToken
    from receivables.core.tokens import revoke

    assert revoke(ApiToken.objects.get().prefix)
    assert api.get(f"/customers/{book.alice}").status == 401


def test_the_openapi_document_is_served(api: ApiClient) -> None:
    answer = api.get("/openapi.json")
    assert answer.status == 200
    paths = answer.body["paths"]
    for path in ("/api/v1/customers", "/api/v1/invoices", "/api/v1/payments", "/api/v1/allocations"):
        assert path in paths
    amount = answer.body["components"]["schemas"]["PaymentIn"]["properties"]["amount"]
    assert amount["type"] == "string"
