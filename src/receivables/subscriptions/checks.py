"""The subscriptions' invariants behind ``receivables ledger verify`` (registered in SubscriptionsConfig.ready)."""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef, Q

from receivables.core.checks import Problems
from receivables.core.numbering import numbering_gaps
from receivables.subscriptions.models import Order, OrderKind, OrderStatus, Subscription, SubscriptionStatus

SOLD = [OrderKind.SALES, OrderKind.RENEWAL]


def active_periods_are_paid() -> Problems:
    """Every active subscription's current period has a completed (paid) sales or renewal order."""
    paid = Order.objects.filter(
        subscription=OuterRef("pk"),
        period_start=OuterRef("current_period_start"),
        status=OrderStatus.COMPLETED,
        kind__in=SOLD,
    )
    unpaid = Subscription.objects.filter(status=SubscriptionStatus.ACTIVE).exclude(Exists(paid))
    for pk, start in unpaid.values_list("pk", "current_period_start")[:50]:
        yield f"subscription {pk} is active but its period from {start} has no paid order"


def cancelled_stay_cancelled() -> Problems:
    """A cancelled subscription is never active again, waits for no payment, and was paid for no later period."""
    revived = Subscription.objects.filter(cancelled_on__isnull=False).exclude(status=SubscriptionStatus.CANCELLED)
    for pk, status in revived.values_list("pk", "status")[:50]:
        yield f"subscription {pk} was cancelled but is {status}"
    cancelled = Q(subscription__status=SubscriptionStatus.CANCELLED)
    waiting = Order.objects.filter(cancelled, status=OrderStatus.WAITING_FOR_PAYMENT)
    for number in waiting.values_list("number", flat=True)[:50]:
        yield f"order {number} still waits for a payment of a cancelled subscription"
    later = Order.objects.filter(
        cancelled, kind__in=SOLD, status=OrderStatus.COMPLETED, period_start__gt=F("subscription__cancelled_on")
    )
    for number in later.values_list("number", flat=True)[:50]:
        yield f"order {number} paid for a period after its subscription was cancelled"


def order_numbers_are_gapless() -> Problems:
    return numbering_gaps(Order.objects.values_list("number", flat=True).iterator(chunk_size=10000))
