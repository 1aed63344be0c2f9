"""Cancelling a subscription: a cancellation order, its credit memo and held refund, and an end
to what the subscription left waiting.

The refund (R) for the current period follows the plan's refund policy (``rules.refund_policy``)
or the one staff choose. With a refund, the credit memo for R is created and reserved by a
refund on hold for R at once, before an auto-apply customer's open invoices could take it; with
``give_back="credit"`` the customer keeps the credit memo. An order still waiting for its
payment (a first charge or a renewal that was declined or had no answer) is cancelled and its
invoice credited, so the customer never owes for a period of a cancelled subscription; a charge
still without an answer is left to ``gateway reconcile``, whose payment then stays on account.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from receivables.core import audit, inputs
from receivables.core.errors import ReceivablesError
from receivables.core.numbering import next_number
from receivables.documents import services as documents
from receivables.documents.models import Document
from receivables.money import Money
from receivables.refunds import services as refund_services
from receivables.rules import refund_policy
from receivables.rules.transitions import ORDER, SUBSCRIPTION
from receivables.subscriptions.models import Order, OrderKind, OrderStatus, PlanPeriod, Subscription
from receivables.subscriptions.selectors import get_subscription
from receivables.subscriptions.services.orders import (
    SUBSCRIPTION_FIELDS,
    label,
    next_status,
    record_order,
    record_subscription,
)

GIVE_BACK = ("refund", "credit")
CANCELLATION_REASONS = (
    "customer_request",
    "too_expensive",
    "not_used",
    "moved_to_other_plan",
    "service_problem",
    "other",
)


@dataclass(frozen=True)
class CancellationQuote:
    subscription: Subscription
    at: datetime.date
    quote: refund_policy.Quote
    paid: refund_policy.Paid
    terms: refund_policy.RefundPolicy
    paid_order: Order | None

    def breakdown(self) -> dict:
        """The quote as the API shows it and the cancellation order keeps it: all amounts as text."""
        q = self.quote
        return {
            "refund_amount": q.amount.to_decimal_string(),
            "currency": q.amount.currency,
            "at": self.at.isoformat(),
            "refund_policy": q.policy,
            "rule": q.rule,
            "period_start": self.subscription.current_period_start.isoformat(),
            "period_end": self.subscription.current_period_end.isoformat(),
            "elapsed_days": q.elapsed_days,
            "period_days": q.period_days,
            "full_refund_days": self.terms.full_refund_days,
            "after_full_refund_period": self.terms.after_full_refund_period,
            "setup_fee_paid": self.paid.setup.to_decimal_string(),
            "recurring_fee_paid": self.paid.recurring.to_decimal_string(),
            "paid": self.paid.total.to_decimal_string(),
            "non_refundable_amount": q.non_refundable.to_decimal_string(),
            "tax_rate": str(self.paid.tax_rate),
            "net": q.net.to_decimal_string(),
            "tax": q.tax.to_decimal_string(),
            "invoice": self.paid_order.invoice_id if self.paid_order else None,
        }


def _paid_for_current_period(subscription: Subscription) -> tuple[refund_policy.Paid, Order | None]:
    """What was paid for the current period: nothing if its order still waits for payment."""
    period = subscription.plan_period
    currency = period.plan.currency
    order = (
        Order.objects.filter(
            subscription=subscription,
            period_start=subscription.current_period_start,
            kind__in=[OrderKind.SALES, OrderKind.RENEWAL],
        )
        .select_related("invoice")
        .first()
    )
    if order is None or order.status != OrderStatus.COMPLETED:
        zero = Money.zero(currency)
        return refund_policy.Paid(zero, zero, Decimal(order.tax_rate if order else period.tax_rate)), order
    paid = refund_policy.Paid(
        Money(order.setup_minor, currency), Money(order.recurring_minor, currency), Decimal(order.tax_rate)
    )
    return paid, order


def _terms(period: PlanPeriod) -> refund_policy.RefundPolicy:
    return refund_policy.RefundPolicy(
        Money(period.non_refundable_minor, period.plan.currency),
        period.full_refund_days,
        period.after_full_refund_period,
    )


def cancellation_quote(subscription: Subscription, at: datetime.date, policy: str = "plan") -> CancellationQuote:
    """Exactly what cancelling on ``at`` with ``policy`` would post."""
    inputs.choice(policy, "refund_policy", refund_policy.POLICY_CHOICES)
    next_status(SUBSCRIPTION, subscription.status, "cancel", "subscription")
    paid, order = _paid_for_current_period(subscription)
    terms = _terms(subscription.plan_period)
    try:
        result = refund_policy.quote(
            terms, paid, subscription.current_period_start, subscription.current_period_end, at, policy
        )
    except refund_policy.PolicyError as error:
        raise ReceivablesError(error.code, str(error), error.field) from None
    return CancellationQuote(subscription, at, result, paid, terms, order)


@transaction.atomic
def cancel(
    subscription_id: int,
    *,
    at: datetime.date | None = None,
    refund_policy_name: str = "plan",
    give_back: str = "refund",
    reason: str = "customer_request",
    comment: str = "",
    user: object = None,
) -> Order:
    """Place a cancellation order: a released credit memo for the refund, and a held refund.

    With ``give_back="credit"`` only the credit memo is made; the customer keeps it as credit.
    A refund of zero makes no documents.
    """
    inputs.choice(give_back, "give_back", GIVE_BACK)
    inputs.choice(reason, "reason", CANCELLATION_REASONS)
    comment = inputs.text(comment, "comment", max_length=500, required=False)
    day = at or inputs.date(None)
    subscription = get_subscription(subscription_id)
    documents.lock_customer(subscription.customer_id)
    subscription = (
        Subscription.objects.select_for_update(of=("self",)).select_related("plan_period__plan").get(pk=subscription.pk)
    )
    quoted = cancellation_quote(subscription, day, refund_policy_name)
    _end_waiting_orders(subscription, day, user)
    credit_memo, refund = _give_back(subscription, quoted, give_back, day, user)
    amount = quoted.quote.amount
    order = Order.objects.create(
        number=next_number("order"),
        kind=OrderKind.CANCELLATION,
        status=OrderStatus.COMPLETED,
        customer_id=subscription.customer_id,
        subscription=subscription,
        date=day,
        currency=amount.currency,
        tax_rate=str(quoted.paid.tax_rate),
        refund_policy=refund_policy_name,
        give_back=give_back,
        refund_minor=amount.minor,
        quote=quoted.breakdown(),
        credit_memo=credit_memo,
        refund=refund,
        reason=reason,
        comment=comment,
        created_by=audit.person(user),
    )
    record_order(order, user)
    _mark_cancelled(subscription, day, user, comment)
    return order


def _end_waiting_orders(subscription: Subscription, day: datetime.date, user: object) -> None:
    """Cancel the orders still waiting for a payment, and credit what their invoices still ask for."""
    waiting = Order.objects.select_for_update().filter(
        subscription=subscription, status=OrderStatus.WAITING_FOR_PAYMENT
    )
    for order in waiting.order_by("pk"):
        before = audit.snapshot(order, ("status",))
        order.status = next_status(ORDER, order.status, "cancel")
        order.save(update_fields=["status"])
        audit.record("order.cancelled", order, before=before, after={"status": order.status}, user=user)
        if order.invoice_id is not None:
            _credit_unpaid_invoice(order, day, user)


def _credit_unpaid_invoice(order: Order, day: datetime.date, user: object) -> None:
    assert order.invoice_id is not None
    invoice = documents.lock_documents(order.invoice_id)[order.invoice_id]
    if invoice.outstanding_minor <= 0:
        return
    amount = Money(invoice.outstanding_minor, invoice.currency)
    credit = documents.create_credit_note(
        order.customer_id,
        reason="cancellation",
        amount=amount,
        tax_rate=Decimal(order.tax_rate),
        invoice_id=invoice.pk,
        date=max(day, invoice.date),
        description=label(f"Cancelled {order.number}: {invoice.description or invoice.number}"),
        user=user,
        apply_credits=False,
    )
    documents.apply(credit, invoice, amount, user=user)


def _give_back(
    subscription: Subscription, quoted: CancellationQuote, give_back: str, day: datetime.date, user: object
) -> tuple[Document | None, Document | None]:
    """The credit memo for a refund above zero and, when it is given back as a refund, the held refund."""
    amount = quoted.quote.amount
    if not amount.is_positive():
        return None, None
    as_refund = give_back == "refund"
    credit_memo = documents.create_credit_note(
        subscription.customer_id,
        reason="cancellation",
        amount=amount,
        tax_rate=quoted.paid.tax_rate,
        invoice_id=quoted.paid_order.invoice_id if quoted.paid_order else None,
        date=day,
        description=label(f"Cancellation of subscription {subscription.pk}: {subscription.plan_period}"),
        user=user,
        # The refund reserves the whole credit memo first: nothing else may spend it.
        apply_credits=not as_refund,
    )
    if not as_refund:
        return credit_memo, None
    refund = refund_services.create_refund(credit_memo.pk, amount=amount, user=user, date=day, standalone=True)
    return credit_memo, refund


def _mark_cancelled(subscription: Subscription, day: datetime.date, user: object, comment: str) -> None:
    before = audit.snapshot(subscription, SUBSCRIPTION_FIELDS)
    subscription.status = next_status(SUBSCRIPTION, subscription.status, "cancel", "subscription")
    subscription.cancelled_on = day
    subscription.save(update_fields=["status", "cancelled_on"])
    record_subscription("subscription.cancelled", subscription, before, user, comment)
