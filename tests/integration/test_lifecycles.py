"""Every status changes by its table: an action the table does not allow is refused with 409 and
changes nothing, through the API for refunds, subscriptions and credit documents, and through
the services for orders and e-transactions."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.db import connection, transaction

from receivables.core.errors import Conflict
from receivables.core.models import AuditEntry
from receivables.core.tokens import create_token
from receivables.customers import services as customers
from receivables.documents.models import Allocation, Document
from receivables.gateways import services as gateways
from receivables.gateways.models import ETransaction
from receivables.gateways.protocol import GatewayResult
from receivables.ledger.models import Account, JournalEntry, Posting
from receivables.money import Money
from receivables.rules import transitions
from receivables.subscriptions.models import Subscription
from tests.api.test_subscriptions import make_customer, make_plan, subscribe
from tests.conftest import ApiClient, business_day, ledger_is_clean, make_user, needs_postgres

# The refund actions the API offers, and the table action each stands for.
REFUND_ROUTES: dict[str, tuple[str, str, Any]] = {
    "edit": ("patch", "/refunds/{id}", {"transaction": None}),
    "approve": ("post", "/refunds/{id}/approve", {"comment": "ok"}),
    "reject": ("post", "/refunds/{id}/reject", {"comment": "no"}),
    "pay_by_transfer": ("post", "/refunds/{id}/process", None),
    "cancel": ("post", "/refunds/{id}/cancel", None),
}


def _state(document_id: int) -> tuple:
    document = Document.objects.get(pk=document_id)
    return (
        document.status,
        document.outstanding_minor,
        document.previous_transaction_id,
        Allocation.objects.count(),
        JournalEntry.objects.count(),
        AuditEntry.objects.count(),
    )


def _call(client: ApiClient, method: str, path: str, body: Any) -> Any:
    return client.patch(path, body) if method == "patch" else client.post(path, body)


def _refused_pairs(lifecycle: transitions.Lifecycle, actions: list[str]) -> list[tuple[str, str]]:
    return [
        (status, action) for status in lifecycle.statuses for action in actions if not lifecycle.allows(status, action)
    ]


@pytest.mark.parametrize(("status", "action"), _refused_pairs(transitions.REFUND, list(REFUND_ROUTES)))
def test_a_refund_action_its_status_does_not_allow_is_refused_and_changes_nothing(
    api: ApiClient, bank: dict, settings: Any, status: str, action: str
) -> None:
    checker = ApiClient(create_token(make_user("checker", "approver")))
    customer = api.post("/customers", {"name": "Tess Table", "currency": "GBP"}).body["id"]
    credit = api.post("/credit-notes", {"customer": customer, "amount": "9.00", "reason": "goodwill"}).body
    refund = api.post("/refunds", {"source": credit["id"]}).body
    Document.objects.filter(pk=refund["id"]).update(status=status)  # put it where the pair starts
    method, path, body = REFUND_ROUTES[action]
    before = _state(refund["id"])

    answer = _call(checker, method, path.format(id=refund["id"]), body)

    assert answer.status == 409, (status, action, answer.body)
    assert _state(refund["id"]) == before


@pytest.mark.parametrize("status", ["cancelled"])
def test_cancelling_a_subscription_its_status_does_not_allow_is_refused(
    api: ApiClient, bank: dict, status: str
) -> None:
    assert not transitions.SUBSCRIPTION.allows(status, "cancel")
    with business_day(datetime.date(2026, 1, 1)):
        sold = subscribe(api, make_customer(api), make_plan(api)).body
        Subscription.objects.filter(pk=sold["id"]).update(status=status)
        before = (Document.objects.count(), AuditEntry.objects.count())
        answer = api.post(f"/subscriptions/{sold['id']}/cancel", {"at": "2026-01-05"})
    assert (answer.status, answer.body["error"]) == (409, "subscription_cancelled")
    assert (Document.objects.count(), AuditEntry.objects.count()) == before


@pytest.mark.parametrize(
    ("status", "action"), _refused_pairs(transitions.DOCUMENT, ["release", "withdraw"]), ids=lambda value: value
)
def test_a_credit_action_its_status_does_not_allow_is_refused_and_changes_nothing(
    api: ApiClient, bank: dict, status: str, action: str
) -> None:
    customer = api.post("/customers", {"name": "Cora Credit", "currency": "GBP"}).body["id"]
    held = api.post("/credit-notes", {"customer": customer, "amount": "7.00", "reason": "goodwill", "hold": True}).body
    Document.objects.filter(pk=held["id"]).update(status=status)
    before = _state(held["id"])

    answer = api.post(f"/documents/{held['id']}/{'release' if action == 'release' else 'cancel'}")

    assert (answer.status, answer.body["error"]) == (409, "not_on_hold")
    assert _state(held["id"]) == before


@pytest.mark.django_db
@pytest.mark.parametrize("final", ["succeeded", "declined"])
def test_a_final_gateway_answer_is_never_overwritten(bank: dict, final: str) -> None:
    customer = customers.create_customer(name="Fay Final", currency="GBP")
    etx = gateways.open_transaction(
        customer_id=customer.pk, kind="charge", amount=Money(500, "GBP"), payment_method="tok_visa", idempotency_key="k"
    )
    ETransaction.objects.filter(pk=etx.pk).update(status=final)
    etx.refresh_from_db()
    with pytest.raises(Conflict) as refused, transaction.atomic():
        gateways.record_answer(etx, GatewayResult("unknown"))
    assert refused.value.code == "transaction_final"
    assert ETransaction.objects.get(pk=etx.pk).status == final


def test_every_lifecycle_names_a_refusal_for_each_of_its_actions() -> None:
    lifecycles = [
        transitions.SUBSCRIPTION,
        transitions.ORDER,
        transitions.DOCUMENT,
        transitions.REFUND,
        transitions.E_TRANSACTION,
        transitions.APPROVAL,
    ]
    for lifecycle in lifecycles:
        assert set(lifecycle.actions) <= set(lifecycle.refusals), lifecycle.name
        with pytest.raises(transitions.TransitionRefused):
            lifecycle.next("no such status", lifecycle.actions[0])
    # Nothing leaves a final state.
    for lifecycle, final in [
        (transitions.REFUND, ("refunded", "cancelled")),
        (transitions.SUBSCRIPTION, ("cancelled",)),
        (transitions.ORDER, ("completed", "cancelled")),
        (transitions.E_TRANSACTION, ("succeeded", "declined")),
    ]:
        assert not any(status in final for status, _ in lifecycle.moves), lifecycle.name


@needs_postgres
@pytest.mark.django_db
def test_postgresql_refuses_to_commit_an_unbalanced_journal_entry(bank: dict) -> None:
    receivable = Account.objects.get(code="1100")
    with pytest.raises(Exception, match="does not balance"), transaction.atomic():
        entry = JournalEntry.objects.create(date=datetime.date(2026, 1, 1), memo="lopsided", currency="GBP")
        Posting.objects.create(entry=entry, account=receivable, currency="GBP", debit_minor=100)
        Posting.objects.create(entry=entry, account=receivable, currency="GBP", credit_minor=99)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # what COMMIT does
    assert ledger_is_clean() == {}
