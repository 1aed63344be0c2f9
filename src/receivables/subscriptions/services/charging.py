"""Charging and settling orders that a card pays (sales and renewals).

Card charges happen outside any database transaction (the gateway service records the
e-transaction first, so a crash leaves something to reconcile). Orders are therefore handled
a batch at a time in three steps: (1) one transaction places the orders, their invoices and
their charges, recorded as pending e-transactions with a key derived from the subscription and
period, so a rerun never charges twice; (2) the charges are sent; (3) one transaction applies
the payments and moves the subscriptions on. Every step can be repeated: a rerun finds the
orders it placed and the charges it made.

Locks follow the house order: customer rows, then subscription rows, then orders,
e-transactions and documents, then number sequences, each kind in id order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import OuterRef, Subquery

from receivables.core import audit, rows
from receivables.customers.models import Customer
from receivables.documents import services as documents
from receivables.documents.models import Document
from receivables.gateways import services as gateway_services
from receivables.gateways.models import ETransaction
from receivables.gateways.protocol import GatewayResult
from receivables.money import Money
from receivables.rules.transitions import ORDER, SUBSCRIPTION
from receivables.subscriptions.models import Order, OrderKind, OrderStatus, Subscription
from receivables.subscriptions.services.orders import SUBSCRIPTION_FIELDS, OrderResult, next_status


def _charge_key(order: Order) -> str:
    assert order.period_start is not None, "sales and renewal orders have a period"
    return f"{order.kind}-{order.subscription_id}-{order.period_start.isoformat()}"


def to_charge(orders: Iterable[Order]) -> list[Order]:
    # An order whose invoice the customer's credits paid in full is not charged.
    return [order for order in orders if order.charge_minor > 0]


def _charge_of(order: Order) -> ETransaction:
    assert order.transaction is not None, "an order to be charged is placed with its charge"
    return order.transaction


def _charge_id(order: Order) -> int:
    assert order.transaction_id is not None, "an order to be charged is placed with its charge"
    return order.transaction_id


def attach_charges(orders: list[Order]) -> None:
    """Record each order's card charge as a pending e-transaction and attach it to the (unsaved) order.

    Called in the transaction that places the orders: when it commits, every order points at
    a charge that the next bill run can finish with the same key, whatever happens next.
    """
    opened = gateway_services.open_charges(
        [
            gateway_services.GatewayCall(
                customer_id=order.customer_id,
                amount=Money(order.charge_minor, order.currency),
                payment_method=order.subscription.card_token,
                idempotency_key=_charge_key(order),
            )
            for order in orders
        ]
    )
    for order in orders:
        order.transaction = opened[_charge_key(order)]


@transaction.atomic
def _attach_missing_charges(orders: list[Order]) -> None:
    """Orders placed before orders carried their charge (an older bill run that stopped half-way)."""
    attach_charges(orders)
    for order in orders:
        order.save(update_fields=["transaction"])


def charge_and_settle(orders: list[Order], *, user: object) -> list[OrderResult]:
    """Send the orders' charges, outside any transaction, then settle the orders in one transaction.

    Every step can be repeated: the gateway answers a resent key with its first answer.
    """
    charged = [order for order in to_charge(orders) if order.status != OrderStatus.CANCELLED]
    if missing := [order for order in charged if order.transaction_id is None]:
        _attach_missing_charges(missing)
    answers = {order.pk: gateway_services.send_charge(_charge_of(order)) for order in charged}
    return _settle(orders, answers, user)


@transaction.atomic
def _settle(orders: list[Order], answers: dict[int, GatewayResult | None], user: object) -> list[OrderResult]:
    """Record the answers, apply the card payments to the invoices and move the subscriptions on.

    One transaction for the batch. The rows are locked in the house order (customers, then
    subscriptions, orders, e-transactions, invoices) and re-read, since another run may have
    settled some of them meanwhile.
    """
    customers = rows.lock(Customer, {order.customer_id for order in orders})
    subscriptions = rows.lock(Subscription, {order.subscription_id for order in orders})
    locked_orders = rows.lock(Order, {order.pk for order in orders})
    charged = [order for order in to_charge(locked_orders.values()) if order.pk in answers]
    charges = rows.lock(ETransaction, [_charge_id(order) for order in charged])
    invoices = documents.lock_documents(*{order.invoice_id for order in locked_orders.values() if order.invoice_id})
    outcomes = _record_charges(charged, charges, answers, customers, user)
    results: list[OrderResult] = []
    completed: list[int] = []
    moved: dict[int, Subscription] = {}
    changes: list[audit.Change] = []
    for order in locked_orders.values():
        outcome = outcomes.get(order.pk)
        paid = outcome is None or outcome.payment is not None
        subscription = subscriptions[order.subscription_id]
        results.append(OrderResult(subscription, order))
        if not _still_wanted(order, subscription):
            continue
        if paid and order.status != OrderStatus.COMPLETED:
            changes.append(_complete(order, outcome, invoices, user))
            completed.append(order.pk)
        if change := _advance(subscription, order, paid=paid):
            moved[subscription.pk] = subscription
            changes.append(change)
    # The payment of a completed order is the one its charge recorded (none if nothing was charged).
    paid_by = ETransaction.objects.filter(pk=OuterRef("transaction_id")).values("document_id")
    Order.objects.filter(pk__in=completed).update(status=OrderStatus.COMPLETED, payment=Subquery(paid_by))
    _save_moves(list(moved.values()))
    audit.record_many(changes, user=user)
    return results


def _still_wanted(order: Order, subscription: Subscription) -> bool:
    """An order cancelled while its charge was out, or of a cancelled subscription, moves nothing on.

    Its charge's payment, if the card was charged after all, stays on the customer's account
    as credit (refundable): it is never paid into a subscription that was cancelled.
    """
    order_goes_on = order.status == OrderStatus.COMPLETED or ORDER.allows(order.status, "complete")
    return order_goes_on and SUBSCRIPTION.allows(subscription.status, "pay")


def _record_charges(
    charged: list[Order],
    charges: dict[int, ETransaction],
    answers: dict[int, GatewayResult | None],
    customers: dict[int, Customer],
    user: object,
) -> dict[int, gateway_services.ChargeOutcome]:
    """Record the charges' answers and their card payments together; the outcomes by order."""
    # The payments are applied to their orders' invoices below, not to the customers' oldest debts.
    recorded = gateway_services.record_charges(
        [
            gateway_services.ChargeAnswer(
                charges[_charge_id(order)], answers[order.pk], order.date, f"Card payment for {order.number}"
            )
            for order in charged
        ],
        customers,
        user=user,
        apply_credits=False,
    )
    return {order.pk: outcome for order, outcome in zip(charged, recorded, strict=True)}


def _complete(
    order: Order, outcome: gateway_services.ChargeOutcome | None, invoices: dict[int, Document], user: object
) -> audit.Change:
    """Apply the card payment to the order's invoice and mark the order completed.

    The caller saves the order and records the returned change with the batch's others.
    """
    if outcome is not None and outcome.payment is not None and order.invoice_id is not None:
        _apply_payment(outcome.payment, invoices[order.invoice_id], user)
        order.payment = outcome.payment
    before = audit.snapshot(order, ("status",))
    order.status = next_status(ORDER, order.status, "complete")
    return audit.Change("order.completed", order, before=before, after={"status": order.status})


def _apply_payment(payment: Document, invoice: Document, user: object) -> None:
    """Apply as much of the payment as the (locked) invoice still owes."""
    amount = documents.all_that_fits(payment, invoice)
    if not amount.is_positive():
        # The invoice was settled meanwhile (staff took a payment): the card payment stays as credit.
        return
    documents.check_allocation(payment, invoice, amount)
    documents.apply(payment, invoice, amount, user=user)


def _advance(subscription: Subscription, order: Order, *, paid: bool) -> audit.Change | None:
    """Move the subscription on for a settled order; returns the change to audit, None if nothing changed."""
    before = audit.snapshot(subscription, SUBSCRIPTION_FIELDS)
    if order.kind == OrderKind.RENEWAL and subscription.current_period_start != order.period_start:
        assert order.period_start is not None and order.period_end is not None, "a renewal has a period"
        subscription.period_index += 1
        subscription.current_period_start = order.period_start
        subscription.current_period_end = order.period_end
    if paid or order.kind == OrderKind.RENEWAL:
        subscription.status = next_status(SUBSCRIPTION, subscription.status, "pay" if paid else "miss_payment")
    after = audit.snapshot(subscription, SUBSCRIPTION_FIELDS)
    if after == before:
        return None
    return audit.Change(
        f"subscription.{subscription.status}", subscription, before, after, label=f"subscription {subscription.pk}"
    )


# What settling an order may change on its subscription.
MOVED_FIELDS = ("status", "period_index", "current_period_start", "current_period_end")


def _save_moves(subscriptions: list[Subscription]) -> None:
    """Write the subscriptions' new states, one UPDATE per distinct state: a batch mostly moves alike."""
    alike: dict[tuple, list[int]] = defaultdict(list)
    for subscription in subscriptions:
        alike[tuple(getattr(subscription, name) for name in MOVED_FIELDS)].append(subscription.pk)
    for state, ids in alike.items():
        Subscription.objects.filter(pk__in=ids).update(**dict(zip(MOVED_FIELDS, state, strict=True)))
