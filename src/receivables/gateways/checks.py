"""Invariant 4: refunds against a charge never add up to more than it captured."""

from __future__ import annotations

from django.db.models import F, Q, Sum

from receivables.core.checks import Problems
from receivables.gateways.models import ETransaction, TransactionKind, TransactionStatus
from receivables.gateways.selectors import with_refundable


def refunds_within_charges() -> Problems:
    refunded = (
        ETransaction.objects.filter(kind=TransactionKind.CHARGE)
        .annotate(
            refunded=Sum(
                "children__amount_minor",
                filter=Q(children__kind=TransactionKind.REFUND, children__status=TransactionStatus.SUCCEEDED),
            )
        )
        .filter(refunded__gt=F("amount_minor"))
    )
    for etx in refunded[:50]:
        yield f"charge ETX-{etx.pk}: refunded {etx.refunded} of {etx.amount_minor} captured"
    reserved = with_refundable(ETransaction.objects.filter(kind=TransactionKind.CHARGE)).filter(
        reserved_minor__gt=F("amount_minor")
    )
    for charge in reserved[:50]:
        yield f"charge ETX-{charge.pk}: refunds reserve {charge.reserved_minor} of {charge.amount_minor} captured"
