"""Orders: invoicing a subscription's periods, and the records every order and subscription change leaves.

Every status change of a subscription or an order goes through ``rules.transitions``
(``SUBSCRIPTION``, ``ORDER``): an action the current status does not allow is refused.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from receivables.core import audit
from receivables.core.errors import Conflict
from receivables.core.numbering import next_numbers
from receivables.customers.models import Customer
from receivables.documents import services as documents
from receivables.documents.models import Document
from receivables.documents.services import LineInput
from receivables.money import Money
from receivables.rules import invoicing
from receivables.rules.transitions import Lifecycle, TransitionRefused
from receivables.subscriptions.models import Order, OrderKind, OrderStatus, PlanPeriod, Subscription

SUBSCRIPTION_FIELDS = (
    "customer",
    "plan_period",
    "status",
    "current_period_start",
    "current_period_end",
    "cancelled_on",
)
ORDER_FIELDS = (
    "number",
    "kind",
    "status",
    "customer",
    "subscription",
    "date",
    "period_start",
    "period_end",
    "invoice",
    "refund_policy",
    "give_back",
    "refund_minor",
    "credit_memo",
    "refund",
    "reason",
    "comment",
)


def record_order(order: Order, user: object) -> None:
    record_orders([order], user)


def record_orders(orders: list[Order], user: object) -> None:
    audit.record_many(
        [
            audit.Change(
                f"order.{order.kind}", order, before=None, after=audit.snapshot(order, ORDER_FIELDS), label=order.number
            )
            for order in orders
        ],
        user=user,
    )


def record_subscription(
    action: str, subscription: Subscription, before: dict | None, user: object, comment: str = ""
) -> None:
    after = audit.snapshot(subscription, SUBSCRIPTION_FIELDS)
    label = f"subscription {subscription.pk}"
    audit.record(action, subscription, before=before, after=after, user=user, comment=comment, label=label)


# Document and line descriptions hold 200 characters; a plan's name may take all of them.
DESCRIPTION_LENGTH = 200


def label(text: str) -> str:
    return text if len(text) <= DESCRIPTION_LENGTH else text[: DESCRIPTION_LENGTH - 1] + "…"


def _sale_lines(period: PlanPeriod, start: datetime.date, end: datetime.date, *, setup: bool) -> list[LineInput]:
    rate = Decimal(period.tax_rate)
    currency = period.plan.currency
    lines = []
    if setup and period.setup_fee_minor:
        price = Money(period.setup_fee_minor, currency).amount
        lines.append(LineInput(label(f"Setup fee: {period.plan.name} ({period.duration})"), Decimal(1), price, rate))
    price = Money(period.recurring_fee_minor, currency).amount
    text = label(f"{period.plan.name} ({period.duration}), {start.isoformat()} to {end.isoformat()}")
    lines.append(LineInput(text, Decimal(1), price, rate))
    return lines


def gross(line: LineInput, currency: str) -> Money:
    return invoicing.line_amounts(line.quantity, line.unit_price, line.tax_rate, currency).gross


@dataclass(frozen=True)
class PeriodToBill:
    """A period of a subscription to invoice; its customer is locked by the caller."""

    subscription: Subscription
    customer: Customer
    kind: str
    start: datetime.date
    end: datetime.date


def orders_for_periods(bills: list[PeriodToBill], user: object) -> list[Order]:
    """Invoice the periods and number their orders, inside the caller's transaction; the caller stores the orders."""
    lines = [
        _sale_lines(bill.subscription.plan_period, bill.start, bill.end, setup=bill.kind == OrderKind.SALES)
        for bill in bills
    ]
    sales = [
        documents.invoice_sale(
            bill.customer, sold, bill.start, label(f"{bill.kind.capitalize()}: {sold[-1].description}")
        )
        for bill, sold in zip(bills, lines, strict=True)
    ]
    # An auto-apply customer's open credits may pay part of an invoice at once: its O/S is what is charged.
    invoices = documents.create_sales(sales, user=user)
    numbers = next_numbers("order", len(bills))
    return [
        _order(bill, sold, invoice, number, user)
        for bill, sold, invoice, number in zip(bills, lines, invoices, numbers, strict=True)
    ]


def _order(bill: PeriodToBill, lines: list[LineInput], invoice: Document, number: str, user: object) -> Order:
    currency = bill.subscription.plan_period.plan.currency
    setup_gross = gross(lines[0], currency) if len(lines) == 2 else Money.zero(currency)
    return Order(
        number=number,
        kind=bill.kind,
        status=OrderStatus.WAITING_FOR_PAYMENT,
        customer_id=bill.subscription.customer_id,
        subscription=bill.subscription,
        date=bill.start,
        currency=currency,
        period_start=bill.start,
        period_end=bill.end,
        setup_minor=setup_gross.minor,
        recurring_minor=gross(lines[-1], currency).minor,
        tax_rate=bill.subscription.plan_period.tax_rate,
        charge_minor=invoice.outstanding_minor,
        invoice=invoice,
        created_by=audit.person(user),
    )


@dataclass(frozen=True)
class OrderResult:
    subscription: Subscription
    order: Order


def next_status(lifecycle: Lifecycle, status: str, action: str, field: str = "status") -> str:
    """The status ``action`` leads to; refused as a 409 with the lifecycle's code."""
    try:
        return lifecycle.next(status, action)
    except TransitionRefused as refused:
        raise Conflict(refused.code, str(refused), field) from None
