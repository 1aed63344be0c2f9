from __future__ import annotations

from typing import Annotated

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status

from receivables.core import inputs
from receivables.core.errors import ReceivablesError
from receivables.core.idempotency import idempotent
from receivables.core.schemas import (
    REFUSED,
    Amount,
    AmountOut,
    ClosedSet,
    Currency,
    DateIn,
    Id,
    PathId,
    StrictIn,
    Timestamp,
    text,
)
from receivables.customers.selectors import get_customer
from receivables.documents.api import DocumentOut, StatusChoice, document_out
from receivables.documents.selectors import get_document, money
from receivables.gateways import selectors as gateway_selectors
from receivables.gateways.models import TransactionKind, TransactionStatus
from receivables.refunds import selectors, services

router = Router(tags=["refunds"])


class RefundIn(StrictIn):
    source: Id
    amount: Amount | None = None
    bank_account: Id | None = None
    transaction: Id | None = None
    customer: Id | None = None
    date: DateIn | None = None


class RefundList(Schema):
    items: list[DocumentOut]


@router.post("/refunds", response={201: DocumentOut, **REFUSED})
@idempotent
def create_refund(request: HttpRequest, body: RefundIn) -> Status:
    source = get_document(body.source, "source")
    if body.customer is not None and body.customer != source.customer_id:
        raise ReceivablesError("other_customer", "the source belongs to another customer", "source")
    amount = inputs.money(body.amount, source.currency, "amount") if body.amount is not None else None
    refund = services.create_refund(
        source.pk,
        amount=amount,
        bank_account_id=body.bank_account,
        transaction_id=body.transaction,
        user=request.user,
        date=inputs.date(body.date),
    )
    return Status(201, document_out(refund))


@router.get("/refunds", response={200: RefundList, **REFUSED})
def list_refunds(
    request: HttpRequest, status: StatusChoice | None = None, limit: int = Query(100, ge=1, le=1000)
) -> dict:
    return {"items": [document_out(r, with_lines=False) for r in selectors.refunds(status)[:limit]]}


@router.get("/refunds/{refund_id}", response={200: DocumentOut, **REFUSED})
def get_refund(request: HttpRequest, refund_id: PathId) -> dict:
    return document_out(get_document(refund_id, "id", "refund"))


class RefundPatch(StrictIn):
    transaction: Id | None


@router.patch("/refunds/{refund_id}", response={200: DocumentOut, **REFUSED})
def update_refund(request: HttpRequest, refund_id: PathId, body: RefundPatch) -> dict:
    return document_out(services.set_transaction(refund_id, body.transaction, user=request.user))


@router.post("/refunds/{refund_id}/process", response={200: DocumentOut, **REFUSED})
@idempotent(atomic=False)  # calls the gateway; the refund's own state and keys make it idempotent
def process_refund(request: HttpRequest, refund_id: PathId) -> dict:
    return document_out(services.process_refund(refund_id, user=request.user))


class DecisionIn(StrictIn):
    comment: Annotated[str, text(500, required=False)] = ""


@router.post("/refunds/{refund_id}/approve", response={200: DocumentOut, **REFUSED})
@idempotent
def approve_refund(request: HttpRequest, refund_id: PathId, body: DecisionIn) -> dict:
    return document_out(services.approve_refund(refund_id, user=request.user, comment=body.comment))


@router.post("/refunds/{refund_id}/reject", response={200: DocumentOut, **REFUSED})
@idempotent
def reject_refund(request: HttpRequest, refund_id: PathId, body: DecisionIn) -> dict:
    return document_out(services.reject_refund(refund_id, user=request.user, comment=body.comment))


@router.post("/refunds/{refund_id}/cancel", response={200: DocumentOut, **REFUSED})
@idempotent
def cancel_refund(request: HttpRequest, refund_id: PathId) -> dict:
    return document_out(services.cancel_refund(refund_id, user=request.user))


class TransactionOut(Schema):
    id: int
    kind: Annotated[str, ClosedSet("TransactionKind", TransactionKind.values)]
    amount: AmountOut
    currency: Currency
    status: Annotated[str, ClosedSet("TransactionStatus", TransactionStatus.values)]
    reference: str
    refundable: AmountOut
    payment_method: str
    decline_reason: str
    document: int | None
    parent: int | None
    idempotency_key: str
    requested_at: Timestamp
    answered_at: Timestamp | None


class TransactionList(Schema):
    items: list[TransactionOut]


@router.get("/customers/{customer_id}/transactions", response={200: TransactionList, **REFUSED})
def list_customer_transactions(request: HttpRequest, customer_id: PathId) -> dict:
    customer = get_customer(customer_id)
    return {
        "items": [
            {
                "id": etx.pk,
                "kind": etx.kind,
                "amount": money(etx.amount_minor, etx.currency),
                "currency": etx.currency,
                "status": etx.status,
                "reference": etx.reference,
                "refundable": money(gateway_selectors.refundable_minor(etx), etx.currency),
                "payment_method": etx.payment_method,
                "decline_reason": etx.decline_reason,
                "document": etx.document_id,
                "parent": etx.parent_id,
                "idempotency_key": etx.idempotency_key,
                "requested_at": etx.requested_at.isoformat(),
                "answered_at": etx.answered_at.isoformat() if etx.answered_at else None,
            }
            for etx in gateway_selectors.customer_transactions(customer)[:1000]
        ]
    }
