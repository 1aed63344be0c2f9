"""Write-offs: an open amount the business gives up on (bad debt, a short payment's pennies).

A write-off is a credit document (type ``write_off``): it posts Dr Bad debts / Cr Accounts
receivable and is applied to its target at once. At or above ``WRITE_OFF_APPROVAL_THRESHOLD`` it
waits on ``hold`` (posted, not applied, as a held credit note waits) until another person
approves it, who applies it, or rejects it, which withdraws it. A write-off is never refunded.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from receivables.banking.models import WriteOffDecision
from receivables.core import audit, inputs
from receivables.core.errors import Conflict, NotFound, ReceivablesError
from receivables.customers.models import Customer
from receivables.documents import services as documents
from receivables.documents.models import Document, DocumentType, Status
from receivables.ledger import services as ledger
from receivables.money import Money
from receivables.refunds.models import Decision
from receivables.rules import approval, posting

BAD_DEBT = "bad_debt"
SHORT_PAYMENT = "short_payment"
TARGET_TYPES = (DocumentType.INVOICE, DocumentType.DEBIT_MEMO)


def needs_approval(amount: Money) -> bool:
    return approval.needs_second_person(amount, approval.parse_thresholds(settings.WRITE_OFF_APPROVAL_THRESHOLD))


def _check_target(target: Document, amount: Money) -> None:
    if target.type not in TARGET_TYPES:
        raise ReceivablesError("not_a_debit", "only an invoice or a debit memo can be written off", "target")
    if target.status != Status.OPEN:
        raise Conflict(f"target_{target.status}", f"the target is {target.status}", "target")
    if amount.currency != target.currency:
        raise ReceivablesError("currency_mismatch", f"the target is in {target.currency}", "amount")
    if amount.minor <= 0:
        raise ReceivablesError("amount_not_positive", "must be more than zero", "amount")
    if amount.minor > target.outstanding_minor:
        raise Conflict("exceeds_target_outstanding", "more than the target's outstanding", "amount")


def write_off_locked(
    customer: Customer,
    target: Document,
    amount: Money,
    reason: str,
    *,
    kind: str = BAD_DEBT,
    user: object = None,
    date: datetime.date | None = None,
) -> Document:
    """Write off part of a locked target in the caller's transaction; held when it needs a second person."""
    _check_target(target, amount)
    held = needs_approval(amount)
    day = max(date or inputs.date(None), target.date)
    write_off = documents.issue(
        customer,
        DocumentType.WRITE_OFF,
        date=day,
        net=amount,
        tax=Money.zero(amount.currency),
        status=Status.HOLD if held else Status.OPEN,
        user=user,
        reason=kind,
        description=reason,
        invoice=target,
    )
    ledger.post(day, f"{write_off.number} {customer.number} {target.number}", posting.write_off(amount), write_off.pk)
    if not held:
        documents.apply(write_off, target, amount, user=user)
    return write_off


@transaction.atomic
def create_write_off(target_id: int, amount_text: object, reason: object, *, user: object = None) -> Document:
    customer, target = documents.lock_with_customer(target_id, "target")
    amount = inputs.money(amount_text, target.currency, "amount")
    text = inputs.text(reason, "reason", max_length=200)
    return write_off_locked(customer, target, amount, text, user=user)


def _lock_held(write_off_id: int, user: object) -> tuple[Customer, Document, User]:
    customer, write_off = documents.lock_with_customer(write_off_id, "id", kind="write_off")
    if write_off.type != DocumentType.WRITE_OFF:
        raise NotFound("write_off", write_off_id, "id")
    if write_off.status != Status.HOLD:
        raise Conflict("write_off_not_held", f"the write-off is {write_off.status}", "status")
    staff = audit.person(user)
    if staff is None or staff.pk == write_off.created_by_id:
        raise ReceivablesError(
            "self_approval", "a write-off is approved or rejected by someone other than its creator", "status"
        )
    return customer, write_off, staff


def _decide(write_off: Document, staff: User, decision: str, comment: str) -> None:
    WriteOffDecision.objects.create(write_off=write_off, user=staff, decision=decision, comment=comment)
    audit.record(
        f"write_off.{decision}", write_off, before=None, after={"decision": decision}, user=staff, comment=comment
    )


@transaction.atomic
def approve_write_off(write_off_id: int, *, user: object, comment: str = "") -> Document:
    """Another person approves: the write-off is released and applied to its target."""
    _, write_off, staff = _lock_held(write_off_id, user)
    _decide(write_off, staff, Decision.APPROVED, inputs.text(comment, "comment", max_length=500, required=False))
    assert write_off.invoice_id is not None, "a write-off names its target"
    target = documents.lock_documents(write_off.invoice_id)[write_off.invoice_id]
    amount = Money(write_off.total_minor, write_off.currency)
    _check_target(target, amount)
    documents.change_status(write_off, "release", user=staff, event="write_off.release")
    documents.apply(write_off, target, amount, user=staff, date=inputs.date(None))
    return write_off


@transaction.atomic
def reject_write_off(write_off_id: int, *, user: object, comment: str) -> Document:
    """Another person rejects: the write-off is withdrawn and its entry reversed."""
    customer, write_off, staff = _lock_held(write_off_id, user)
    _decide(write_off, staff, Decision.REJECTED, inputs.text(comment, "comment", max_length=500))
    documents.withdraw(customer, write_off, "withdraw", user=staff, memo=f"{write_off.number} rejected")
    return write_off


def withdraw_locked(customer: Customer, write_off: Document, memo: str, *, user: object = None) -> None:
    """Take back a write-off in the caller's transaction (its line was unmatched): allocation undone, entry reversed."""
    for allocation in write_off.allocations_out.filter(reversal_of__isnull=True, reversed_by__isnull=True):
        documents.undo_allocation(allocation, user=user)
    write_off.refresh_from_db()
    documents.withdraw(customer, write_off, "void", user=user, memo=memo)
