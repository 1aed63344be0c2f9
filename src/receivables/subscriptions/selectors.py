"""Reads of plans, subscriptions and orders shared by the API, the screens and the checks."""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Exists, OuterRef, QuerySet

from receivables.core import inputs
from receivables.core.errors import NotFound
from receivables.customers.models import Customer
from receivables.documents.models import Document
from receivables.subscriptions.models import Order, OrderStatus, Plan, Subscription, SubscriptionStatus


def active_periods_are_paid() -> Iterator[str]:
    """Every active subscription's current period has a completed (paid) sales or renewal order."""
    paid = Order.objects.filter(
        subscription=OuterRef("pk"),
        period_start=OuterRef("current_period_start"),
        status=OrderStatus.COMPLETED,
        kind__in=["sales", "renewal"],
    )
    unpaid = Subscription.objects.filter(status=SubscriptionStatus.ACTIVE).exclude(Exists(paid))
    for pk, start in unpaid.values_list("pk", "current_period_start")[:50]:
        yield f"subscription {pk} is active but its period from {start} has no paid order"


def get_plan(plan_id: object, field: str = "id") -> Plan:
    plan = Plan.objects.prefetch_related("periods").filter(pk=inputs.identifier(plan_id, field)).first()
    if plan is None:
        raise NotFound("plan", plan_id, field)
    return plan


def plans(*, include_superseded: bool = False) -> QuerySet[Plan]:
    found = Plan.objects.prefetch_related("periods").order_by("name", "id")
    return found if include_superseded else found.filter(is_current=True)


def get_subscription(subscription_id: object, field: str = "id") -> Subscription:
    ident = inputs.identifier(subscription_id, field)
    found = Subscription.objects.select_related("plan_period__plan").prefetch_related("orders")
    subscription = found.filter(pk=ident).first()
    if subscription is None:
        raise NotFound("subscription", subscription_id, field)
    return subscription


def customer_subscriptions(customer: Customer) -> QuerySet[Subscription]:
    found = Subscription.objects.filter(customer=customer).select_related("plan_period__plan")
    return found.prefetch_related("orders").order_by("id")


def get_order(order_id: object, field: str = "id") -> Order:
    related = ("invoice", "payment", "credit_memo", "refund")
    order = Order.objects.select_related(*related).filter(pk=inputs.identifier(order_id, field)).first()
    if order is None:
        raise NotFound("order", order_id, field)
    return order


def order_documents(order: Order) -> list[Document]:
    """The documents an order created, in the order they were made."""
    found = [order.invoice, order.payment, order.credit_memo, order.refund]
    return [document for document in found if document is not None]
