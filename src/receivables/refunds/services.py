"""Refund lifecycle: hold → processing → refunded / failed; hold or failed → cancelled.

A refund is allocated against its source the moment it is created, so the source's O/S drops
at once and no second refund can spend the same money while this one waits. Card refunds
go through the gateway in three steps: mark ``processing`` and record the e-transaction
(committed), call the gateway outside any transaction, then settle the answer.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.models import User
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
from receivables.refunds.models import Decision, RefundApproval
from receivables.rules import approval, posting


def _lock_refund(refund_id: int) -> tuple[Customer, Document]:
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
    customer, refund = _lock_refund(refund_id)
    if refund.status != Status.HOLD:
        raise Conflict("refund_not_on_hold", f"the refund is {refund.status}; only a held refund can change", "status")
    amount = Money(refund.total_minor, refund.currency)
    charge = _lock_charge(transaction_id, customer, amount, refund) if transaction_id is not None else None
    before = documents.audited(refund)
    Document.objects.filter(pk=refund.pk).update(previous_transaction=charge)
    refund.previous_transaction = charge
    audit.record("refund.update", refund, before=before, after=documents.audited(refund), user=user)
    return refund


def process_refund(refund_id: int, *, user: object = None) -> Document:
    """Pay a refund: by bank transfer at once, or through the gateway against its charge."""
    refund, etx = _start_processing(refund_id, user)
    if etx is None:
        return refund
    if etx.status in gateways.FINAL:
        return _settle_and_reload(etx, None, user)
    charge = etx.parent
    assert charge is not None
    amount = Money(etx.amount_minor, etx.currency)
    result = gateways.call(
        lambda: gateways.gateway().refund(
            amount=amount, charge_reference=charge.reference, idempotency_key=etx.idempotency_key
        )
    )
    return _settle_and_reload(etx, result, user)


def _settle_and_reload(etx: ETransaction, result: GatewayResult | None, user: object) -> Document:
    assert etx.document_id is not None, "a refund's e-transaction belongs to the refund"
    if result is not None:
        settle_refund(etx.pk, result, user=user)
    return Document.objects.get(pk=etx.document_id)


@transaction.atomic
def _start_processing(refund_id: int, user: object) -> tuple[Document, ETransaction | None]:
    """Move the refund to ``processing`` and record the gateway call about to be made.

    Returns the e-transaction to send, or None when the refund was paid by bank transfer.
    A refund whose last call timed out is sent again with the same key.
    """
    customer, refund = _lock_refund(refund_id)
    in_flight = refund.transactions.filter(kind=TransactionKind.REFUND).order_by("-id").first()
    if refund.status == Status.PROCESSING:
        if in_flight is not None and in_flight.status == TransactionStatus.UNKNOWN:
            return refund, in_flight
        raise Conflict("refund_in_progress", "the refund is already being processed", "status")
    if refund.status not in (Status.HOLD, Status.FAILED):
        raise Conflict("refund_not_processable", f"the refund is {refund.status}", "status")
    _check_second_person(refund, user)
    if refund.previous_transaction_id is None:
        if refund.standalone:
            raise Conflict("transaction_required", "choose the previous e-transaction first", "transaction")
        _mark_paid(customer, refund, documents.cash_ledger_code(refund.bank_account), user)
        return refund, None
    amount = Money(refund.total_minor, refund.currency)
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
    _set_status(refund, Status.PROCESSING, user=user, failure_reason="")
    return refund, etx


def _set_status(refund: Document, status: str, *, user: object, comment: str = "", **fields: object) -> None:
    before = documents.audited(refund)
    Document.objects.filter(pk=refund.pk).update(status=status, **fields)
    refund.status = status
    for name, value in fields.items():
        setattr(refund, name, value)
    audit.record(f"refund.{status}", refund, before=before, after=documents.audited(refund), user=user, comment=comment)


def _mark_paid(customer: Customer, refund: Document, cash_account: str, user: object) -> None:
    amount = Money(refund.total_minor, refund.currency)
    _set_status(
        refund,
        Status.REFUNDED,
        user=user,
        processed_at=timezone.now(),
        processed_by=audit.person(user),
        failure_reason="",
    )
    ledger.post(inputs.date(None), f"{refund.number} paid", posting.refund_paid(amount, cash_account), refund.pk)


def needs_approval(refund: Document) -> bool:
    thresholds = approval.parse_thresholds(settings.REFUND_APPROVAL_THRESHOLD)
    return approval.needs_second_person(Money(refund.total_minor, refund.currency), thresholds)


def _approved_by_another(refund: Document) -> bool:
    decisions = RefundApproval.objects.filter(refund=refund)
    if refund.created_by_id is not None:
        decisions = decisions.exclude(user_id=refund.created_by_id)
    latest = decisions.order_by("-id").first()
    return latest is not None and latest.decision == Decision.APPROVED


def _check_second_person(refund: Document, user: object) -> None:
    """Above the threshold the creator may not pay their own refund; processing by another approves it."""
    if not needs_approval(refund) or _approved_by_another(refund):
        return
    staff = audit.person(user)
    if staff is not None and staff.pk == refund.created_by_id:
        raise ReceivablesError(
            "approval_required", "another approver must approve or process a refund you created", "status"
        )
    if staff is not None:
        _decide(refund, staff, Decision.APPROVED, "approved by processing")


def _decide(refund: Document, user: User, decision: str, comment: str) -> None:
    RefundApproval.objects.create(refund=refund, user=user, decision=decision, comment=comment)
    audit.record(f"refund.{decision}", refund, before=None, after={"decision": decision}, user=user, comment=comment)


def _lock_for_decision(refund_id: int, user: object) -> tuple[Customer, Document, User]:
    customer, refund = _lock_refund(refund_id)
    if refund.status not in (Status.HOLD, Status.FAILED):
        raise Conflict("refund_not_pending", f"the refund is {refund.status}", "status")
    staff = audit.person(user)
    if staff is None or staff.pk == refund.created_by_id:
        raise ReceivablesError(
            "self_approval", "a refund is approved or rejected by someone other than its creator", "status"
        )
    return customer, refund, staff


@transaction.atomic
def approve_refund(refund_id: int, *, user: object, comment: str = "") -> Document:
    _, refund, staff = _lock_for_decision(refund_id, user)
    _decide(refund, staff, Decision.APPROVED, inputs.text(comment, "comment", max_length=500, required=False))
    return refund


@transaction.atomic
def reject_refund(refund_id: int, *, user: object, comment: str) -> Document:
    """Reject and cancel: the reservation returns to the source."""
    customer, refund, staff = _lock_for_decision(refund_id, user)
    _decide(refund, staff, Decision.REJECTED, inputs.text(comment, "comment", max_length=500))
    _withdraw_refund(customer, refund, user)
    return refund


@transaction.atomic
def settle_refund(etx_id: int, result: GatewayResult, *, user: object = None) -> Document:
    """Apply the gateway's answer to a refund's e-transaction, once."""
    etx = ETransaction.objects.get(pk=etx_id)
    assert etx.document_id is not None
    customer, refund = _lock_refund(etx.document_id)
    etx = ETransaction.objects.select_for_update().get(pk=etx_id)
    if etx.status in gateways.FINAL:
        return refund
    gateways.record_answer(etx, result)
    if result.status == "succeeded":
        _mark_paid(customer, refund, posting.CARD_GATEWAY_CLEARING, user)
    elif result.status == "declined":
        _set_status(refund, Status.FAILED, user=user, failure_reason=result.reason[:200] or "declined")
    else:
        _set_status(refund, Status.PROCESSING, user=user, failure_reason=f"outcome unknown: {result.reason}"[:200])
    return refund


@transaction.atomic
def cancel_refund(refund_id: int, *, user: object = None) -> Document:
    """Cancel a held or failed refund: its reservation returns to the source, its entry is reversed."""
    customer, refund = _lock_refund(refund_id)
    if refund.status not in (Status.HOLD, Status.FAILED):
        raise Conflict("refund_not_cancellable", f"the refund is {refund.status}", "status")
    _withdraw_refund(customer, refund, user)
    return refund


def _withdraw_refund(customer: Customer, refund: Document, user: object) -> None:
    reservation = Allocation.objects.filter(target=refund, reversal_of__isnull=True, reversed_by__isnull=True).first()
    if reservation is not None:
        documents.undo_allocation(reservation, user=user)
        refund.refresh_from_db()
    documents.withdraw(customer, refund, f"{refund.number} cancelled", user=user)
