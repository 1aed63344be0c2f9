"""Settle e-transactions whose outcome is unknown, with their original idempotency keys.

For each one the gateway is asked what became of the key; if it never acted on it, the
same request is sent again with the same key, which can move money at most once.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from receivables.gateways import services as gateways
from receivables.gateways.models import ETransaction, TransactionKind, TransactionStatus
from receivables.gateways.protocol import GatewayResult
from receivables.gateways.selectors import unresolved
from receivables.money import Money
from receivables.refunds.services import settle_refund


@dataclass(frozen=True)
class Resolution:
    transaction_id: int
    kind: str
    status: str
    resent: bool


def _resend(etx: ETransaction) -> GatewayResult:
    gateway = gateways.gateway()
    amount = Money(etx.amount_minor, etx.currency)
    parent_reference = etx.parent.reference if etx.parent else ""
    if etx.kind == TransactionKind.CHARGE:
        return gateways.call(
            lambda: gateway.charge(
                amount=amount, payment_method=etx.payment_method, idempotency_key=etx.idempotency_key
            )
        )
    if etx.kind == TransactionKind.REFUND:
        return gateways.call(
            lambda: gateway.refund(
                amount=amount, charge_reference=parent_reference, idempotency_key=etx.idempotency_key
            )
        )
    return gateways.call(lambda: gateway.void(charge_reference=parent_reference, idempotency_key=etx.idempotency_key))


@transaction.atomic
def _settle_other(etx_id: int, result: GatewayResult) -> None:
    etx = ETransaction.objects.select_for_update().get(pk=etx_id)
    if etx.status not in gateways.FINAL:
        gateways.record_answer(etx, result)


def settle(etx: ETransaction, result: GatewayResult) -> None:
    if etx.kind == TransactionKind.CHARGE:
        gateways.settle_charge(etx.pk, result)
    elif etx.kind == TransactionKind.REFUND:
        settle_refund(etx.pk, result)
    else:
        _settle_other(etx.pk, result)


def reconcile(*, pending_older_than: datetime.timedelta = datetime.timedelta(seconds=60)) -> Iterator[Resolution]:
    """Resolve unknown e-transactions, and pending ones old enough to have been abandoned."""
    cutoff = timezone.now() - pending_older_than
    for etx in unresolved().select_related("parent").iterator(chunk_size=200):
        if etx.status == TransactionStatus.PENDING and etx.requested_at > cutoff:
            continue  # possibly still in flight in another process
        result = gateways.gateway().lookup(idempotency_key=etx.idempotency_key)
        resent = result is None
        if result is None:
            result = _resend(etx)
        settle(etx, result)
        yield Resolution(etx.pk, etx.kind, ETransaction.objects.get(pk=etx.pk).status, resent)
