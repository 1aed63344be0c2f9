"""Settle e-transactions whose outcome is unknown, with their original idempotency keys.

For each one the gateway is asked what became of the key; if it never acted on it, the
same request is sent again with the same key, which can move money at most once. What an
answer means for the documents belongs to the area that made the call: charges are settled
here, refunds by the refunds area, which registers its settler (``settles``) when it loads.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db import transaction

from receivables.gateways import services as gateways
from receivables.gateways.models import ETransaction, TransactionKind
from receivables.gateways.protocol import GatewayResult
from receivables.gateways.selectors import unresolved
from receivables.money import Money

Settler = Callable[[int, GatewayResult], object]


@transaction.atomic
def _record_only(etx_id: int, result: GatewayResult) -> None:
    """A call with no document to settle (a void): its answer is the whole story."""
    etx = ETransaction.objects.select_for_update().get(pk=etx_id)
    if etx.status not in gateways.FINAL:
        gateways.record_answer(etx, result)


SETTLERS: dict[str, Settler] = {
    TransactionKind.CHARGE: gateways.settle_charge,
    TransactionKind.VOID: _record_only,
}


def settles(kind: str, settler: Settler) -> None:
    """An area above the gateways settles its own kind of call (refunds settle refunds)."""
    SETTLERS[kind] = settler


@dataclass(frozen=True)
class Resolution:
    transaction_id: int
    kind: str
    status: str
    # How it was settled: "looked up", "sent again", or why it was left alone.
    how: str
    resolved: bool = True


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


def reconcile(*, pending_older_than: datetime.timedelta = gateways.ABANDONED_AFTER) -> Iterator[Resolution]:
    """Resolve unknown e-transactions, and pending ones old enough to have been abandoned.

    A pending call younger than ``pending_older_than`` may still be in flight in another
    process: it is reported as skipped, with the reason, and left for a later run.
    """
    for etx in unresolved().select_related("parent").iterator(chunk_size=200):
        if etx.status == "pending" and not gateways.is_abandoned(etx, pending_older_than):
            age = int(pending_older_than.total_seconds())
            how = f"skipped: pending for less than {age} s, possibly still in flight"
            yield Resolution(etx.pk, etx.kind, etx.status, how, resolved=False)
            continue
        result = gateways.gateway().lookup(idempotency_key=etx.idempotency_key)
        how = "looked up"
        if result is None:
            result, how = _resend(etx), "sent again"
        SETTLERS[etx.kind](etx.pk, result)
        yield Resolution(etx.pk, etx.kind, ETransaction.objects.get(pk=etx.pk).status, how)
