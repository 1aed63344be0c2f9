"""The first seed story, told through the API: a £25 credit note pays a £20 invoice."""

from __future__ import annotations

from receivables.documents.api import StatementOut
from tests.conftest import ApiClient, ledger_is_clean


def test_credit_note_used_to_pay_invoice_leaves_five_pounds_refundable(api: ApiClient, bank: dict) -> None:
    customer = api.post("/customers", {"name": "Alice Brown", "currency": "GBP", "email": "alice@example.com"})
    assert customer.status == 201, customer.body
    customer_id = customer.body["id"]

    credit = api.post("/credit-notes", {"customer": customer_id, "amount": "25.00", "reason": "returned_goods"})
    assert credit.status == 201, credit.body
    invoice = api.post(
        "/invoices",
        {
            "customer": customer_id,
            "lines": [{"description": "Cable", "quantity": "2", "unit_price": "10.00"}],
        },
    )
    assert invoice.status == 201, invoice.body
    assert invoice.body["amount"] == "20.00"

    allocation = api.post(
        "/allocations", {"source": credit.body["id"], "target": invoice.body["id"], "amount": "20.00"}
    )
    assert allocation.status == 201, allocation.body

    refundables = api.get(f"/customers/{customer_id}/refundables").body["items"]
    assert [(r["number"], r["amount"], r["outstanding"]) for r in refundables] == [
        (credit.body["number"], "25.00", "5.00")
    ]
    invoice_now = api.get(f"/documents/{invoice.body['id']}").body
    assert (invoice_now["outstanding"], invoice_now["status"]) == ("0.00", "closed")

    balance = api.get(f"/customers/{customer_id}").body["balance"]
    statement = api.get(f"/customers/{customer_id}/statement").body
    assert balance == "-5.00"
    assert statement["closing_balance"] == balance
    assert [line["balance"] for line in statement["lines"]] == ["-25.00", "-5.00"]
    assert [line["outstanding"] for line in statement["lines"]] == ["5.00", "0.00"]
    # The statement is serialised without the schema's validation: it must still match it.
    assert StatementOut.model_validate(statement).model_dump(by_alias=True) == statement
    assert [(line["debit"], line["credit"]) for line in statement["lines"]] == [(None, "25.00"), ("20.00", None)]
    assert ledger_is_clean() == {}
