"""The reconciliation API: import, lines, match (accept, split, rest on account, write-off), ignore, unmatch, roles."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest

from receivables.banking.models import BankLine
from receivables.core.models import AuditEntry
from receivables.core.tokens import create_token
from receivables.documents.models import Document
from tests.bank_files import camt053
from tests.banking.conftest import SAMPLES, import_bytes, import_sample
from tests.conftest import ApiClient, ledger_is_clean, make_user

pytestmark = pytest.mark.django_db


def upload(api: ApiClient, data: bytes, bank_account: int, **fields: str) -> Any:
    file = BytesIO(data)
    file.name = "statement.xml"
    response = api.client.post(
        "/api/v1/bank-statements", {"file": file, "bank_account": bank_account, **fields}, **api.headers
    )
    return api._answer(response)


def as_role(role: str) -> ApiClient:
    return ApiClient(create_token(make_user(f"{role}-user", role)))


def lines(api: ApiClient, statement: int) -> list[dict]:
    answer = api.get(f"/bank-statements/{statement}/lines")
    assert answer.status == 200, answer.body
    return answer.body["items"]


def outstanding(number: str) -> int:
    return Document.objects.get(number=number).outstanding_minor


def test_a_clerk_imports_a_file_and_reads_its_lines(book: dict[str, Any]) -> None:
    clerk = as_role("clerk")
    answer = upload(clerk, (SAMPLES / "camt053_statement.xml").read_bytes(), book["bank"].pk)
    assert answer.status == 201, answer.body
    assert {k: answer.body[k] for k in ("lines", "matched", "suggested", "unmatched", "skipped")} == {
        "lines": 6,
        "matched": 3,
        "suggested": 1,
        "unmatched": 1,
        "skipped": 0,
    }
    items = lines(clerk, answer.body["id"])
    first = items[0]
    assert (first["amount"], first["status"], first["reference"]) == (
        "120.00",
        "matched",
        "INV-000001 thank you E2E-ALICE-0001",
    )
    assert first["payment"] is not None and first["date"] == "2026-12-01"
    assert items[3]["suggestions"][0]["allocations"][0]["amount"] == "60.00"
    again = upload(clerk, (SAMPLES / "camt053_statement.xml").read_bytes(), book["bank"].pk)
    assert (again.body["lines"], again.body["skipped"]) == (0, 6)


def test_a_viewer_may_read_but_not_import(book: dict[str, Any]) -> None:
    viewer = as_role("viewer")
    assert upload(viewer, camt053([("1.00", "x")]), book["bank"].pk).status == 403
    assert viewer.get("/bank-statements").status == 200


def test_bad_uploads_are_4xx(book: dict[str, Any], settings: Any, api: ApiClient) -> None:
    assert (
        upload(api, b"<!DOCTYPE x [<!ENTITY a 'b'>]><Document/>", book["bank"].pk).body["error"] == "xml_dtd_forbidden"
    )
    assert upload(api, camt053([("1.00", "x")]), 999999).status == 404
    assert upload(api, camt053([("1.00", "x")]), book["bank"].pk, format="pdf").body["field"] == "format"
    settings.BANK_STATEMENT_MAX_BYTES = 100
    too_big = upload(api, camt053([("1.00", "x")]), book["bank"].pk)
    assert (too_big.status, too_big.body["error"]) == (413, "file_too_large")
    assert not BankLine.objects.exists()


def test_accept_a_suggestion(book: dict[str, Any], api: ApiClient) -> None:
    result = import_bytes(camt053([("60.00", "December")]), book["bank"])
    line = BankLine.objects.get(statement=result.statement)
    dan = next(s for s in line.suggestions if s["customer_name"] == "Dan Evans")
    answer = api.post(
        f"/bank-lines/{line.pk}/match",
        {"allocations": [{"target": a["target"], "amount": a["amount"]} for a in dan["allocations"]]},
    )
    assert answer.status == 200, answer.body
    assert (answer.body["status"], len(answer.body["payments"])) == ("matched", 1)
    assert outstanding("INV-000006") == 0
    assert AuditEntry.objects.filter(action="bank_line.match", object_id=str(line.pk)).exists()
    again = api.post(
        f"/bank-lines/{line.pk}/match",
        {"allocations": [{"target": a["target"], "amount": a["amount"]} for a in dan["allocations"]]},
    )
    assert (again.status, again.body["error"]) == (409, "line_already_matched")
    assert ledger_is_clean() == {}


def test_split_a_line_over_invoices_of_two_customers_and_keep_the_rest_on_account(
    book: dict[str, Any], api: ApiClient
) -> None:
    line = BankLine.objects.get(statement=import_bytes(camt053([("500.00", "family payment")]), book["bank"]).statement)
    ids = {d.number: d.pk for d in Document.objects.filter(type="invoice")}
    alice, dan = book["people"][0], book["people"][3]
    body = {
        "allocations": [
            {"target": ids["INV-000001"], "amount": "120.00"},
            {"target": ids["INV-000002"], "amount": "30.00"},
            {"target": ids["INV-000009"], "amount": "90.00"},
        ],
    }
    refused = api.post(f"/bank-lines/{line.pk}/match", body)
    assert (refused.status, refused.body["error"]) == (422, "customer_required")
    answer = api.post(f"/bank-lines/{line.pk}/match", {**body, "customer": alice.pk})
    assert answer.status == 200, answer.body
    payments = Document.objects.filter(pk__in=answer.body["payments"]).order_by("customer_id")
    assert [(p.customer_id, p.total_minor, p.outstanding_minor) for p in payments] == [
        (alice.pk, 41000, 26000),
        (dan.pk, 9000, 0),
    ]
    assert (outstanding("INV-000001"), outstanding("INV-000002"), outstanding("INV-000009")) == (0, 5000, 0)
    assert ledger_is_clean() == {}


def test_a_short_payment_with_a_write_off_and_its_limits(book: dict[str, Any], api: ApiClient) -> None:
    line = BankLine.objects.get(statement=import_bytes(camt053([("99.10", "Carol")]), book["bank"]).statement)
    target = Document.objects.get(number="INV-000004").pk
    pick = {"allocations": [{"target": target, "amount": "99.10"}]}
    above = api.post(f"/bank-lines/{line.pk}/match", {**pick, "write_off": {"amount": "1.01", "reason": "pennies"}})
    assert (above.status, above.body["error"]) == (422, "write_off_above_tolerance")
    answer = api.post(
        f"/bank-lines/{line.pk}/match", {**pick, "write_off": {"amount": "0.90", "reason": "bank charges"}}
    )
    assert answer.status == 200, answer.body
    assert outstanding("INV-000004") == 0
    write_off = Document.objects.get(pk=answer.body["write_off"])
    assert (write_off.type, write_off.total_minor, write_off.description) == ("write_off", 90, "bank charges")
    assert ledger_is_clean() == {}


def test_unmatch_reverses_payments_allocations_and_the_write_off(book: dict[str, Any], api: ApiClient) -> None:
    result = import_sample("mt940_statement.sta", book["bank"])
    carol = BankLine.objects.get(statement=result.statement, amount_minor=9950)
    payment_id, write_off_id = carol.payments.get().payment_id, carol.write_off_id
    answer = api.post(f"/bank-lines/{carol.pk}/unmatch")
    assert answer.status == 200, answer.body
    assert (answer.body["status"], answer.body["payment"], answer.body["write_off"]) == ("suggested", None, None)
    assert outstanding("INV-000004") == 10000
    assert Document.objects.get(pk=payment_id).status == "cancelled"
    assert Document.objects.get(pk=write_off_id).status == "cancelled"
    assert AuditEntry.objects.filter(action="bank_line.unmatch", object_id=str(carol.pk)).exists()
    assert api.post(f"/bank-lines/{carol.pk}/unmatch").status == 409
    rematch = api.post(
        f"/bank-lines/{carol.pk}/match",
        {"allocations": [{"target": Document.objects.get(number="INV-000004").pk, "amount": "99.50"}]},
    )
    assert rematch.status == 200 and outstanding("INV-000004") == 50
    assert ledger_is_clean() == {}


def test_ignore_with_a_reason_and_reopen(book: dict[str, Any], api: ApiClient) -> None:
    line = BankLine.objects.get(statement=import_bytes(camt053([("45.00", "deposit")]), book["bank"]).statement)
    assert api.post(f"/bank-lines/{line.pk}/ignore", {"reason": ""}).body["field"] == "reason"
    answer = api.post(f"/bank-lines/{line.pk}/ignore", {"reason": "landlord's deposit returned"})
    assert (answer.body["status"], answer.body["ignore_reason"]) == ("ignored", "landlord's deposit returned")
    assert AuditEntry.objects.filter(action="bank_line.ignore").count() == 1
    assert api.post(f"/bank-lines/{line.pk}/unmatch").body["status"] == "unmatched"
    api.post(f"/bank-lines/{line.pk}/ignore", {"reason": "not ours"})
    matched = api.post(f"/bank-lines/{line.pk}/match", {"customer": book["people"][4].pk})
    assert (matched.body["status"], matched.body["ignore_reason"]) == ("matched", "")


def test_a_debit_cannot_be_matched(book: dict[str, Any], api: ApiClient) -> None:
    line = BankLine.objects.get(statement=import_bytes(camt053([("-12.50", "fees")]), book["bank"]).statement)
    answer = api.post(f"/bank-lines/{line.pk}/match", {"customer": book["people"][0].pk})
    assert (answer.status, answer.body["error"]) == (409, "line_is_debit")


def test_a_refunded_payment_cannot_be_unmatched(book: dict[str, Any], api: ApiClient) -> None:
    line = BankLine.objects.get(statement=import_bytes(camt053([("150.00", "INV-000001")]), book["bank"]).statement)
    payment = line.payments.get().payment
    assert api.post("/refunds", {"source": payment.pk, "amount": "30.00"}).status == 201
    answer = api.post(f"/bank-lines/{line.pk}/unmatch")
    assert (answer.status, answer.body["error"]) == (409, "payment_refunded")


def test_write_off_an_open_amount(book: dict[str, Any], api: ApiClient) -> None:
    target = Document.objects.get(number="INV-000003")
    answer = api.post("/write-offs", {"target": target.pk, "amount": "50.00", "reason": "customer in administration"})
    assert answer.status == 201, answer.body
    assert (answer.body["type"], answer.body["status"], answer.body["outstanding"]) == ("write_off", "closed", "0.00")
    assert outstanding("INV-000003") == 20000
    balances = {row["code"]: row for row in api.get("/ledger/trial-balance").body["accounts"]}
    assert balances["6100"]["debit"] == "50.00"
    statement = api.get(f"/customers/{target.customer_id}/statement")
    assert [line["description"] for line in statement.body["lines"]][-1] == "customer in administration"
    refund = api.post("/refunds", {"source": answer.body["id"]})
    assert (refund.status, refund.body["error"]) == (422, "source_not_refundable")
    assert api.post("/write-offs", {"target": target.pk, "amount": "250.00", "reason": "x"}).status == 409
    assert (
        api.post("/write-offs", {"target": target.pk, "amount": 5, "reason": "x"}).body["error"] == "amount_not_string"
    )
    assert ledger_is_clean() == {}


def test_a_write_off_above_the_threshold_needs_another_approver(book: dict[str, Any], settings: Any) -> None:
    settings.WRITE_OFF_APPROVAL_THRESHOLD = "*=100.00"
    clerk, approver = as_role("clerk"), as_role("approver")
    target = Document.objects.get(number="INV-000011")
    held = clerk.post("/write-offs", {"target": target.pk, "amount": "600.00", "reason": "bad debt"})
    assert (held.status, held.body["status"]) == (201, "hold")
    assert outstanding("INV-000011") == 60000
    assert clerk.post(f"/write-offs/{held.body['id']}/approve", {}).status == 403
    admin = ApiClient(create_token(make_user("boss", "admin")))
    assert admin.post(f"/write-offs/{held.body['id']}/approve", {}).status == 200
    assert outstanding("INV-000011") == 0
    assert approver.post(f"/write-offs/{held.body['id']}/approve", {}).status == 409
    second = clerk.post(
        "/write-offs", {"target": Document.objects.get(number="INV-000010").pk, "amount": "400.00", "reason": "x"}
    )
    rejected = approver.post(f"/write-offs/{second.body['id']}/reject", {"comment": "chase them"})
    assert rejected.body["status"] == "cancelled"
    assert outstanding("INV-000010") == 40000
    assert [d["status"] for d in clerk.get("/write-offs").body["items"]] == ["cancelled", "closed"]
    assert ledger_is_clean() == {}


def test_the_creator_cannot_approve_their_own_write_off(book: dict[str, Any], settings: Any) -> None:
    settings.WRITE_OFF_APPROVAL_THRESHOLD = "*=0"
    boss = ApiClient(create_token(make_user("boss", "admin")))
    held = boss.post(
        "/write-offs", {"target": Document.objects.get(number="INV-000003").pk, "amount": "1.00", "reason": "x"}
    )
    answer = boss.post(f"/write-offs/{held.body['id']}/approve", {})
    assert (answer.status, answer.body["error"]) == (403, "self_approval")


def test_csv_mapping_through_the_api(book: dict[str, Any], api: ApiClient) -> None:
    path = f"/bank-accounts/{book['bank'].pk}/csv-mapping"
    answer = api.post(path, {"mapping": {"date": "Date"}})
    assert (answer.status, answer.body["error"]) == (422, "invalid_mapping")
    ok = api.post(path, {"mapping": {"date": "Date", "amount": "Amount"}})
    assert ok.status == 200 and api.get(path).body["mapping"] == {"date": "Date", "amount": "Amount"}
