"""Reads of plans, subscriptions and orders shared by the API and the screens."""

from __future__ import annotations

from django.db.models import QuerySet

from receivables.core import inputs
from receivables.core.errors import NotFound
from receivables.customers.models import Customer
from receivables.documents.models import Document
from receivables.subscriptions.models import Order, Plan, Subscription


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
    related = ("invoice", "payment", "credit_memo", "refund", "transaction")
    order = Order.objects.select_related(*related).filter(pk=inputs.identifier(order_id, field)).first()
    if order is None:
        raise NotFound("order", order_id, field)
    return order


def order_documents(order: Order) -> list[Document]:
    """The documents an order created, in the order they were made."""
    found = [order.invoice, order.payment, order.credit_memo, order.refund]
    return [document for document in found if document is not None]
