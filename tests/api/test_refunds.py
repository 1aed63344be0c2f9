"""Refunds through the API: bank and card, partial, declined, timed out, cancelled, repeated."""

from __future__ import annotations

from typing import Any

import pytest

from receivables.core.models import IdempotencyRecord
from receivables.documents.models import Allocation, Document
from receivables.gateways.models import ETransaction, SandboxOperation
from receivables.gateways.reconcile import reconcile
from receivables.gateways.sandbox import records_before_timeout
from receivables.ledger.models import JournalEntry
from tests.conftest import ApiClient, ledger_is_clean


def _customer(api: ApiClient, currency: str = "GBP", name: str = "Alice Brown") -> int:
    answer = api.post("/customers", {"name": name, "currency": currency})
    assert answer.status == 201, answer.body
    return answer.body["id"]


def _credit(api: ApiClient, customer: int, amount: str) -> dict:
    answer = api.post("/credit-notes", {"customer": customer, "amount": amount, "reason": "returned_goods"})
    assert answer.status == 201, answer.body
    return answer.body


def _card_payment(api: ApiClient, customer: int, amount: str, token: str = "tok_visa", key: str = "") -> Any:
    headers = {"Idempotency-Key": key} if key else None
    return api.post(
        "/payments", {"customer": customer, "amount": amount, "method": "card", "card_token": token}, headers
    )


def _refund(api: ApiClient, source: int, **fields: Any) -> Any:
    return api.post("/refunds", {"source": source, **fields})


def _outstanding(api: ApiClient, document_id: int) -> str:
    return api.get(f"/documents/{document_id}").body["outstanding"]


def _counts() -> tuple[int, ...]:
    return (
        Document.objects.count(),
        Allocation.objects.count(),
        JournalEntry.objects.count(),
        ETransaction.objects.count(),
        SandboxOperation.objects.count(),
    )


def test_seed_story_refund_of_outstanding_credit_note_to_a_chosen_bank_account(api: ApiClient, bank: dict) -> None:
    customer = _customer(api)
    credit = _credit(api, customer, "25.00")
    invoice = api.post(
        "/invoices",
        {
            "customer": customer,
            "lines": [{"description": "Cable", "quantity": "1", "unit_price": "20.00"}],
        },
    ).body
    assert api.post("/allocations", {"source": credit["id"], "target": invoice["id"], "amount": "20.00"}).status == 201
    reserve = bank[("GBP", "Reserve GBP")]

    refund = _refund(api, credit["id"], bank_account=reserve.pk)

    assert refund.status == 201, refund.body
    assert (refund.body["type"], refund.body["status"], refund.body["amount"]) == ("refund", "hold", "5.00")
    assert refund.body["bank_account"] == reserve.pk
    assert _outstanding(api, credit["id"]) == "0.00"
    assert api.get(f"/customers/{customer}/refundables").body["items"] == []
    statement = api.get(f"/customers/{customer}/statement").body
    assert [(line["type"], line["status"]) for line in statement["lines"]][-1] == ("refund", "hold")
    assert statement["closing_balance"] == api.get(f"/customers/{customer}").body["balance"] == "0.00"

    second = _refund(api, credit["id"], amount="0.01")
    assert (second.status, second.body["error"]) == (409, "nothing_outstanding")

    paid = api.post(f"/refunds/{refund.body['id']}/process")
    assert (paid.status, paid.body["status"]) == (200, "refunded")
    trial = {row["code"]: row for row in api.get("/ledger/trial-balance").body["accounts"]}
    assert trial[reserve.ledger_account.code]["credit"] == "5.00"
    assert trial["2200"]["debit"] == trial["2200"]["credit"] == "0.00"
    assert ledger_is_clean() == {}


def test_partial_refunds_of_a_payment_until_it_is_spent(api: ApiClient, bank: dict) -> None:
    customer = _customer(api)
    payment = api.post("/payments", {"customer": customer, "amount": "10.00", "method": "bank_transfer"}).body
    for amount, left in (("3.00", "7.00"), ("6.99", "0.01"), ("0.01", "0.00")):
        assert _refund(api, payment["id"], amount=amount).status == 201
        assert _outstanding(api, payment["id"]) == left
    refused = _refund(api, payment["id"], amount="0.01")
    assert (refused.status, refused.body["error"]) == (409, "nothing_outstanding")
    assert api.get(f"/customers/{customer}").body["balance"] == "0.00"
    assert ledger_is_clean() == {}


def test_card_refunds_add_up_to_exactly_the_charge_and_not_a_penny_more(api: ApiClient, bank: dict) -> None:
    customer = _customer(api)
    payment = _card_payment(api, customer, "30.00")
    assert payment.status == 201, payment.body
    charge_id = payment.body["transaction"]
    extra = _credit(api, customer, "50.00")

    first = _refund(api, payment.body["id"], amount="12.50")
    assert first.body["transaction"] == charge_id  # a card payment goes back to its card
    second = _refund(api, extra["id"], amount="17.50", transaction=charge_id)
    assert second.status == 201, second.body
    penny = _refund(api, extra["id"], amount="0.01", transaction=charge_id)
    assert (penny.status, penny.body["error"], penny.body["field"]) == (409, "exceeds_refundable", "transaction")

    for refund in (first, second):
        processed = api.post(f"/refunds/{refund.body['id']}/process")
        assert processed.body["status"] == "refunded", processed.body
    charge = next(t for t in api.get(f"/customers/{customer}/transactions").body["items"] if t["id"] == charge_id)
    assert charge["refundable"] == "0.00"
    reference = ETransaction.objects.get(pk=charge_id).reference
    refunded = SandboxOperation.objects.filter(parent_reference=reference, kind="refund", status="succeeded")
    assert sorted(op.amount_minor for op in refunded) == [1250, 1750]
    assert ledger_is_clean() == {}


def test_declined_card_payment_records_the_transaction_and_no_payment(api: ApiClient, bank: dict) -> None:
    customer = _customer(api)
    declined = _card_payment(api, customer, "9.99", token="tok_declined")
    assert (declined.status, declined.body["error"]) == (422, "card_declined")
    assert "insufficient funds" in declined.body["detail"]
    etx = api.get(f"/customers/{customer}/transactions").body["items"]
    assert [(t["kind"], t["status"], t["refundable"]) for t in etx] == [("charge", "declined", "0.00")]
    assert Document.objects.filter(customer_id=customer).count() == 0


def test_declined_refund_fails_then_can_be_cancelled_restoring_outstanding(api: ApiClient, bank: dict) -> None:
    customer = _customer(api)
    payment = _card_payment(api, customer, "20.00", token="tok_refund_declined").body
    refund = _refund(api, payment["id"]).body
    assert _outstanding(api, payment["id"]) == "0.00"

    failed = api.post(f"/refunds/{refund['id']}/process").body
    assert (failed["status"], failed["failure_reason"]) == ("failed", "refund_declined: the card account is closed")
    again = api.post(f"/refunds/{refund['id']}/process").body
    assert again["status"] == "failed"
    keys = ETransaction.objects.filter(document_id=refund["id"]).values_list("idempotency_key", flat=True)
    assert len(set(keys)) == 2  # a declined attempt moved no money; the retry is a new request

    cancelled = api.post(f"/refunds/{refund['id']}/cancel")
    assert (cancelled.status, cancelled.body["status"]) == (200, "cancelled")
    assert _outstanding(api, payment["id"]) == "20.00"
    assert api.get(f"/customers/{customer}").body["balance"] == "-20.00"
    assert ledger_is_clean() == {}


def _key_where(recorded: bool, prefix: str) -> str:
    return next(f"{prefix}-{n}" for n in range(1000) if records_before_timeout(f"{prefix}-{n}") == recorded)


@pytest.mark.parametrize("recorded", [True, False], ids=["recorded-before-timeout", "lost-before-recording"])
def test_card_charge_timeout_is_resolved_by_reconcile_once(api: ApiClient, bank: dict, recorded: bool) -> None:
    customer = _customer(api)
    client_key = next(
        f"pay-{n}" for n in range(1000) if records_before_timeout(f"payment-{api_user_pk()}-pay-{n}") == recorded
    )
    answer = _card_payment(api, customer, "15.00", token="tok_timeout", key=client_key)
    assert (answer.status, answer.body["error"]) == (409, "gateway_outcome_unknown")
    assert not IdempotencyRecord.objects.filter(key=client_key).exists()  # the client may retry
    assert Document.objects.filter(customer_id=customer).count() == 0

    resolutions = list(reconcile())
    assert [(r.kind, r.status, r.how == "sent again") for r in resolutions] == [("charge", "succeeded", not recorded)]
    assert list(reconcile()) == []
    payments = Document.objects.filter(customer_id=customer, type="payment")
    assert [p.total_minor for p in payments] == [1500]
    assert SandboxOperation.objects.filter(kind="charge", status="succeeded").count() == 1
    assert ledger_is_clean() == {}


def api_user_pk() -> int:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(username="admin").pk


def test_card_charge_timeout_retried_with_the_same_key_charges_once(api: ApiClient, bank: dict) -> None:
    customer = _customer(api)
    key = next(f"k{n}" for n in range(1000) if records_before_timeout(f"payment-{api_user_pk()}-k{n}"))
    assert _card_payment(api, customer, "8.00", token="tok_timeout", key=key).status == 409
    retry = _card_payment(api, customer, "8.00", token="tok_timeout", key=key)
    assert retry.status == 201, retry.body
    replay = _card_payment(api, customer, "8.00", token="tok_timeout", key=key)
    assert replay.body == retry.body
    assert SandboxOperation.objects.filter(kind="charge").count() == 1
    assert Document.objects.filter(customer_id=customer, type="payment").count() == 1


@pytest.mark.parametrize("recorded", [True, False], ids=["recorded-before-timeout", "lost-before-recording"])
def test_refund_timeout_stays_processing_until_retry_or_reconcile(api: ApiClient, bank: dict, recorded: bool) -> None:
    customer = _customer(api)
    refunds = []
    for _ in range(40):  # until one refund's first key has the wanted fate
        payment = _card_payment(api, customer, "5.00", token="tok_refund_timeout").body
        refund = _refund(api, payment["id"]).body
        if records_before_timeout(f"refund-{refund['id']}-attempt-1") == recorded:
            refunds.append(refund)
            break
    refund = refunds[0]

    processing = api.post(f"/refunds/{refund['id']}/process").body
    assert processing["status"] == "processing"
    assert processing["failure_reason"].startswith("outcome unknown")
    refused = api.post(f"/refunds/{refund['id']}/cancel")
    assert (refused.status, refused.body["error"]) == (409, "refund_not_cancellable")

    resolutions = list(reconcile())
    assert [(r.kind, r.status, r.how == "sent again") for r in resolutions] == [("refund", "succeeded", not recorded)]
    assert api.get(f"/refunds/{refund['id']}").body["status"] == "refunded"
    assert SandboxOperation.objects.filter(kind="refund", status="succeeded").count() == 1
    again = api.post(f"/refunds/{refund['id']}/process")
    assert (again.status, again.body["error"]) == (409, "refund_not_processable")
    assert ledger_is_clean() == {}


def test_retrying_process_after_a_timeout_uses_the_same_key(api: ApiClient, bank: dict) -> None:
    customer = _customer(api)
    payment = _card_payment(api, customer, "6.00", token="tok_refund_timeout").body
    refund = _refund(api, payment["id"]).body
    assert api.post(f"/refunds/{refund['id']}/process").body["status"] == "processing"
    assert api.post(f"/refunds/{refund['id']}/process").body["status"] == "refunded"
    calls = ETransaction.objects.filter(document_id=refund["id"], kind="refund")
    assert calls.count() == 1
    assert SandboxOperation.objects.filter(kind="refund").exclude(status="lost").count() == 1


def test_standalone_refund_gets_its_transaction_by_patch_before_processing(api: ApiClient, bank: dict) -> None:
    from receivables.refunds import services

    customer = _customer(api)
    payment = _card_payment(api, customer, "40.00").body
    credit = _credit(api, customer, "10.00")
    refund = services.create_refund(credit["id"], standalone=True)
    blocked = api.post(f"/refunds/{refund.pk}/process")
    assert (blocked.status, blocked.body["error"]) == (409, "transaction_required")

    patched = api.patch(f"/refunds/{refund.pk}", {"transaction": payment["transaction"]})
    assert (patched.status, patched.body["transaction"]) == (200, payment["transaction"])
    assert api.post(f"/refunds/{refund.pk}/process").body["status"] == "refunded"
    late = api.patch(f"/refunds/{refund.pk}", {"transaction": payment["transaction"]})
    assert (late.status, late.body["error"]) == (409, "refund_not_on_hold")
    assert ledger_is_clean() == {}


def test_cancel_restores_outstanding_and_reverses_the_entry(api: ApiClient, bank: dict) -> None:
    customer = _customer(api)
    credit = _credit(api, customer, "25.00")
    refund = _refund(api, credit["id"], amount="10.00").body
    assert _outstanding(api, credit["id"]) == "15.00"
    assert api.post(f"/refunds/{refund['id']}/cancel").body["status"] == "cancelled"
    assert _outstanding(api, credit["id"]) == "25.00"
    assert api.get(f"/customers/{customer}").body["balance"] == "-25.00"
    statement = api.get(f"/customers/{customer}/statement").body
    assert statement["closing_balance"] == "-25.00"
    assert statement["lines"][-1]["status"] == "cancelled"
    assert api.post(f"/refunds/{refund['id']}/process").status == 409
    assert ledger_is_clean() == {}


def test_refunded_refund_cannot_be_cancelled(api: ApiClient, bank: dict) -> None:
    customer = _customer(api)
    refund = _refund(api, _credit(api, customer, "5.00")["id"]).body
    api.post(f"/refunds/{refund['id']}/process")
    refused = api.post(f"/refunds/{refund['id']}/cancel")
    assert (refused.status, refused.body["error"]) == (409, "refund_not_cancellable")


def test_same_idempotency_key_creates_one_refund_and_refuses_a_different_body(api: ApiClient, bank: dict) -> None:
    customer = _customer(api)
    credit = _credit(api, customer, "25.00")
    headers = {"Idempotency-Key": "refund-once-1"}
    first = api.post("/refunds", {"source": credit["id"], "amount": "5.00"}, headers)
    repeat = api.post("/refunds", {"source": credit["id"], "amount": "5.00"}, headers)
    assert first.status == repeat.status == 201
    assert first.body == repeat.body
    assert Document.objects.filter(type="refund").count() == 1
    other = api.post("/refunds", {"source": credit["id"], "amount": "6.00"}, headers)
    assert (other.status, other.body["error"]) == (409, "idempotency_key_reused")
    assert _outstanding(api, credit["id"]) == "20.00"


def test_idempotent_process_returns_the_first_answer(api: ApiClient, bank: dict) -> None:
    customer = _customer(api)
    refund = _refund(api, _credit(api, customer, "5.00")["id"]).body
    headers = {"Idempotency-Key": "process-1"}
    first = api.post(f"/refunds/{refund['id']}/process", None, headers)
    second = api.post(f"/refunds/{refund['id']}/process", None, headers)
    assert first.status == second.status == 200
    assert first.body == second.body
    unkeyed = api.post(f"/refunds/{refund['id']}/process")
    assert unkeyed.status == 409


class TestBadInput:
    """Each refused request names the rule and changes nothing."""

    @pytest.fixture
    def book(self, api: ApiClient, bank: dict) -> dict:
        alice = _customer(api)
        bob = _customer(api, name="Bob Clarke")
        euro = _customer(api, currency="EUR", name="Emma Fischer")
        credit = _credit(api, alice, "25.00")
        invoice = api.post(
            "/invoices",
            {
                "customer": alice,
                "lines": [{"description": "Cable", "quantity": "1", "unit_price": "20.00"}],
            },
        ).body
        api.post("/allocations", {"source": credit["id"], "target": invoice["id"], "amount": "20.00"})
        held = api.post("/credit-notes", {"customer": alice, "amount": "3.00", "reason": "goodwill", "hold": True}).body
        bob_charge = _card_payment(api, bob, "50.00").body["transaction"]
        euro_charge = _card_payment(api, euro, "50.00").body["transaction"]
        declined = _card_payment(api, alice, "50.00", token="tok_declined")
        alice_declined = ETransaction.objects.get(customer_id=alice, status="declined").pk
        assert declined.status == 422
        small = _card_payment(api, alice, "2.00").body
        refund = _refund(api, _credit(api, alice, "1.00")["id"]).body
        return {
            "alice": alice,
            "bob": bob,
            "credit": credit,
            "invoice": invoice,
            "held": held,
            "bob_charge": bob_charge,
            "euro_charge": euro_charge,
            "declined": alice_declined,
            "small_charge": small["transaction"],
            "refund": refund,
            "eur_bank": bank[("EUR", "Main EUR")].pk,
        }

    @pytest.mark.parametrize(
        ("fields", "status", "code", "field"),
        [
            ({"amount": "5.01"}, 409, "refund_exceeds_outstanding", "amount"),
            ({"amount": "0.00"}, 422, "amount_not_positive", "amount"),
            ({"amount": "-1.00"}, 422, "amount_not_positive", "amount"),
            ({"amount": 5}, 422, "amount_not_string", "amount"),
            ({"amount": "1.001"}, 422, "too_many_decimals", "amount"),
            ({"source": "invoice"}, 422, "source_not_refundable", "source"),
            ({"source": "refund"}, 422, "source_not_refundable", "source"),
            ({"source": "held"}, 409, "source_on_hold", "source"),
            ({"customer": "bob"}, 422, "other_customer", "source"),
            ({"bank_account": "eur_bank"}, 422, "currency_mismatch", "bank_account"),
            ({"bank_account": 999999}, 404, "bank_account_not_found", "bank_account"),
            ({"transaction": "bob_charge"}, 422, "other_customer", "transaction"),
            ({"transaction": "euro_charge"}, 422, "other_customer", "transaction"),
            ({"transaction": "declined"}, 422, "not_a_successful_charge", "transaction"),
            ({"transaction": "small_charge", "amount": "3.00"}, 409, "exceeds_refundable", "transaction"),
            ({"source": 999999}, 404, "document_not_found", "source"),
            ({"unexpected": "x"}, 422, "extra_field", "unexpected"),
        ],
    )
    def test_create_refund_refused(
        self, api: ApiClient, book: dict, fields: dict, status: int, code: str, field: str
    ) -> None:
        body = {"source": book["credit"]["id"]}
        for name, value in fields.items():
            reference = book.get(value) if isinstance(value, str) and value in book else value
            body[name] = reference["id"] if isinstance(reference, dict) else reference
        before = _counts()
        answer = api.post("/refunds", body)
        assert (answer.status, answer.body["error"], answer.body["field"]) == (status, code, field), answer.body
        assert _counts() == before
        assert _outstanding(api, book["credit"]["id"]) == "5.00"

    def test_state_conflicts(self, api: ApiClient, book: dict) -> None:
        refund_id = book["refund"]["id"]
        assert api.post(f"/refunds/{refund_id}/process").body["status"] == "refunded"
        before = _counts()
        for path, body, code in (
            (f"/refunds/{refund_id}/process", None, "refund_not_processable"),
            (f"/refunds/{refund_id}/cancel", None, "refund_not_cancellable"),
        ):
            answer = api.post(path, body)
            assert (answer.status, answer.body["error"]) == (409, code)
        patched = api.patch(f"/refunds/{refund_id}", {"transaction": book["small_charge"]})
        assert (patched.status, patched.body["error"]) == (409, "refund_not_on_hold")
        assert _counts() == before
        assert api.get("/refunds/999999").status == 404
        assert api.get("/refunds", status="bogus").body["error"] == "invalid_choice"
