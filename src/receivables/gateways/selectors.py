"""Reads of e-transactions: what each charge has left to refund."""

from __future__ import annotations

from typing import Any

from django.db.models import BigIntegerField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from receivables.customers.models import Customer
from receivables.documents.models import DocumentType, Status
from receivables.gateways.models import ETransaction, TransactionKind, TransactionStatus

# Refunds that hold on to part of a charge: waiting, in flight, or paid.
RESERVING = [Status.HOLD, Status.PROCESSING, Status.REFUNDED]


def with_refundable(transactions: QuerySet[ETransaction]) -> QuerySet[Any]:
    """Annotate ``reserved_minor``: what the refunds drawing on each charge hold or have paid."""
    reserved = Coalesce(
        Sum(
            "refund_documents__total_minor",
            filter=Q(refund_documents__type=DocumentType.REFUND, refund_documents__status__in=RESERVING),
        ),
        Value(0),
        output_field=BigIntegerField(),
    )
    return transactions.annotate(reserved_minor=reserved)


def refundable_minor(etx: ETransaction) -> int:
    if etx.kind != TransactionKind.CHARGE or etx.status != TransactionStatus.SUCCEEDED:
        return 0
    reserved = getattr(etx, "reserved_minor", None)
    if reserved is None:
        reserved = with_refundable(ETransaction.objects.filter(pk=etx.pk)).values_list("reserved_minor", flat=True)[0]
    return max(etx.amount_minor - int(reserved), 0)


def customer_transactions(customer: Customer) -> QuerySet[ETransaction]:
    return with_refundable(ETransaction.objects.filter(customer=customer)).order_by("-requested_at", "-id")


def unresolved() -> QuerySet[ETransaction]:
    return ETransaction.objects.filter(status__in=[TransactionStatus.PENDING, TransactionStatus.UNKNOWN]).order_by("id")
