"""Refund lifecycle (``rules.transitions.REFUND``): hold → processing → refunded / failed; hold or failed → cancelled.

A refund is allocated against its source the moment it is created, so the source's O/S drops
at once and no second refund can spend the same money while this one waits. Card refunds
go through the gateway in three steps: mark ``processing`` and record the e-transaction
(committed), call the gateway outside any transaction, then settle the answer. A bank refund
is paid by transfer from its bank account; a refund with neither a card charge nor a bank
account cannot be paid.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.utils import timezone

from receivables.core import audit, inputs
from receivables.core.errors import Conflict, NotFound, ReceivablesError
from receivables.customers.models import Customer
from receivables.documents import services as documents
from receivables.documents.models import REFUNDABLE, Allocation, Document, DocumentType, Status
from receivables.gateways import services as gateways
from receivables.gateways.models import ETransaction, TransactionKind, TransactionStatus
from receivables.gateways.protocol import GatewayResult
from receivables.gateways.selectors import RESERVING
from receivables.ledger import services as ledger
from receivables.money import Money
from receivables.refunds import approvals
from receivables.rules import posting, transitions


def lock_refund(refund_id: int) -> tuple[Customer, Document]:
    customer, refund = documents.lock_with_customer(refund_id, "id", kind="refund")
    if refund.type != DocumentType.REFUND:
        raise NotFound("refund", refund_id, "id")
    return customer, refund


def _check_source(source: Document) -> None:
    if source.type not in REFUNDABLE:
        raise ReceivablesError("source_not_refundable", "only a credit note or a payment can be refunded", "source")
    if source.status == Status.HOLD:
        raise Conflict("source_on_hold", "the source is on hold; release it first", "source")
    if source.status != Status.OPEN or source.outstanding_minor <= 0:
        raise Conflict("nothing_outstanding", "the source has nothing outstanding to refund", "source")


def _refund_amount(source: Document, amount: Money | None) -> Money:
    if amount is None:
        return Money(source.outstanding_minor, source.currency)
    if amount.currency != source.currency:
        raise ReceivablesError("currency_mismatch", f"the source is in {source.currency}", "amount")
    if amount.minor <= 0:
        raise ReceivablesError("amount_not_positive", "must be more than zero", "amount")
    if amount.minor > source.outstanding_minor:
        raise Conflict(
            "refund_exceeds_outstanding",
            f"more than the source's outstanding {Money(source.outstanding_minor, source.currency)}",
            "amount",
        )
    return amount


def _reserved_by_others(charge: ETransaction, refund: Document | None) -> int:
    others = Document.objects.filter(type=DocumentType.REFUND, previous_transaction=charge, status__in=RESERVING)
    if refund is not None:
        others = others.exclude(pk=refund.pk)
    return sum(others.values_list("total_minor", flat=True))


def _lock_charge(transaction_id: int, customer: Customer, amount: Money, refund: Document | None) -> ETransaction:
    """The previous e-transaction a card refund draws on, locked, with enough left for ``amount``."""
    charge = ETransaction.objects.select_for_update().filter(pk=transaction_id).first()
    if charge is None:
        raise NotFound("transaction", transaction_id, "transaction")
    if charge.customer_id != customer.pk:
        raise ReceivablesError("other_customer", "the transaction belongs to another customer", "transaction")
    if charge.kind != TransactionKind.CHARGE or charge.status != TransactionStatus.SUCCEEDED:
        raise ReceivablesError("not_a_successful_charge", "only a successful charge can be refunded", "transaction")
    if charge.currency != amount.currency:
        raise ReceivablesError("currency_mismatch", f"the charge is in {charge.currency}", "transaction")
    left = charge.amount_minor - _reserved_by_others(charge, refund)
    if amount.minor > left:
        raise Conflict(
            "exceeds_refundable", f"the charge has {Money(max(left, 0), charge.currency)} left to refund", "transaction"
        )
    return charge


@transaction.atomic
def create_refund(
    source_id: int,
    *,
    amount: Money | None = None,
    bank_account_id: int | None = None,
    transaction_id: int | None = None,
    user: object = None,
    date: datetime.date | None = None,
    standalone: bool = False,
) -> Document:
    """Create a refund on ``hold``, reserving its amount on the source at once."""
    customer, source = documents.lock_with_customer(source_id, "source")
    _check_source(source)
    money = _refund_amount(source, amount)
    if transaction_id is None and bank_account_id is None and source.previous_transaction_id is not None:
        # A card payment is refunded to the card it came from unless staff choose a bank account.
        transaction_id = source.previous_transaction_id
    bank = documents.find_cash_account(bank_account_id, source.currency)
    charge = _lock_charge(transaction_id, customer, money, None) if transaction_id is not None else None
    if bank is None and charge is None and not standalone:
        raise ReceivablesError(
            "no_default_bank_account", f"no bank account in {source.currency}; choose one", "bank_account"
        )
    day = date or inputs.date(None)
    refund = documents.issue(
        customer,
        DocumentType.REFUND,
        date=day,
        net=money,
        tax=Money.zero(money.currency),
        status=Status.HOLD,
        user=user,
        source=source,
        bank_account_id=bank.bank_account_id if bank else None,
        previous_transaction=charge,
        standalone=standalone,
        description=f"Refund of {source.number}",
    )
    documents.apply(source, refund, money, user=user)
    ledger.post(day, f"{refund.number} {customer.number}", posting.refund_owed(money), refund.pk)
    return refund


@transaction.atomic
def set_transaction(refund_id: int, transaction_id: int | None, *, user: object = None) -> Document:
    """Choose (or clear) the previous e-transaction of a held refund."""
    customer, refund = lock_refund(refund_id)
    documents.next_status(refund, "edit")
    amount = Money(refund.total_minor, refund.currency)
    charge = _lock_charge(transaction_id, customer, amount, refund) if transaction_id is not None else None
    documents.change_status(refund, "edit", user=user, event="refund.update", previous_transaction=charge)
    return refund


def process_refund(refund_id: int, *, user: object = None) -> Document:
    """Pay a refund: by bank transfer at once, or through the gateway against its charge."""
    refund, etx = _start_processing(refund_id, user)
    if etx is None:
        return refund
    if etx.status in gateways.FINAL:
        return Document.objects.get(pk=refund.pk)
    charge = etx.parent
    assert charge is not None
    amount = Money(etx.amount_minor, etx.currency)
    result = gateways.call(
        lambda: gateways.gateway().refund(
            amount=amount, charge_reference=charge.reference, idempotency_key=etx.idempotency_key
        )
    )
    settle_refund(etx.pk, result, user=user)
    return Document.objects.get(pk=refund.pk)


def _in_flight(refund: Document) -> ETransaction:
    """The gateway call of a processing refund, if its answer was lost or its caller died: send it again."""
    last = refund.transactions.filter(kind=TransactionKind.REFUND).order_by("-id").first()
    if last is None or not (last.status == TransactionStatus.UNKNOWN or gateways.is_abandoned(last)):
        raise Conflict("refund_in_progress", "the refund is already being processed", "status")
    documents.next_status(refund, "resend")
    return last


@transaction.atomic
def _start_processing(refund_id: int, user: object) -> tuple[Document, ETransaction | None]:
    """Move the refund on and record the gateway call about to be made.

    Returns the e-transaction to send, or None when the refund was paid by bank transfer.
    """
    customer, refund = lock_refund(refund_id)
    if refund.status == Status.PROCESSING:
        return refund, _in_flight(refund)
    by_card = refund.previous_transaction_id is not None
    documents.next_status(refund, "send" if by_card else "pay_by_transfer")
    approvals.check_second_person(refund, user)
    if not by_card:
        _pay_by_transfer(refund, user)
        return refund, None
    amount = Money(refund.total_minor, refund.currency)
    assert refund.previous_transaction_id is not None
    charge = _lock_charge(refund.previous_transaction_id, customer, amount, refund)
    declined_before = refund.transactions.filter(kind=TransactionKind.REFUND, status=TransactionStatus.DECLINED).count()
    etx = gateways.open_transaction(
        customer_id=customer.pk,
        kind=TransactionKind.REFUND,
        amount=amount,
        payment_method=charge.payment_method,
        idempotency_key=f"refund-{refund.pk}-attempt-{declined_before + 1}",
        parent=charge,
        document=refund,
    )
    documents.change_status(refund, "send", user=user, failure_reason="")
    return refund, etx


def _pay_by_transfer(refund: Document, user: object) -> None:
    """Staff confirm the transfer was sent from the refund's bank account."""
    if refund.standalone or refund.bank_account_id is None:
        raise Conflict(
            "transaction_required", "choose the previous e-transaction first (the card to refund)", "transaction"
        )
    _mark_paid(refund, "pay_by_transfer", documents.cash_ledger_code(refund.bank_account), user)


def _mark_paid(refund: Document, action: str, cash_account: str, user: object) -> None:
    documents.change_status(
        refund, action, user=user, processed_at=timezone.now(), processed_by=audit.person(user), failure_reason=""
    )
    amount = Money(refund.total_minor, refund.currency)
    ledger.post(inputs.date(None), f"{refund.number} paid", posting.refund_paid(amount, cash_account), refund.pk)


@transaction.atomic
def approve_refund(refund_id: int, *, user: object, comment: str = "") -> Document:
    _, refund = lock_refund(refund_id)
    documents.next_status(refund, "approve")
    staff = approvals.decider(refund, user)
    approvals.decide(refund, staff, "approve", inputs.text(comment, "comment", max_length=500, required=False))
    return refund


@transaction.atomic
def reject_refund(refund_id: int, *, user: object, comment: str) -> Document:
    """Reject and cancel: the reservation returns to the source."""
    customer, refund = lock_refund(refund_id)
    documents.next_status(refund, "reject")
    staff = approvals.decider(refund, user)
    approvals.decide(refund, staff, "reject", inputs.text(comment, "comment", max_length=500))
    withdraw_refund(customer, refund, "reject", user)
    return refund


@transaction.atomic
def settle_refund(etx_id: int, result: GatewayResult, *, user: object = None) -> Document:
    """Apply the gateway's answer to a refund's e-transaction, once."""
    etx = ETransaction.objects.get(pk=etx_id)
    assert etx.document_id is not None
    _, refund = lock_refund(etx.document_id)
    etx = ETransaction.objects.select_for_update().get(pk=etx_id)
    if etx.status in gateways.FINAL:
        return refund
    gateways.record_answer(etx, result)
    action = transitions.OUTCOME_ACTIONS[result.status]
    if result.status == "succeeded":
        _mark_paid(refund, action, posting.CARD_GATEWAY_CLEARING, user)
    elif result.status == "declined":
        documents.change_status(refund, action, user=user, failure_reason=result.reason[:200] or "declined")
    else:
        documents.change_status(refund, action, user=user, failure_reason=f"outcome unknown: {result.reason}"[:200])
    return refund


@transaction.atomic
def cancel_refund(refund_id: int, *, user: object = None) -> Document:
    """Cancel a held or failed refund: its reservation returns to the source, its entry is reversed."""
    customer, refund = lock_refund(refund_id)
    withdraw_refund(customer, refund, "cancel", user)
    return refund


def withdraw_refund(customer: Customer, refund: Document, action: str, user: object) -> None:
    documents.next_status(refund, action)
    reservation = Allocation.objects.filter(target=refund, reversal_of__isnull=True, reversed_by__isnull=True).first()
    if reservation is not None:
        documents.undo_allocation(reservation, user=user)
        refund.refresh_from_db()
    documents.withdraw(customer, refund, action, user=user)
