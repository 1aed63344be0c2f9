"""Calls to the payment gateway, each recorded as an e-transaction before it is made.

A call happens outside any database transaction: the e-transaction is committed as
``pending`` first, so a crash or timeout leaves a record that ``gateway reconcile`` can
settle with the same idempotency key, and money moves at most once.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from receivables.core.errors import Conflict
from receivables.documents import services as documents
from receivables.documents.models import Document, PaymentMethod
from receivables.gateways.models import ETransaction, TransactionKind, TransactionStatus
from receivables.gateways.protocol import GatewayResult, GatewayTimeout, PaymentGateway
from receivables.money import Money

FINAL = (TransactionStatus.SUCCEEDED, TransactionStatus.DECLINED)


@cache
def _gateway_class(path: str) -> type:
    return import_string(path)


def gateway() -> PaymentGateway:
    return _gateway_class(settings.RECEIVABLES_GATEWAY)()


@dataclass(frozen=True)
class ChargeOutcome:
    transaction: ETransaction
    payment: Document | None


def call(send: Callable[[], GatewayResult]) -> GatewayResult:
    """Send one request; a timeout is an answer too: the outcome is unknown."""
    try:
        return send()
    except GatewayTimeout as timeout:
        return GatewayResult("unknown", reason=str(timeout))


@transaction.atomic
def open_transaction(
    *,
    customer_id: int,
    kind: str,
    amount: Money,
    payment_method: str,
    idempotency_key: str,
    parent: ETransaction | None = None,
    document: Document | None = None,
) -> ETransaction:
    """Record the call about to be made, or find the record of an earlier one with this key."""
    existing = ETransaction.objects.select_for_update().filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        same = (existing.customer_id, existing.kind, existing.amount_minor, existing.currency) == (
            customer_id,
            kind,
            amount.minor,
            amount.currency,
        )
        if not same:
            raise Conflict("idempotency_key_reused", "this key was used for a different request", "idempotency_key")
        return existing
    return ETransaction.objects.create(
        customer_id=customer_id,
        kind=kind,
        gateway=gateway().name,
        amount_minor=amount.minor,
        currency=amount.currency,
        payment_method=payment_method,
        idempotency_key=idempotency_key,
        status=TransactionStatus.PENDING,
        parent=parent,
        document=document,
    )


def record_answer(etx: ETransaction, result: GatewayResult) -> None:
    """Store the gateway's answer on a locked e-transaction."""
    etx.status = result.status
    etx.reference = result.reference or etx.reference
    etx.decline_reason = result.reason[:200] if result.status == "declined" else ""
    etx.answer = result.raw or {"status": result.status, "reason": result.reason}
    etx.answered_at = timezone.now()
    etx.save(update_fields=["status", "reference", "decline_reason", "answer", "answered_at"])


def charge(
    customer_id: int,
    amount: Money,
    payment_method: str,
    *,
    idempotency_key: str | None = None,
    user: object = None,
    date: datetime.date | None = None,
    description: str = "",
    apply_credits: bool = True,
) -> ChargeOutcome:
    """Charge a card token; when it succeeds, record the card payment. Never raises on a decline.

    ``apply_credits=False`` leaves the payment unapplied even for an auto-apply customer, for a
    caller that applies it to a particular invoice itself.
    """
    etx = open_transaction(
        customer_id=customer_id,
        kind=TransactionKind.CHARGE,
        amount=amount,
        payment_method=payment_method,
        idempotency_key=idempotency_key or f"charge-{uuid.uuid4().hex}",
    )
    if etx.status in FINAL:
        return ChargeOutcome(etx, etx.document)
    result = call(
        lambda: gateway().charge(amount=amount, payment_method=payment_method, idempotency_key=etx.idempotency_key)
    )
    return settle_charge(etx.pk, result, user=user, date=date, description=description, apply_credits=apply_credits)


@transaction.atomic
def settle_charge(
    etx_id: int,
    result: GatewayResult,
    *,
    user: object = None,
    date: datetime.date | None = None,
    description: str = "",
    apply_credits: bool = True,
) -> ChargeOutcome:
    etx = ETransaction.objects.get(pk=etx_id)
    documents.lock_customer(etx.customer_id)
    etx = ETransaction.objects.select_for_update().get(pk=etx_id)
    if etx.status in FINAL:
        return ChargeOutcome(etx, etx.document)
    record_answer(etx, result)
    if result.status != "succeeded":
        return ChargeOutcome(etx, None)
    payment = documents.record_payment(
        etx.customer_id,
        Money(etx.amount_minor, etx.currency),
        PaymentMethod.CARD,
        date=date,
        description=description or f"Card payment {etx.reference}",
        user=user,
        apply_credits=apply_credits,
    )
    Document.objects.filter(pk=payment.pk).update(previous_transaction=etx)
    payment.previous_transaction = etx
    etx.document = payment
    etx.save(update_fields=["document"])
    return ChargeOutcome(etx, payment)
