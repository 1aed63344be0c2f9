"""Calls to the payment gateway, each recorded as an e-transaction before it is made.

A call happens outside any database transaction: the e-transaction is committed as
``pending`` first, so a crash or timeout leaves a record that ``gateway reconcile`` can
settle with the same idempotency key, and money moves at most once.
"""

from __future__ import annotations

import datetime
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from receivables.core import inputs, rows
from receivables.core.errors import Conflict
from receivables.customers.models import Customer
from receivables.documents import services as documents
from receivables.documents.models import Document, PaymentMethod
from receivables.gateways.models import ETransaction, TransactionKind, TransactionStatus
from receivables.gateways.protocol import GatewayResult, GatewayTimeout, PaymentGateway
from receivables.money import Money
from receivables.rules import transitions
from receivables.rules.transitions import TransitionRefused

FINAL = (TransactionStatus.SUCCEEDED, TransactionStatus.DECLINED)
# A call recorded but unanswered for this long was abandoned by a process that died: nothing can
# still be waiting for its answer, so it is sent again with its key (which moves money at most once).
ABANDONED_AFTER = datetime.timedelta(seconds=60)
# The gateways' idempotency keys hold 100 characters; a longer client key is represented by its digest.
KEY_LENGTH = 100


def is_abandoned(etx: ETransaction, older_than: datetime.timedelta = ABANDONED_AFTER) -> bool:
    return etx.status == TransactionStatus.PENDING and etx.requested_at <= timezone.now() - older_than


def derived_key(scope: str, client_key: str) -> str:
    """A gateway key for a client's Idempotency-Key: the same key always gives the same call."""
    key = f"{scope}-{client_key}"
    return key if len(key) <= KEY_LENGTH else f"{scope}-sha256-{hashlib.sha256(client_key.encode()).hexdigest()}"


@cache
def _gateway_class(path: str) -> type:
    return import_string(path)


def gateway() -> PaymentGateway:
    return _gateway_class(settings.RECEIVABLES_GATEWAY)()


@dataclass(frozen=True)
class ChargeOutcome:
    transaction: ETransaction
    payment: Document | None


@dataclass(frozen=True)
class GatewayCall:
    """A call to the gateway about to be recorded (a charge, a refund or a void): who, how much, card, key."""

    customer_id: int
    amount: Money
    payment_method: str
    idempotency_key: str


def call(send: Callable[[], GatewayResult]) -> GatewayResult:
    """Send one request; a timeout is an answer too: the outcome is unknown."""
    try:
        return send()
    except GatewayTimeout as timeout:
        return GatewayResult("unknown", reason=str(timeout))


def _check_same_request(existing: ETransaction, customer_id: int, kind: str, amount: Money) -> None:
    """An idempotency key stands for one request: reusing it for another is refused."""
    same = (existing.customer_id, existing.kind, existing.amount_minor, existing.currency) == (
        customer_id,
        kind,
        amount.minor,
        amount.currency,
    )
    if not same:
        raise Conflict("idempotency_key_reused", "this key was used for a different request", "idempotency_key")


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
        _check_same_request(existing, customer_id, kind, amount)
        return existing
    request = GatewayCall(customer_id, amount, payment_method, idempotency_key)
    pending = _pending(request, kind, parent=parent, document=document)
    pending.save(force_insert=True)
    return pending


def _pending(
    request: GatewayCall, kind: str, *, parent: ETransaction | None = None, document: Document | None = None
) -> ETransaction:
    """The record of a call about to be made, not yet saved."""
    return ETransaction(
        customer_id=request.customer_id,
        kind=kind,
        gateway=gateway().name,
        amount_minor=request.amount.minor,
        currency=request.amount.currency,
        payment_method=request.payment_method,
        idempotency_key=request.idempotency_key,
        status=TransactionStatus.PENDING,
        parent=parent,
        document=document,
    )


@transaction.atomic
def open_charges(requests: list[GatewayCall]) -> dict[str, ETransaction]:
    """``open_transaction`` for many charges at once: one lookup of the keys, one insert of the new ones.

    Returns the e-transactions by idempotency key. Commit them before sending any charge.
    """
    keys = [request.idempotency_key for request in requests]
    opened = {
        etx.idempotency_key: etx for etx in ETransaction.objects.select_for_update().filter(idempotency_key__in=keys)
    }
    new = []
    for request in requests:
        existing = opened.get(request.idempotency_key)
        if existing is not None:
            _check_same_request(existing, request.customer_id, TransactionKind.CHARGE, request.amount)
            continue
        new.append(_pending(request, TransactionKind.CHARGE))
    # Both databases return the new ids from a bulk insert (SQLite since 3.35).
    opened.update((etx.idempotency_key, etx) for etx in ETransaction.objects.bulk_create(new))
    return opened


def record_answer(etx: ETransaction, result: GatewayResult, *, document: Document | None = None) -> None:
    """Store the gateway's answer on a locked e-transaction (and the document it made, in the same write).

    The status moves by ``rules.transitions.E_TRANSACTION``: a final answer is never overwritten.
    """
    try:
        status = transitions.E_TRANSACTION.next(etx.status, transitions.OUTCOME_ACTIONS[result.status])
    except TransitionRefused as refused:
        raise Conflict(refused.code, str(refused), "transaction") from None
    answer = {
        "status": status,
        "reference": result.reference or etx.reference,
        "decline_reason": result.reason[:200] if result.status == "declined" else "",
        "answer": result.raw or {"status": result.status, "reason": result.reason},
        "answered_at": timezone.now(),
    }
    if document is not None:
        answer["document"] = document
    # A queryset update: a charge is answered once per renewal, and save() costs three times as much.
    ETransaction.objects.filter(pk=etx.pk).update(**answer)
    for name, value in answer.items():
        setattr(etx, name, value)


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
    result = send_charge(etx)
    if result is None:
        return ChargeOutcome(etx, etx.document)
    return settle_charge(etx.pk, result, user=user, date=date, description=description, apply_credits=apply_credits)


def send_charge(etx: ETransaction) -> GatewayResult | None:
    """Send a charge recorded as pending, outside any transaction; None if it already has its final answer."""
    if etx.status in FINAL:
        return None
    amount = Money(etx.amount_minor, etx.currency)
    return call(
        lambda: gateway().charge(amount=amount, payment_method=etx.payment_method, idempotency_key=etx.idempotency_key)
    )


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
    return record_charge(etx, result, user=user, date=date, description=description, apply_credits=apply_credits)


def record_charge(
    etx: ETransaction,
    result: GatewayResult | None,
    *,
    user: object = None,
    date: datetime.date | None = None,
    description: str = "",
    apply_credits: bool = True,
) -> ChargeOutcome:
    """Store the answer to a charge and, when it succeeded, the card payment, in the caller's transaction.

    The caller has locked the customer, then the e-transaction. ``result`` is None when the
    charge already had its final answer when it was to be sent (``send_charge``).
    """
    customers = rows.lock(Customer, [etx.customer_id])  # locked already: this only reads it
    answer = ChargeAnswer(etx, result, date, description)
    return record_charges([answer], customers, user=user, apply_credits=apply_credits)[0]


@dataclass(frozen=True)
class ChargeAnswer:
    """A charge's answer to record; ``result`` is None when the charge had its final answer already."""

    etx: ETransaction
    result: GatewayResult | None
    date: datetime.date | None = None
    description: str = ""


def _succeeded(answer: ChargeAnswer) -> bool:
    if answer.etx.status in FINAL:
        return False
    assert answer.result is not None, "a charge without a final answer was sent"
    return answer.result.status == "succeeded"


def _card_payment(answer: ChargeAnswer, customer: Customer) -> documents.NewPayment:
    assert answer.result is not None, "a charge that succeeded has its answer"
    etx = answer.etx
    return documents.NewPayment(
        customer,
        Money(etx.amount_minor, etx.currency),
        PaymentMethod.CARD,
        answer.date or inputs.date(None),
        None,  # card money waits in the gateway's clearing account
        {"description": answer.description or f"Card payment {answer.result.reference}", "previous_transaction": etx},
    )


def record_charges(
    answers: list[ChargeAnswer], customers: dict[int, Customer], *, user: object = None, apply_credits: bool = True
) -> list[ChargeOutcome]:
    """``record_charge`` for a batch: the card payments of the charges that succeeded go in together.

    ``customers`` are the charges' customers, locked by the caller before the e-transactions.
    """
    succeeded = [answer for answer in answers if _succeeded(answer)]
    payments = documents.record_payments(
        [_card_payment(answer, customers[answer.etx.customer_id]) for answer in succeeded],
        user=user,
        apply_credits=apply_credits,
    )
    payment_of = {answer.etx.pk: payment for answer, payment in zip(succeeded, payments, strict=True)}
    outcomes = []
    for answer in answers:
        if answer.etx.status in FINAL:
            outcomes.append(ChargeOutcome(answer.etx, answer.etx.document))
            continue
        assert answer.result is not None, "a charge without a final answer was sent"
        payment = payment_of.get(answer.etx.pk)
        record_answer(answer.etx, answer.result, document=payment)
        outcomes.append(ChargeOutcome(answer.etx, payment))
    return outcomes
