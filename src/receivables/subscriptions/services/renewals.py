"""Renewals and the bill run: each subscription whose period has ended gets a renewal order.

The bill run reads due subscriptions a batch at a time and renews one period of each per run;
it is idempotent (a rerun finds the orders it placed and resends their charges with the same
keys) and it first finishes the orders whose charge had no answer last time.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from django.db import transaction
from django.db.models.functions import Mod

from receivables.core import rows
from receivables.core.errors import ReceivablesError
from receivables.customers.models import Customer
from receivables.gateways.models import TransactionStatus
from receivables.rules import periods
from receivables.subscriptions.models import Order, OrderKind, OrderStatus, PlanPeriod, Subscription, SubscriptionStatus
from receivables.subscriptions.services.charging import attach_charges, charge_and_settle, to_charge
from receivables.subscriptions.services.orders import PeriodToBill, orders_for_periods, record_orders

# Subscriptions renewed per transaction. The invoice and order number sequences stay locked
# until the transaction commits, so a batch is kept small enough not to hold other writers for
# long (about a second), and large enough that its fixed statements cost little per renewal.
BATCH_SIZE = 200


@transaction.atomic
def _place_renewals(subscription_ids: list[int], day: datetime.date, user: object) -> list[Order]:
    """The renewal orders of the next period of those subscriptions still due, in one transaction.

    A rerun finds the orders it placed. Customers are locked before their subscriptions (the
    house order); the plan periods are read once for the whole batch.
    """
    customers = rows.lock(
        Customer, Subscription.objects.filter(pk__in=subscription_ids).values_list("customer_id", flat=True)
    )
    due = list(
        Subscription.objects.select_for_update()
        .filter(pk__in=subscription_ids, status=SubscriptionStatus.ACTIVE, current_period_end__lte=day)
        .order_by("pk")
    )
    terms = PlanPeriod.objects.select_related("plan").in_bulk({subscription.plan_period_id for subscription in due})
    placed = _renewals_placed(due)
    for subscription in due:
        subscription.plan_period = terms[subscription.plan_period_id]
    bills = [_next_period(subscription, customers) for subscription in due if subscription.pk not in placed]
    new = orders_for_periods(bills, user)
    attach_charges(to_charge(new))
    Order.objects.bulk_create(new)
    record_orders(new, user)
    new_of = {order.subscription_id: order for order in new}
    orders = []
    for subscription in due:
        order = placed.get(subscription.pk) or new_of[subscription.pk]
        order.subscription = subscription
        orders.append(order)
    return orders


def _renewals_placed(subscriptions: list[Subscription]) -> dict[int, Order]:
    """The renewal orders an earlier run placed for these subscriptions' next periods, by subscription."""
    next_start = {subscription.pk: subscription.current_period_end for subscription in subscriptions}
    found = Order.objects.select_related("transaction").filter(
        kind=OrderKind.RENEWAL, subscription_id__in=next_start, period_start__in=set(next_start.values())
    )
    return {order.subscription_id: order for order in found if order.period_start == next_start[order.subscription_id]}


def _next_period(subscription: Subscription, customers: dict[int, Customer]) -> PeriodToBill:
    start = subscription.current_period_end
    duration = periods.parse_duration(subscription.plan_period.duration)
    end = periods.period_end(subscription.anchor, duration, subscription.period_index + 1)
    return PeriodToBill(subscription, customers[subscription.customer_id], OrderKind.RENEWAL, start, end)


@dataclass
class BillRunSummary:
    date: datetime.date
    due: int = 0
    subscriptions: int = 0
    renewals: int = 0
    paid: int = 0
    unpaid: int = 0
    # Orders whose charge had no answer (a timeout) and that are now paid.
    resumed: int = 0
    failed: list[str] = field(default_factory=list)
    # Subscriptions still due after this run's renewal: more than one period behind, for a person to decide.
    behind: list[str] = field(default_factory=list)


# A charge without a final answer yet, or settled by ``gateway reconcile`` after its order gave up waiting.
RESUMABLE = (TransactionStatus.PENDING, TransactionStatus.UNKNOWN, TransactionStatus.SUCCEEDED)


def _resume_waiting_orders(day: datetime.date, summary: BillRunSummary, user: object) -> None:
    """Finish orders whose card charge had no answer: ask again with the same key, then settle.

    A declined charge is final and is not retried. The orders of subscriptions still due on
    ``day`` are left to the renewals that follow, which find them in their batches.
    """
    waiting = Order.objects.filter(
        status=OrderStatus.WAITING_FOR_PAYMENT,
        kind__in=[OrderKind.SALES, OrderKind.RENEWAL],
        transaction__status__in=RESUMABLE,
    ).exclude(subscription__status=SubscriptionStatus.ACTIVE, subscription__current_period_end__lte=day)
    # Few orders wait at a time; their ids are read first because settling changes the rows read.
    waiting_ids = list(waiting.order_by("pk").values_list("pk", flat=True))
    for first in range(0, len(waiting_ids), BATCH_SIZE):
        orders = Order.objects.select_related("subscription", "transaction").filter(
            pk__in=waiting_ids[first : first + BATCH_SIZE]
        )
        results = _isolating_failures(
            lambda batch: charge_and_settle(batch, user=user),
            list(orders.order_by("pk")),
            summary,
            lambda order: order.subscription_id,
        )
        summary.resumed += sum(1 for result in results if result.order.status == OrderStatus.COMPLETED)


def bill_run(
    day: datetime.date,
    *,
    user: object = None,
    batch_size: int = BATCH_SIZE,
    shard: tuple[int, int] = (0, 1),
    progress: Callable[[BillRunSummary], None] | None = None,
) -> BillRunSummary:
    """Renew every active subscription whose period ends on or before ``day``. Idempotent.

    Subscriptions are read in id order, a batch of ids at a time (keyset pagination), so memory
    stays flat however many there are and rows renewed meanwhile are never visited twice.
    ``shard=(k, n)`` takes only ids with ``id % n == k``, so n processes can share one run.
    ``progress`` is called after each batch.
    """
    index, shards = shard
    due = Subscription.objects.filter(status=SubscriptionStatus.ACTIVE, current_period_end__lte=day)
    if shards > 1:
        due = due.annotate(shard=Mod("pk", shards)).filter(shard=index)
    summary = BillRunSummary(date=day, due=due.count())
    if index == 0:
        _resume_waiting_orders(day, summary, user)
    last_id = 0
    while batch := list(due.filter(pk__gt=last_id).order_by("pk").values_list("pk", flat=True)[:batch_size]):
        _renew_batch(batch, day, user, summary)
        if progress is not None:
            progress(summary)
        last_id = batch[-1]
    return summary


def _renew_batch(subscription_ids: list[int], day: datetime.date, user: object, summary: BillRunSummary) -> None:
    """Renew the next period of each subscription of the batch: one period per subscription per run.

    One still due afterwards is further behind than a run should charge on its own (its owner's
    card would be charged for every missed period at once): it is reported instead.
    """
    summary.subscriptions += len(subscription_ids)
    orders = _isolating_failures(
        lambda ids: _place_renewals(ids, day, user), subscription_ids, summary, lambda subscription_id: subscription_id
    )
    results = _isolating_failures(
        lambda batch: charge_and_settle(batch, user=user), orders, summary, lambda order: order.subscription_id
    )
    paid = sum(1 for result in results if result.order.status == OrderStatus.COMPLETED)
    summary.renewals += len(results)
    summary.paid += paid
    summary.unpaid += len(results) - paid
    summary.behind += [
        f"subscription {result.subscription.pk}: still due, its period ended {result.subscription.current_period_end}"
        for result in results
        if result.subscription.status == SubscriptionStatus.ACTIVE and result.subscription.current_period_end <= day
    ]


Item = TypeVar("Item")
Done = TypeVar("Done")


def _isolating_failures(
    step: Callable[[list[Item]], list[Done]],
    items: list[Item],
    summary: BillRunSummary,
    subscription_of: Callable[[Item], int],
) -> list[Done]:
    """Run a step on the whole batch; if it fails, run it item by item so that only the culprit fails.

    One subscription that cannot renew (e.g. a changed customer currency) must not stop the run.
    A failed step's transaction rolled back, and rerunning a step is safe: it finds the orders
    placed, and resends the charges with their keys, which the gateway answers as before.
    """
    try:
        return step(items)
    except ReceivablesError as error:
        if len(items) == 1:
            summary.failed.append(f"subscription {subscription_of(items[0])}: {error.code}: {error}")
            return []
    done: list[Done] = []
    for item in items:
        done += _isolating_failures(step, [item], summary, subscription_of)
    return done
