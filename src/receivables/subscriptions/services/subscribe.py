"""Subscribing: a sales order invoices the first period (setup + recurring fee) and charges the card.

A subscription may start at most one period in the past: a forgotten start date must not
become a year of back-charges. A request sent again with its Idempotency-Key finds the
subscription it made and resends its charge with the same key, so the card is charged once.
"""

from __future__ import annotations

import datetime

from django.db import transaction

from receivables.core import inputs
from receivables.core.errors import Conflict, NotFound, ReceivablesError
from receivables.customers.selectors import get_customer
from receivables.documents import services as documents
from receivables.rules import periods
from receivables.subscriptions.models import Order, OrderKind, Plan, PlanPeriod, Subscription, SubscriptionStatus
from receivables.subscriptions.services.charging import attach_charges, charge_and_settle, to_charge
from receivables.subscriptions.services.orders import (
    OrderResult,
    PeriodToBill,
    orders_for_periods,
    record_order,
    record_subscription,
)


def _period_of(plan_id: int, period_id: int) -> PlanPeriod:
    plan = Plan.objects.filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("plan", plan_id, "plan")
    period = PlanPeriod.objects.select_related("plan").filter(pk=period_id).first()
    if period is None:
        raise NotFound("period", period_id, "period")
    if period.plan_id != plan.pk:
        raise ReceivablesError("period_not_in_plan", f"the period belongs to another plan than {plan_id}", "period")
    if not plan.is_current:
        raise Conflict("plan_superseded", "this plan version is no longer sold; use its current version", "plan")
    return period


def _first_period_end(period: PlanPeriod, start: datetime.date) -> datetime.date:
    end = periods.period_end(start, periods.parse_duration(period.duration), 0)
    if end < inputs.date(None):
        raise ReceivablesError(
            "start_too_early", f"a subscription starts at most one period ({period.duration}) in the past", "start"
        )
    return end


def _existing(key: str, customer_id: int, period: PlanPeriod, card_token: str, start: datetime.date) -> Order | None:
    """The sales order of the subscription an earlier request with this key made, if any."""
    made = Subscription.objects.filter(request_key=key).first()
    if made is None:
        return None
    if (made.customer_id, made.plan_period_id, made.card_token, made.anchor) != (
        customer_id,
        period.pk,
        card_token,
        start,
    ):
        raise Conflict("idempotency_key_reused", "this key was used for a different subscription", "Idempotency-Key")
    return Order.objects.select_related("subscription", "transaction").get(subscription=made, kind=OrderKind.SALES)


@transaction.atomic
def _open_subscription(
    customer_id: int, period: PlanPeriod, card_token: str, start: datetime.date, key: str | None, user: object
) -> Order:
    customer = documents.lock_customer(customer_id)
    if key is not None and (order := _existing(key, customer.pk, period, card_token, start)) is not None:
        return order
    if customer.currency != period.plan.currency:
        raise ReceivablesError(
            "currency_mismatch", f"the plan is in {period.plan.currency}, the customer in {customer.currency}", "plan"
        )
    subscription = Subscription.objects.create(
        customer=customer,
        plan_period=period,
        status=SubscriptionStatus.PENDING,
        card_token=card_token,
        anchor=start,
        period_index=0,
        current_period_start=start,
        current_period_end=_first_period_end(period, start),
        request_key=key,
    )
    record_subscription("subscription.create", subscription, None, user)
    bill = PeriodToBill(subscription, customer, OrderKind.SALES, start, subscription.current_period_end)
    (order,) = orders_for_periods([bill], user)
    attach_charges(to_charge([order]))
    order.save()
    record_order(order, user)
    return order


def subscribe(
    customer_id: int,
    plan_id: int,
    period_id: int,
    card_token: str,
    *,
    start: datetime.date | None = None,
    idempotency_key: str | None = None,
    user: object = None,
) -> OrderResult:
    """Place a sales order: invoice setup + recurring fee, charge the card, activate on success."""
    customer = get_customer(customer_id, "customer")
    period = _period_of(plan_id, period_id)
    token = inputs.text(card_token, "card_token", max_length=100)
    day = start or inputs.date(None)
    order = _open_subscription(customer.pk, period, token, day, idempotency_key, user)
    return charge_and_settle([order], user=user)[0]
