"""The reconciliation screens: import through the form, open a line, accept, pick and split, ignore, unmatch."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import pytest
from django.test import Client

from receivables.banking import write_offs
from receivables.banking.models import BankLine, BankStatement
from receivables.documents.models import Document
from tests.bank_files import camt053
from tests.banking.conftest import SAMPLES, import_bytes
from tests.conftest import ledger_is_clean, make_user

pytestmark = pytest.mark.django_db


def logged_in(role: str) -> Client:
    client = Client()
    client.force_login(make_user(f"screen-{role}", role))
    return client


def upload(client: Client, data: bytes, bank: Any) -> Any:
    file = BytesIO(data)
    file.name = "statement.xml"
    return client.post("/bank/", {"file": file, "bank_account": bank.pk, "format": ""})


def test_import_through_the_form_and_see_the_statement(book: dict[str, Any]) -> None:
    clerk = logged_in("clerk")
    page = clerk.get("/bank/")
    assert page.status_code == 200 and b"Import a statement" in page.content
    answer = upload(clerk, (SAMPLES / "camt053_statement.xml").read_bytes(), book["bank"])
    statement = BankStatement.objects.get()
    assert answer.status_code == 302 and answer["Location"] == f"/bank/statements/{statement.pk}/"
    shown = clerk.get(answer["Location"])
    assert b"3 matched" in shown.content and b"J SMITH" in shown.content
    suggested = clerk.get(answer["Location"], {"status": "suggested"})
    assert b"J SMITH" in suggested.content and b"ALICE BROWN" not in suggested.content


def test_a_refused_file_is_shown_beside_the_form(book: dict[str, Any]) -> None:
    answer = upload(logged_in("clerk"), camt053([("1.00", "x")], closing="5.00"), book["bank"])
    assert answer.status_code == 200 and b"does not follow from the opening balance" in answer.content
    assert not BankLine.objects.exists()


def test_open_a_line_as_a_panel_and_accept_a_suggestion(book: dict[str, Any]) -> None:
    clerk = logged_in("clerk")
    line = BankLine.objects.get(statement=import_bytes(camt053([("60.00", "December")]), book["bank"]).statement)
    panel = clerk.get(f"/bank/lines/{line.pk}/", HTTP_HX_REQUEST="true")
    assert panel.status_code == 200 and b"<html" not in panel.content and b"Dan Evans" in panel.content
    assert b"<html" in clerk.get(f"/bank/lines/{line.pk}/").content
    dan = next(s for s in line.suggestions if s["customer_name"] == "Dan Evans")
    target = dan["allocations"][0]["target"]
    answer = clerk.post(
        f"/bank/lines/{line.pk}/match/", {"pick": [target], f"amount_{target}": "60.00", "customer": dan["customer"]}
    )
    assert answer.status_code == 302
    line.refresh_from_db()
    assert line.status == "matched" and Document.objects.get(pk=target).outstanding_minor == 0


def test_search_pick_and_split_over_two_invoices(book: dict[str, Any]) -> None:
    clerk = logged_in("clerk")
    line = BankLine.objects.get(statement=import_bytes(camt053([("150.00", "two bills")]), book["bank"]).statement)
    found = clerk.get(f"/bank/lines/{line.pk}/search/", {"q": "Alice"})
    assert found.status_code == 200 and b"Add INV-000001" in found.content and b"Add INV-000005" in found.content
    first, fifth = (Document.objects.get(number=n).pk for n in ("INV-000001", "INV-000005"))
    row = clerk.get(f"/bank/lines/{line.pk}/pick/{fifth}/")
    assert b'name="amount_%d" aria-label="Amount for INV-000005" value="200.00"' % fifth in row.content
    assert clerk.get(f"/bank/lines/{line.pk}/pick/999999/").status_code == 404
    without_script = clerk.get(f"/bank/lines/{line.pk}/", {"q": "Alice"})
    assert b'id="pick-%d-%d"' % (line.pk, first) in without_script.content
    refused = clerk.post(
        f"/bank/lines/{line.pk}/match/",
        {"pick": [first, fifth], f"amount_{first}": "120.00", f"amount_{fifth}": "40.00"},
    )
    assert refused.status_code == 200 and b"more than the line" in refused.content
    answer = clerk.post(
        f"/bank/lines/{line.pk}/match/",
        {"pick": [first, fifth], f"amount_{first}": "120.00", f"amount_{fifth}": "30.00"},
    )
    assert answer.status_code == 302
    assert [Document.objects.get(pk=pk).outstanding_minor for pk in (first, fifth)] == [0, 17000]
    assert ledger_is_clean() == {}


def test_ignore_then_reopen(book: dict[str, Any]) -> None:
    clerk = logged_in("clerk")
    line = BankLine.objects.get(statement=import_bytes(camt053([("45.00", "deposit")]), book["bank"]).statement)
    missing = clerk.post(f"/bank/lines/{line.pk}/ignore/", {"reason": ""})
    assert missing.status_code == 200 and b"must not be empty" in missing.content
    assert clerk.post(f"/bank/lines/{line.pk}/ignore/", {"reason": "not ours"}).status_code == 302
    line.refresh_from_db()
    assert (line.status, line.ignore_reason) == ("ignored", "not ours")
    assert clerk.post(f"/bank/lines/{line.pk}/unmatch/").status_code == 302
    line.refresh_from_db()
    assert line.status == "unmatched"


def test_a_viewer_sees_but_cannot_decide(book: dict[str, Any]) -> None:
    viewer = logged_in("viewer")
    line = BankLine.objects.get(statement=import_bytes(camt053([("45.00", "deposit")]), book["bank"]).statement)
    assert viewer.get(f"/bank/statements/{line.statement_id}/").status_code == 200
    assert viewer.post(f"/bank/lines/{line.pk}/ignore/", {"reason": "x"}).status_code == 403
    assert upload(viewer, camt053([("1.00", "x")]), book["bank"]).status_code == 403
    assert Client().get("/bank/").status_code == 302


def test_an_approver_decides_held_write_offs(book: dict[str, Any], settings: Any) -> None:
    settings.WRITE_OFF_APPROVAL_THRESHOLD = "*=10.00"
    clerk_user = make_user("maker", "clerk")
    target = Document.objects.get(number="INV-000003")
    held = write_offs.create_write_off(target.pk, "50.00", "gone bust", user=clerk_user)
    approver = logged_in("approver")
    page = approver.get("/bank/write-offs/")
    assert held.number.encode() in page.content
    assert approver.post("/bank/write-offs/", {"write_off": held.pk, "decision": "approve"}).status_code == 302
    target.refresh_from_db()
    assert target.outstanding_minor == 20000
    assert (
        logged_in("clerk").post("/bank/write-offs/", {"write_off": held.pk, "decision": "approve"}).status_code == 403
    )


def test_a_write_off_shows_as_a_document_and_on_the_statement(book: dict[str, Any]) -> None:
    target = Document.objects.get(number="INV-000003")
    write_off = write_offs.create_write_off(target.pk, "50.00", "customer in administration")
    clerk = logged_in("clerk")
    page = clerk.get(f"/documents/{write_off.pk}/")
    assert page.status_code == 200 and b"Write-off" in page.content
    accounts = clerk.get(f"/customers/{target.customer_id}/accounts/")
    assert accounts.status_code == 200 and write_off.number.encode() in accounts.content
