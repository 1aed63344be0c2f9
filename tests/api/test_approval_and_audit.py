"""Maker–checker on refunds, and the audit trail of a refund's whole life."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction

from receivables.core.models import AuditEntry
from receivables.core.tokens import create_token
from tests.conftest import ON_POSTGRES, ApiClient, make_user, needs_postgres


@pytest.fixture
def people(api: ApiClient, bank: dict) -> dict[str, ApiClient]:
    return {
        "maker": ApiClient(create_token(make_user("maker", "admin"))),
        "checker": ApiClient(create_token(make_user("checker", "approver"))),
        "clerk": ApiClient(create_token(make_user("clerk", "clerk"))),
    }


def _held_refund(client: ApiClient, amount: str) -> dict:
    customer = client.post("/customers", {"name": "Alice Brown", "currency": "GBP"}).body["id"]
    credit = client.post("/credit-notes", {"customer": customer, "amount": amount, "reason": "overcharge"}).body
    refund = client.post("/refunds", {"source": credit["id"]})
    assert refund.status == 201, refund.body
    return refund.body


def test_creator_cannot_process_own_refund_another_approver_can(people: dict, settings: Any) -> None:
    settings.REFUND_APPROVAL_THRESHOLD = "*=0"
    refund = _held_refund(people["maker"], "40.00")

    refused = people["maker"].post(f"/refunds/{refund['id']}/process")
    assert (refused.status, refused.body["error"]) == (403, "approval_required")
    assert people["maker"].get(f"/refunds/{refund['id']}").body["status"] == "hold"

    paid = people["checker"].post(f"/refunds/{refund['id']}/process")
    assert (paid.status, paid.body["status"]) == (200, "refunded")
    trail = people["maker"].get("/audit", object=f"document:{refund['id']}").body["items"]
    assert [(e["action"], e["actor"]) for e in trail] == [
        ("refund.create", "maker"),
        ("refund.approved", "checker"),
        ("refund.refunded", "checker"),
    ]


def test_threshold_per_currency_lets_small_refunds_through(people: dict, settings: Any) -> None:
    settings.REFUND_APPROVAL_THRESHOLD = "GBP=100.00,*=0"
    small = _held_refund(people["maker"], "99.99")
    large = _held_refund(people["maker"], "100.00")
    assert people["maker"].post(f"/refunds/{small['id']}/process").body["status"] == "refunded"
    assert people["maker"].post(f"/refunds/{large['id']}/process").status == 403


def test_approval_by_another_lets_the_creator_process_and_is_recorded_with_comment(people: dict, settings: Any) -> None:
    settings.REFUND_APPROVAL_THRESHOLD = "*=0"
    refund = _held_refund(people["maker"], "30.00")
    self_approval = people["maker"].post(f"/refunds/{refund['id']}/approve", {"comment": "fine by me"})
    assert (self_approval.status, self_approval.body["error"]) == (403, "self_approval")

    approved = people["checker"].post(f"/refunds/{refund['id']}/approve", {"comment": "matches the return"})
    assert approved.status == 200, approved.body
    assert people["maker"].post(f"/refunds/{refund['id']}/process").body["status"] == "refunded"
    approval = AuditEntry.objects.get(action="refund.approved", object_id=str(refund["id"]))
    assert (approval.actor_name, approval.comment) == ("checker", "matches the return")


def test_rejection_cancels_and_returns_the_reservation(people: dict, settings: Any) -> None:
    settings.REFUND_APPROVAL_THRESHOLD = "*=0"
    refund = _held_refund(people["maker"], "12.00")
    no_reason = people["checker"].post(f"/refunds/{refund['id']}/reject", {})
    assert (no_reason.status, no_reason.body["error"], no_reason.body["field"]) == (422, "required", "comment")
    rejected = people["checker"].post(f"/refunds/{refund['id']}/reject", {"comment": "customer kept the goods"})
    assert rejected.body["status"] == "cancelled"
    assert people["maker"].get(f"/documents/{refund['source']}").body["outstanding"] == "12.00"


def test_clerk_creates_but_may_not_process_or_cancel(people: dict) -> None:
    refund = _held_refund(people["clerk"], "5.00")
    assert people["clerk"].post(f"/refunds/{refund['id']}/process").status == 403
    assert people["clerk"].post(f"/refunds/{refund['id']}/cancel").status == 403
    assert people["checker"].post(f"/refunds/{refund['id']}/cancel").body["status"] == "cancelled"


def test_a_refunds_whole_life_leaves_one_row_per_change_with_before_and_after(people: dict) -> None:
    maker, checker = people["maker"], people["checker"]
    customer = maker.post("/customers", {"name": "Ben Clarke", "currency": "GBP"}).body["id"]
    payment = maker.post(
        "/payments", {"customer": customer, "amount": "20.00", "method": "card", "card_token": "tok_visa"}
    ).body
    credit = maker.post("/credit-notes", {"customer": customer, "amount": "8.00", "reason": "damaged"}).body

    refund = maker.post("/refunds", {"source": credit["id"]}, {"X-Request-ID": "req-create-1"}).body
    maker.patch(f"/refunds/{refund['id']}", {"transaction": payment["transaction"]})
    checker.post(f"/refunds/{refund['id']}/process")
    other = maker.post("/refunds", {"source": payment["id"], "amount": "2.00"}).body
    checker.post(f"/refunds/{other['id']}/cancel")

    paid = maker.get("/audit", object=f"document:{refund['id']}").body["items"]
    assert [e["action"] for e in paid] == ["refund.create", "refund.update", "refund.processing", "refund.refunded"]
    assert paid[0]["before"] is None and paid[0]["after"]["status"] == "hold"
    assert paid[0]["request_id"] == "req-create-1" and paid[0]["via"].startswith("token:")
    assert (paid[1]["before"]["previous_transaction"], paid[1]["after"]["previous_transaction"]) == (
        None,
        payment["transaction"],
    )
    assert [(e["before"]["status"], e["after"]["status"]) for e in paid[2:]] == [
        ("hold", "processing"),
        ("processing", "refunded"),
    ]
    cancelled = maker.get("/audit", object=f"document:{other['id']}").body["items"]
    assert [e["action"] for e in cancelled] == ["refund.create", "refund.cancel"]
    assert (cancelled[1]["before"]["status"], cancelled[1]["after"]["status"]) == ("hold", "cancelled")

    csv_text = maker.get("/audit.csv", object=f"document:{refund['id']}").body
    assert csv_text.splitlines()[0].startswith("id,at,actor")
    assert len(csv_text.strip().splitlines()) == 1 + len(paid)


@needs_postgres
def test_audit_rows_cannot_be_updated_or_deleted_on_postgres(people: dict) -> None:
    assert ON_POSTGRES
    people["maker"].post("/customers", {"name": "Dana Evans", "currency": "GBP"})
    entry = AuditEntry.objects.latest("id")
    for statement in (
        "UPDATE core_auditentry SET action = 'forged' WHERE id = %s",
        "DELETE FROM core_auditentry WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).action == entry.action


def test_held_refunds_screen_shows_who_may_approve(people: dict, settings: Any) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    settings.REFUND_APPROVAL_THRESHOLD = "GBP=100.00"
    small, large = _held_refund(people["maker"], "99.99"), _held_refund(people["maker"], "100.00")
    screen = Client()
    screen.force_login(get_user_model().objects.get(username="clerk"))
    page = screen.get("/refunds/held/").content.decode()

    def approvers_of(number: str) -> str:
        row = page.split(f'data-number="{number}"', 1)[1].split("</tr>", 1)[0]
        return row.split('<td class="approvers">', 1)[1].split("</td>", 1)[0]

    # The creator "maker" is an admin: it may process its own small refund, not the large one.
    assert approvers_of(small["number"]) == "any approver: admin, checker, maker"
    assert approvers_of(large["number"]) == "another approver: admin, checker"
