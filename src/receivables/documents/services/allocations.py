"""Allocations: applying a credit (payment, credit note) to a debit, undoing one, auto-apply.

An allocation moves what is outstanding on both documents and posts nothing: it matches
documents inside the receivable. It is undone by a reversal row, never deleted.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db import transaction

from receivables.core import audit, inputs, rows
from receivables.core.errors import Conflict, NotFound, ReceivablesError
from receivables.customers.models import Customer
from receivables.documents.models import ALLOCATION_TARGETS, CREDITS, Allocation, Document, DocumentType, Status
from receivables.documents.services.accounts import lock_customer, lock_documents, lock_with_customer, next_status
from receivables.money import Money
from receivables.rules import transitions


def all_that_fits(source: Document, target: Document) -> Money:
    """The amount an allocation takes when none is given: as much as both documents' O/S allow."""
    return Money(min(source.outstanding_minor, target.outstanding_minor), source.currency)


def _spending(document: Document, amount_minor: int) -> str:
    """The lifecycle action of taking ``amount_minor`` off a document's O/S."""
    return "pay_off" if amount_minor >= document.outstanding_minor else "pay_part"


def check_allocation(source: Document, target: Document, amount: Money) -> None:
    """Refuse an allocation that would break a rule; the codes are part of the API."""
    if source.pk == target.pk:
        raise ReceivablesError("allocation_to_itself", "a document cannot be applied to itself", "target")
    if source.type not in CREDITS:
        raise ReceivablesError("not_a_credit", "the source must be a payment or a credit note", "source")
    if target.type not in ALLOCATION_TARGETS:
        raise ReceivablesError("not_a_debit", "the target must be an invoice or a debit memo", "target")
    if source.customer_id != target.customer_id:
        raise ReceivablesError("other_customer", "both documents must belong to one customer", "target")
    if source.currency != target.currency or amount.currency != source.currency:
        raise ReceivablesError("currency_mismatch", "both documents must share a currency", "target")
    if not transitions.DOCUMENT.allows(source.status, _spending(source, amount.minor)):
        raise Conflict(f"source_{source.status}", f"the source is {source.status}", "source")
    if amount.minor <= 0:
        raise ReceivablesError("amount_not_positive", "must be more than zero", "amount")
    if amount.minor > source.outstanding_minor:
        raise Conflict("exceeds_source_outstanding", "more than the source's outstanding", "amount")
    if amount.minor > target.outstanding_minor:
        raise Conflict("exceeds_target_outstanding", "more than the target's outstanding", "amount")


_SETTLE = f"UPDATE {Document._meta.db_table} SET outstanding_minor = %s, status = %s WHERE id = %s"  # noqa: S608


def _settle(document: Document, applied_minor: int) -> None:
    """Move a locked document's O/S by ``applied_minor`` (negative: given back) and its status with it.

    A refund's status follows its own lifecycle (hold, processing, ...), not its O/S.
    """
    if document.type != DocumentType.REFUND:
        action = "reopen" if applied_minor < 0 else _spending(document, applied_minor)
        document.status = next_status(document, action)
    document.outstanding_minor -= applied_minor
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(_SETTLE, [document.outstanding_minor, document.status, document.pk])


def apply(
    source: Document, target: Document, amount: Money, *, user: object = None, date: datetime.date | None = None
) -> Allocation:
    """Apply inside the caller's transaction, with both documents already locked.

    Dated ``date`` (a person applying today), else when the later of the two documents took
    effect (an application made as a document is issued), and never before either document.
    """
    day = max(date or source.date, source.date, target.date)
    allocation = rows.insert(
        Allocation(source=source, target=target, amount_minor=amount.minor, date=day, created_by=audit.person(user))
    )
    _settle(source, amount.minor)
    _settle(target, amount.minor)
    audit.record(
        "allocation.create",
        allocation,
        before=None,
        after=_allocation_state(allocation),
        user=user,
        label=f"{source.number} → {target.number}",
    )
    return allocation


def _allocation_state(allocation: Allocation) -> dict:
    return audit.snapshot(allocation, ("source", "target", "amount_minor", "date", "reversal_of"))


@transaction.atomic
def allocate(source_id: int, target_id: int, amount: Money | None = None, *, user: object = None) -> Allocation:
    _, source = lock_with_customer(source_id, "source")
    # Locked after the source's customer: a target of another customer is refused below.
    target = lock_documents(target_id).get(target_id)
    if target is None:
        raise NotFound("document", target_id, "target")
    if target.type == DocumentType.REFUND:
        raise ReceivablesError("not_a_debit", "refunds are funded by creating them", "target")
    if amount is None:
        amount = all_that_fits(source, target)
    check_allocation(source, target, amount)
    return apply(source, target, amount, user=user, date=inputs.date(None))


@transaction.atomic
def reverse_allocation(allocation_id: int, *, user: object = None) -> Allocation:
    allocation = Allocation.objects.filter(pk=allocation_id).select_related("target").first()
    if allocation is None:
        raise NotFound("allocation", allocation_id, "allocation")
    if allocation.target.type == DocumentType.REFUND:
        raise Conflict("refund_allocation", "cancel the refund to return its reservation", "allocation")
    return undo_allocation(allocation, user=user)


def undo_allocation(allocation: Allocation, *, user: object = None) -> Allocation:
    """Reverse inside the caller's transaction (refund cancellation uses this too)."""
    lock_customer(allocation.target.customer_id)
    allocation = Allocation.objects.select_for_update().get(pk=allocation.pk)
    if allocation.reversal_of_id is not None:
        raise Conflict("is_reversal", "a reversal cannot itself be reversed", "allocation")
    if Allocation.objects.filter(reversal_of=allocation).exists():
        raise Conflict("already_reversed", "the allocation is already reversed", "allocation")
    locked = lock_documents(allocation.source_id, allocation.target_id)
    reversal = rows.insert(
        Allocation(
            source_id=allocation.source_id,
            target_id=allocation.target_id,
            amount_minor=-allocation.amount_minor,
            date=max(inputs.date(None), allocation.date),
            reversal_of=allocation,
            created_by=audit.person(user),
        )
    )
    _settle(locked[allocation.source_id], -allocation.amount_minor)
    _settle(locked[allocation.target_id], -allocation.amount_minor)
    audit.record(
        "allocation.reverse",
        allocation,
        before=_allocation_state(allocation),
        after=_allocation_state(reversal),
        user=user,
    )
    return reversal


def apply_credits_oldest_first(
    customer: Customer, *, user: object = None, known: Iterable[Document] = ()
) -> list[Allocation]:
    """Auto-apply: open credits settle open invoices and debit memos, oldest first.

    ``known`` are documents the caller holds (just issued or released, locked in this
    transaction): they are settled in place, so what the caller returns shows their new O/S.
    """
    held = {document.pk: document for document in known}
    open_documents = [
        held.get(document.pk, document)
        for document in Document.objects.select_for_update()
        .filter(customer=customer, status=Status.OPEN, outstanding_minor__gt=0)
        .order_by("date", "id")
    ]
    credits = [d for d in open_documents if d.type in CREDITS]
    debits = [d for d in open_documents if d.type in (DocumentType.INVOICE, DocumentType.DEBIT_MEMO)]
    made: list[Allocation] = []
    for credit in credits:
        for debit in debits:
            if credit.outstanding_minor == 0:
                break
            share = min(credit.outstanding_minor, debit.outstanding_minor)
            if share:
                made.append(apply(credit, debit, Money(share, customer.currency), user=user))
    return made


def apply_credits_of(documents: list[Document], *, user: object) -> None:
    """Auto-apply once per auto-apply customer after a batch of their new or released documents."""
    customers = {document.customer_id: document.customer for document in documents if document.customer.auto_apply}
    for customer_id, customer in customers.items():
        mine = [document for document in documents if document.customer_id == customer_id]
        apply_credits_oldest_first(customer, user=user, known=mine)
