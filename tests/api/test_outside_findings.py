"""Defects outside testing found in refunds, tokens, money and the API (issue 11), each as its story.

5. a card refund marked refunded with no money sent;
6. one admin satisfying the four-eyes rule alone, through a token minted for an approver;
7. a wildcard approval threshold read in pence for every currency;
8. money that overflows;
9. a long Idempotency-Key, the audit export, a held credit that could not be withdrawn;
10. responses that showed the O/S from before auto-apply; an approval that made verify fail.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from typing import Any

import pytest

from receivables.core.errors import ReceivablesError
from receivables.core.models import AuditEntry
from receivables.core.tokens import create_token
from receivables.documents.models import Document
from receivables.gateways.models import SandboxOperation
from receivables.ledger.models import JournalEntry
from receivables.money import LARGEST_MINOR
from receivables.refunds import approvals
from tests.conftest import ApiClient, ledger_is_clean, make_user, needs_postgres


def _customer(api: ApiClient, currency: str = "GBP", **fields: Any) -> int:
    answer = api.post("/customers", {"name": "Nora Quinn", "currency": currency, **fields})
    assert answer.status == 201, answer.body
    return answer.body["id"]


def _card_payment(api: ApiClient, customer: int, amount: str, **headers: str) -> Any:
    body = {"customer": customer, "amount": amount, "method": "card", "card_token": "tok_visa"}
    return api.post("/payments", body, headers or None)


def _held_refund(client: ApiClient, amount: str, currency: str = "GBP") -> dict:
    customer = _customer(client, currency)
    credit = client.post("/credit-notes", {"customer": customer, "amount": amount, "reason": "overcharge"}).body
    refund = client.post("/refunds", {"source": credit["id"]})
    assert refund.status == 201, refund.body
    return refund.body


def _footprint() -> tuple[int, int, int]:
    return Document.objects.count(), JournalEntry.objects.count(), SandboxOperation.objects.count()


# --- 5. a refund is paid by card through the gateway or by transfer from a bank account ---------


def test_a_card_refund_whose_charge_is_cleared_cannot_be_marked_paid_without_a_bank_account(
    api: ApiClient, bank: dict
) -> None:
    customer = _customer(api, "USD")  # no bank account in USD
    payment = _card_payment(api, customer, "30.00").body
    refund = api.post("/refunds", {"source": payment["id"]}).body
    assert refund["transaction"] == payment["transaction"]

    cleared = api.patch(f"/refunds/{refund['id']}", {"transaction": None})
    before = _footprint()
    processed = api.post(f"/refunds/{refund['id']}/process")

    assert cleared.status == 200 and cleared.body["transaction"] is None
    assert (processed.status, processed.body["error"]) == (409, "transaction_required")
    assert api.get(f"/refunds/{refund['id']}").body["status"] == "hold"
    assert _footprint() == before
    assert ledger_is_clean() == {}


# --- 6. maker–checker compares people --------------------------------------------------------


@pytest.fixture
def four_eyes(settings: Any, bank: dict) -> None:
    settings.REFUND_APPROVAL_THRESHOLD = "*=0"


def test_an_admin_cannot_mint_a_token_for_another_person(api: ApiClient, four_eyes: None) -> None:
    make_user("approver-ann", "approver")
    minted = api.post("/api-tokens", {"user": "approver-ann"})
    assert (minted.status, minted.body["error"], minted.body["field"]) == (403, "token_for_another_person", "user")


def test_a_service_account_is_never_the_second_person(api: ApiClient, admin_user: Any, four_eyes: None) -> None:
    make_user("shop", "approver", service_account=True)
    service = ApiClient(api.post("/api-tokens", {"user": "shop"}).body["token"])
    refund = _held_refund(api, "25.00")

    as_service = service.post(f"/refunds/{refund['id']}/process")
    approved = service.post(f"/refunds/{refund['id']}/approve", {"comment": "ok"})

    assert (as_service.status, as_service.body["error"]) == (403, "approval_required")
    assert (approved.status, approved.body["error"]) == (403, "self_approval")
    assert api.get(f"/refunds/{refund['id']}").body["status"] == "hold"


def test_a_refund_made_through_an_admins_service_token_cannot_be_checked_by_that_admin(
    api: ApiClient, admin_user: Any, four_eyes: None
) -> None:
    make_user("shop", "clerk", service_account=True)
    service = ApiClient(api.post("/api-tokens", {"user": "shop"}).body["token"])
    refund = _held_refund(service, "25.00")

    refused = api.post(f"/refunds/{refund['id']}/process")
    checker = ApiClient(create_token(make_user("carol", "approver")))
    paid = checker.post(f"/refunds/{refund['id']}/process")

    assert (refused.status, refused.body["error"]) == (403, "approval_required")
    assert paid.body["status"] == "refunded"
    created = AuditEntry.objects.get(object_type="document", object_id=str(refund["id"]), action="refund.create")
    assert (created.actor.username, created.minted_by.username) == ("shop", "admin")


def test_an_unidentified_caller_is_not_a_second_person(api: ApiClient, four_eyes: None) -> None:
    refund = Document.objects.get(pk=_held_refund(api, "25.00")["id"])
    with pytest.raises(ReceivablesError) as refused:
        approvals.check_second_person(refund, None)
    assert refused.value.code == "approval_required"


# --- 7. a wildcard threshold is in each currency's major units --------------------------------


def test_a_wildcard_threshold_applies_in_each_currencys_own_units(api: ApiClient, bank: dict, settings: Any) -> None:
    settings.REFUND_APPROVAL_THRESHOLD = "*=250.00"
    small = _held_refund(api, "249", "JPY")
    large = _held_refund(api, "250", "JPY")

    assert api.post(f"/refunds/{small['id']}/process").body["status"] == "refunded"  # ¥249: no second person
    assert api.post(f"/refunds/{large['id']}/process").body["error"] == "approval_required"


# --- 8. amounts and balances are bounded ------------------------------------------------------


def test_an_amount_past_the_bound_is_refused_before_anything_is_charged(api: ApiClient, bank: dict) -> None:
    customer = _customer(api)
    too_large = "10000000000000.00"  # 10^15 pence: more digits than an amount may have
    charged = _card_payment(api, customer, too_large)
    typed = api.post("/payments", {"customer": customer, "amount": too_large, "method": "bank_transfer"})
    huge = [  # 9,999,999,999,990.00 + 10.00: a penny past the largest total
        {"description": "Nearly all", "quantity": "100000", "unit_price": "99999999.9999"},
        {"description": "The rest", "quantity": "1", "unit_price": "10.00"},
    ]
    invoiced = api.post("/invoices", {"customer": customer, "lines": huge})

    for answer in (charged, typed):
        assert (answer.status, answer.body["error"], answer.body["field"]) == (422, "invalid_amount", "amount")
    assert (invoiced.status, invoiced.body["error"], invoiced.body["field"]) == (422, "amount_too_large", "amount")
    assert _footprint() == (0, 0, 0)


def test_a_balance_that_would_pass_the_bound_is_refused_and_nothing_is_written(api: ApiClient, bank: dict) -> None:
    customer = _customer(api)
    largest = f"{LARGEST_MINOR // 100}.{LARGEST_MINOR % 100:02d}"
    lines = [  # together the largest total a document may have: 9,999,999,999,999.99
        {"description": "Everything", "quantity": "100000", "unit_price": "99999999.9999"},
        {"description": "And more", "quantity": "1", "unit_price": "9.99"},
    ]
    first = api.post("/invoices", {"customer": customer, "lines": lines})
    before = _footprint()
    penny = {"description": "A penny", "quantity": "1", "unit_price": "0.01"}
    second = api.post("/invoices", {"customer": customer, "lines": [penny]})

    assert first.status == 201, first.body
    assert (second.status, second.body["error"]) == (422, "balance_too_large")
    assert _footprint() == before
    assert api.get(f"/customers/{customer}").body["balance"] == largest
    assert ledger_is_clean() == {}


# --- 9. smaller ones --------------------------------------------------------------------------


def test_a_long_idempotency_key_works_and_replays(api: ApiClient, bank: dict) -> None:
    customer = _customer(api)
    key = "k" * 200
    first = _card_payment(api, customer, "12.00", **{"Idempotency-Key": key})
    again = _card_payment(api, customer, "12.00", **{"Idempotency-Key": key})
    assert first.status == 201, first.body
    assert again.body["id"] == first.body["id"]
    assert SandboxOperation.objects.filter(kind="charge").count() == 1


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_many_concurrent_retries_of_a_timed_out_card_payment_never_fail(api: ApiClient, bank: dict) -> None:
    customer = _customer(api)
    body = {"customer": customer, "amount": "9.00", "method": "card", "card_token": "tok_timeout"}
    token = api.headers["HTTP_AUTHORIZATION"].split()[1]
    answers: list[Any] = []

    def pay() -> None:
        try:
            answers.append(ApiClient(token).post("/payments", body, {"Idempotency-Key": "same"}))
        finally:
            from django.db import connection

            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert len(answers) == 30
    assert all(answer.status in (201, 409) for answer in answers), [a.body for a in answers if a.status >= 500]
    assert Document.objects.filter(type="payment").count() <= 1
    assert SandboxOperation.objects.filter(kind="charge").exclude(status="lost").count() <= 1


def test_the_audit_export_neutralises_formulas_and_writes_json(api: ApiClient, bank: dict) -> None:
    checker = ApiClient(create_token(make_user("checker", "approver")))
    for comment in ('=HYPERLINK("http://evil","x")', "+cmd|' /C calc'!A0"):
        refund = _held_refund(api, "5.00")
        assert checker.post(f"/refunds/{refund['id']}/reject", {"comment": comment}).status == 200

    exported = api.client.get("/api/v1/audit.csv", **api.headers)
    rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8"))))

    assert exported["Content-Type"] == "text/csv; charset=utf-8"
    comments = [row["comment"] for row in rows if row["comment"]]
    assert comments and all(not comment.startswith(("=", "+", "-", "@")) for comment in comments)
    assert "'+cmd|' /C calc'!A0" in comments
    created = next(row for row in rows if row["action"] == "refund.create")
    assert json.loads(created["after"])["status"] == "hold"


def test_a_credit_on_hold_can_be_withdrawn_and_counts_nowhere(api: ApiClient, bank: dict) -> None:
    customer = _customer(api)
    held = api.post("/credit-notes", {"customer": customer, "amount": "15.00", "reason": "goodwill", "hold": True})
    assert api.get(f"/customers/{customer}").body["balance"] == "-15.00"

    withdrawn = api.post(f"/documents/{held.body['id']}/cancel")
    again = api.post(f"/documents/{held.body['id']}/cancel")

    assert (withdrawn.status, withdrawn.body["status"]) == (200, "cancelled")
    assert (again.status, again.body["error"]) == (409, "not_on_hold")
    assert api.get(f"/customers/{customer}").body["balance"] == "0.00"
    assert ledger_is_clean() == {}


# --- 10. answers show what was stored; approvals keep verify clean ---------------------------


def test_an_auto_apply_customers_answers_show_the_oustanding_after_auto_apply(api: ApiClient, bank: dict) -> None:
    customer = _customer(api, auto_apply=True)
    line = {"description": "Work", "quantity": "1", "unit_price": "30.00"}
    invoice = api.post("/invoices", {"customer": customer, "lines": [line]}).body

    payment = api.post("/payments", {"customer": customer, "amount": "10.00", "method": "bank_transfer"}).body
    credit = api.post("/credit-notes", {"customer": customer, "amount": "25.00", "reason": "goodwill"}).body
    held = api.post("/credit-notes", {"customer": customer, "amount": "4.00", "reason": "goodwill", "hold": True}).body
    released = api.post(f"/documents/{held['id']}/release").body

    for answered in (payment, credit, released):
        stored = api.get(f"/documents/{answered['id']}").body
        assert (answered["outstanding"], answered["status"]) == (stored["outstanding"], stored["status"])
    assert (payment["outstanding"], payment["status"]) == ("0.00", "closed")
    assert (credit["outstanding"], credit["status"]) == ("5.00", "open")
    assert api.get(f"/documents/{invoice['id']}").body["outstanding"] == "0.00"


def test_approving_a_held_refund_keeps_ledger_verify_clean(api: ApiClient, four_eyes: None) -> None:
    refund = _held_refund(api, "20.00")
    checker = ApiClient(create_token(make_user("checker", "approver")))

    approved = checker.post(f"/refunds/{refund['id']}/approve", {"comment": "fine"})

    assert (approved.status, approved.body["status"]) == (200, "hold")
    assert ledger_is_clean() == {}
