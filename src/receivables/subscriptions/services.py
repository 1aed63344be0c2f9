"""Writes for plans, subscriptions and orders: subscribing, renewing, cancelling.

Card charges happen outside any database transaction (the gateway service records the
e-transaction first, so a crash leaves something to reconcile). Orders that charge a card are
therefore handled a batch at a time in three steps: (1) one transaction places the orders,
their invoices and their charges, recorded as pending e-transactions with a key derived from
the subscription and period, so a rerun never charges twice; (2) the charges are sent; (3) one
transaction applies the payments and moves the subscriptions on. Every step can be repeated:
a rerun finds the orders it placed and the charges it made.

Locks follow the house order: customer rows, then subscription rows, then orders,
e-transactions and documents, then number sequences, each kind in id order. The order number
is taken after the invoice's.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Mod

from receivables.core import audit, inputs, rows
from receivables.core.errors import Conflict, NotFound, ReceivablesError
from receivables.core.numbering import next_number, next_numbers
from receivables.customers.models import Customer
from receivables.customers.selectors import get_customer
from receivables.documents import services as documents
from receivables.documents.models import Document
from receivables.documents.services import LineInput
from receivables.gateways import services as gateway_services
from receivables.gateways.models import ETransaction, TransactionStatus
from receivables.gateways.protocol import GatewayResult
from receivables.money import Money
from receivables.refunds import services as refund_services
from receivables.rules import invoicing, periods, refund_policy
from receivables.subscriptions.models import (
    Order,
    OrderKind,
    OrderStatus,
    Plan,
    PlanPeriod,
    Subscription,
    SubscriptionStatus,
)
from receivables.subscriptions.selectors import get_subscription

MAX_PERIODS = 20
GIVE_BACK = ("refund", "credit")


# --- plans -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodTerms:
    duration: periods.Duration
    setup_fee: Money
    recurring_fee: Money
    tax_rate: Decimal
    policy: refund_policy.RefundPolicy


def _policy(raw: dict, currency: str, field: str) -> refund_policy.RefundPolicy:
    if not isinstance(raw, dict):
        raise ReceivablesError("invalid_body", "must be an object", field)
    days = raw.get("full_refund_days", 0)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 36600:
        raise ReceivablesError(
            "invalid_days", "must be a whole number of days from 0 to 36600", f"{field}.full_refund_days"
        )
    after = inputs.choice(
        raw.get("after_full_refund_period"), f"{field}.after_full_refund_period", refund_policy.AFTER_FULL_REFUND_PERIOD
    )
    non_refundable = inputs.money(
        raw.get("non_refundable_amount") or "0", currency, f"{field}.non_refundable_amount", allow_zero=True
    )
    return refund_policy.RefundPolicy(non_refundable, days, after)


def parse_periods(raw_periods: list[dict], currency: str, field: str = "periods") -> list[PeriodTerms]:
    """Validate periods given as text; errors name e.g. ``periods[1].refund_policy.full_refund_days``."""
    if not raw_periods:
        raise ReceivablesError("required", "at least one period is needed", field)
    if len(raw_periods) > MAX_PERIODS:
        raise ReceivablesError("too_many_periods", f"at most {MAX_PERIODS} periods", field)
    terms = []
    for index, raw in enumerate(raw_periods):
        where = f"{field}[{index}]"
        try:
            duration = periods.parse_duration(raw.get("duration"))
        except periods.PeriodError as error:
            raise ReceivablesError(error.code, str(error), f"{where}.duration") from None
        terms.append(
            PeriodTerms(
                duration=duration,
                setup_fee=inputs.money(raw.get("setup_fee") or "0", currency, f"{where}.setup_fee", allow_zero=True),
                recurring_fee=inputs.money(raw.get("recurring_fee"), currency, f"{where}.recurring_fee"),
                tax_rate=inputs.tax_rate(raw.get("tax_rate") or "0", f"{where}.tax_rate"),
                policy=_policy(raw.get("refund_policy") or {}, currency, f"{where}.refund_policy"),
            )
        )
    durations = [str(term.duration) for term in terms]
    if len(set(durations)) != len(durations):
        raise ReceivablesError("duplicate_period", "each period of a plan has its own duration", field)
    return terms


PLAN_FIELDS = ("name", "currency", "version", "previous")
PERIOD_FIELDS = (
    "duration",
    "setup_fee_minor",
    "recurring_fee_minor",
    "tax_rate",
    "non_refundable_minor",
    "full_refund_days",
    "after_full_refund_period",
)
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
CANCELLATION_REASONS = (
    "customer_request",
    "too_expensive",
    "not_used",
    "moved_to_other_plan",
    "service_problem",
    "other",
)


def _record_order(order: Order, user: object) -> None:
    _record_orders([order], user)


def _record_orders(orders: list[Order], user: object) -> None:
    audit.record_many(
        [
            audit.Change(
                f"order.{order.kind}", order, before=None, after=audit.snapshot(order, ORDER_FIELDS), label=order.number
            )
            for order in orders
        ],
        user=user,
    )


def _record_subscription(
    action: str, subscription: Subscription, before: dict | None, user: object, comment: str = ""
) -> None:
    after = audit.snapshot(subscription, SUBSCRIPTION_FIELDS)
    label = f"subscription {subscription.pk}"
    audit.record(action, subscription, before=before, after=after, user=user, comment=comment, label=label)


def _store_plan(name: str, currency: str, terms: list[PeriodTerms], *, user: object, previous: Plan | None) -> Plan:
    plan = Plan.objects.create(
        name=name,
        currency=currency,
        version=previous.version + 1 if previous else 1,
        previous=previous,
        created_by=audit.person(user),
    )
    periods_made = PlanPeriod.objects.bulk_create(
        [
            PlanPeriod(
                plan=plan,
                position=position,
                duration=str(term.duration),
                setup_fee_minor=term.setup_fee.minor,
                recurring_fee_minor=term.recurring_fee.minor,
                tax_rate=str(term.tax_rate),
                non_refundable_minor=term.policy.non_refundable.minor,
                full_refund_days=term.policy.full_refund_days,
                after_full_refund_period=term.policy.after_full_refund_period,
            )
            for position, term in enumerate(terms, start=1)
        ]
    )
    after = {
        **audit.snapshot(plan, PLAN_FIELDS),
        "periods": [audit.snapshot(period, PERIOD_FIELDS) for period in periods_made],
    }
    action = "plan.version" if previous else "plan.create"
    audit.record(action, plan, before=None, after=after, user=user, label=f"{plan.name} v{plan.version}")
    return plan


@transaction.atomic
def create_plan(name: str, currency: str, raw_periods: list[dict], *, user: object = None) -> Plan:
    name = inputs.text(name, "name", max_length=200)
    currency = inputs.currency(currency)
    terms = parse_periods(raw_periods, currency)
    return _store_plan(name, currency, terms, user=user, previous=None)


@transaction.atomic
def new_plan_version(plan_id: int, raw_periods: list[dict], *, name: str | None = None, user: object = None) -> Plan:
    """Changed terms are a new version; subscriptions sold on the old one keep theirs."""
    plan = Plan.objects.select_for_update().filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("plan", plan_id, "plan")
    if not plan.is_current:
        raise Conflict("plan_superseded", "this version was replaced; version the current one", "plan")
    new_name = inputs.text(name, "name", max_length=200) if name is not None else plan.name
    terms = parse_periods(raw_periods, plan.currency)
    Plan.objects.filter(pk=plan.pk).update(is_current=False)
    return _store_plan(new_name, plan.currency, terms, user=user, previous=plan)


# --- subscribing -----------------------------------------------------------------------------


# Document and line descriptions hold 200 characters; a plan's name may take all of them.
DESCRIPTION_LENGTH = 200


def _label(text: str) -> str:
    return text if len(text) <= DESCRIPTION_LENGTH else text[: DESCRIPTION_LENGTH - 1] + "…"


def _sale_lines(period: PlanPeriod, start: datetime.date, end: datetime.date, *, setup: bool) -> list[LineInput]:
    rate = Decimal(period.tax_rate)
    currency = period.plan.currency
    lines = []
    if setup and period.setup_fee_minor:
        price = Money(period.setup_fee_minor, currency).amount
        label = _label(f"Setup fee: {period.plan.name} ({period.duration})")
        lines.append(LineInput(label, Decimal(1), price, rate))
    price = Money(period.recurring_fee_minor, currency).amount
    label = _label(f"{period.plan.name} ({period.duration}), {start.isoformat()} to {end.isoformat()}")
    lines.append(LineInput(label, Decimal(1), price, rate))
    return lines


def _gross(line: LineInput, currency: str) -> Money:
    return invoicing.line_amounts(line.quantity, line.unit_price, line.tax_rate, currency).gross


@dataclass(frozen=True)
class PeriodToBill:
    """A period of a subscription to invoice; its customer is locked by the caller."""

    subscription: Subscription
    customer: Customer
    kind: str
    start: datetime.date
    end: datetime.date


def _orders_for_periods(bills: list[PeriodToBill], user: object) -> list[Order]:
    """Invoice the periods and number their orders, inside the caller's transaction; the caller stores the orders."""
    lines = [
        _sale_lines(bill.subscription.plan_period, bill.start, bill.end, setup=bill.kind == OrderKind.SALES)
        for bill in bills
    ]
    sales = [
        documents.invoice_sale(
            bill.customer, sold, bill.start, _label(f"{bill.kind.capitalize()}: {sold[-1].description}")
        )
        for bill, sold in zip(bills, lines, strict=True)
    ]
    invoices = documents.create_sales(sales, user=user)
    _reread_auto_applied(invoices)
    numbers = next_numbers("order", len(bills))
    return [
        _order(bill, sold, invoice, number, user)
        for bill, sold, invoice, number in zip(bills, lines, invoices, numbers, strict=True)
    ]


def _reread_auto_applied(invoices: list[Document]) -> None:
    """An auto-apply customer's open credits may already have paid part of the invoice."""
    applied = [invoice for invoice in invoices if invoice.customer.auto_apply]
    now = Document.objects.in_bulk([invoice.pk for invoice in applied])
    for invoice in applied:
        invoice.outstanding_minor = now[invoice.pk].outstanding_minor
        invoice.status = now[invoice.pk].status


def _order(bill: PeriodToBill, lines: list[LineInput], invoice: Document, number: str, user: object) -> Order:
    currency = bill.subscription.plan_period.plan.currency
    setup_gross = _gross(lines[0], currency) if len(lines) == 2 else Money.zero(currency)
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
        recurring_minor=_gross(lines[-1], currency).minor,
        tax_rate=bill.subscription.plan_period.tax_rate,
        charge_minor=invoice.outstanding_minor,
        invoice=invoice,
        created_by=audit.person(user),
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


@dataclass(frozen=True)
class OrderResult:
    subscription: Subscription
    order: Order


@transaction.atomic
def _open_subscription(
    customer_id: int, period: PlanPeriod, card_token: str, start: datetime.date, user: object
) -> Order:
    customer = documents.lock_customer(customer_id)
    if customer.currency != period.plan.currency:
        raise ReceivablesError(
            "currency_mismatch", f"the plan is in {period.plan.currency}, the customer in {customer.currency}", "plan"
        )
    duration = periods.parse_duration(period.duration)
    subscription = Subscription.objects.create(
        customer=customer,
        plan_period=period,
        status=SubscriptionStatus.PENDING,
        card_token=card_token,
        anchor=start,
        period_index=0,
        current_period_start=start,
        current_period_end=periods.period_end(start, duration, 0),
    )
    _record_subscription("subscription.create", subscription, None, user)
    bill = PeriodToBill(subscription, customer, OrderKind.SALES, start, subscription.current_period_end)
    (order,) = _orders_for_periods([bill], user)
    _attach_charges(_to_charge([order]))
    order.save()
    _record_order(order, user)
    return order


def subscribe(
    customer_id: int,
    plan_id: int,
    period_id: int,
    card_token: str,
    *,
    start: datetime.date | None = None,
    user: object = None,
) -> OrderResult:
    """Place a sales order: invoice setup + recurring fee, charge the card, activate on success."""
    customer = get_customer(customer_id, "customer")
    period = _period_of(plan_id, period_id)
    token = inputs.text(card_token, "card_token", max_length=100)
    day = start or inputs.date(None)
    order = _open_subscription(customer.pk, period, token, day, user)
    return _charge_and_settle([order], user=user)[0]


# --- charging and settling orders ------------------------------------------------------------


def _charge_key(order: Order) -> str:
    assert order.period_start is not None, "sales and renewal orders have a period"
    return f"{order.kind}-{order.subscription_id}-{order.period_start.isoformat()}"


def _to_charge(orders: Iterable[Order]) -> list[Order]:
    # An order whose invoice the customer's credits paid in full is not charged.
    return [order for order in orders if order.charge_minor > 0]


def _charge_of(order: Order) -> ETransaction:
    assert order.transaction is not None, "an order to be charged is placed with its charge"
    return order.transaction


def _charge_id(order: Order) -> int:
    assert order.transaction_id is not None, "an order to be charged is placed with its charge"
    return order.transaction_id


def _attach_charges(orders: list[Order]) -> None:
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
    _attach_charges(orders)
    for order in orders:
        order.save(update_fields=["transaction"])


def _charge_and_settle(orders: list[Order], *, user: object) -> list[OrderResult]:
    """Send the orders' charges, outside any transaction, then settle the orders in one transaction.

    Every step can be repeated: the gateway answers a resent key with its first answer.
    """
    if missing := [order for order in _to_charge(orders) if order.transaction_id is None]:
        _attach_missing_charges(missing)
    answers = {order.pk: gateway_services.send_charge(_charge_of(order)) for order in _to_charge(orders)}
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
    charged = _to_charge(locked_orders.values())
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
        if paid and order.status != OrderStatus.COMPLETED:
            changes.append(_complete(order, outcome, invoices, user))
            completed.append(order.pk)
        subscription = subscriptions[order.subscription_id]
        if change := _advance(subscription, order, paid=paid):
            moved[subscription.pk] = subscription
            changes.append(change)
        results.append(OrderResult(subscription, order))
    # The payment of a completed order is the one its charge recorded (none if nothing was charged).
    paid_by = ETransaction.objects.filter(pk=OuterRef("transaction_id")).values("document_id")
    Order.objects.filter(pk__in=completed).update(status=OrderStatus.COMPLETED, payment=Subquery(paid_by))
    _save_moves(list(moved.values()))
    audit.record_many(changes, user=user)
    return results


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
    order.status = OrderStatus.COMPLETED
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
    if paid:
        subscription.status = SubscriptionStatus.ACTIVE
    elif order.kind == OrderKind.RENEWAL:
        subscription.status = SubscriptionStatus.PAST_DUE
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


# --- renewals --------------------------------------------------------------------------------

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
    new = _orders_for_periods(bills, user)
    _attach_charges(_to_charge(new))
    Order.objects.bulk_create(new)
    _record_orders(new, user)
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
            lambda batch: _charge_and_settle(batch, user=user),
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
    """Renew a batch period by period: each round renews the next period of every one still due."""
    summary.subscriptions += len(subscription_ids)
    due = subscription_ids
    while due:
        orders = _isolating_failures(
            lambda ids: _place_renewals(ids, day, user), due, summary, lambda subscription_id: subscription_id
        )
        results = _isolating_failures(
            lambda batch: _charge_and_settle(batch, user=user), orders, summary, lambda order: order.subscription_id
        )
        paid = sum(1 for result in results if result.order.status == OrderStatus.COMPLETED)
        summary.renewals += len(results)
        summary.paid += paid
        summary.unpaid += len(results) - paid
        due = [
            result.subscription.pk
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


# --- cancelling ------------------------------------------------------------------------------


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
    if subscription.status == SubscriptionStatus.CANCELLED:
        raise Conflict("subscription_cancelled", "the subscription is already cancelled", "subscription")
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
    A refund of zero makes no documents. An auto-apply customer's new credit memo may settle
    open invoices first; the refund then takes what is left of it.
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
    amount = quoted.quote.amount
    credit_memo, refund = _give_back(subscription, quoted, give_back, day, user)
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
    _record_order(order, user)
    _mark_cancelled(subscription, day, user, comment)
    return order


def _give_back(
    subscription: Subscription, quoted: CancellationQuote, give_back: str, day: datetime.date, user: object
) -> tuple[Document | None, Document | None]:
    """The credit memo for a refund above zero and, when it is given back as a refund, the held refund."""
    amount = quoted.quote.amount
    if not amount.is_positive():
        return None, None
    credit_memo = documents.create_credit_note(
        subscription.customer_id,
        reason="cancellation",
        amount=amount,
        tax_rate=quoted.paid.tax_rate,
        invoice_id=quoted.paid_order.invoice_id if quoted.paid_order else None,
        date=day,
        description=_label(f"Cancellation of subscription {subscription.pk}: {subscription.plan_period}"),
        user=user,
    )
    refund = _hold_refund(credit_memo, amount, day, user) if give_back == "refund" else None
    return credit_memo, refund


def _mark_cancelled(subscription: Subscription, day: datetime.date, user: object, comment: str) -> None:
    before = audit.snapshot(subscription, SUBSCRIPTION_FIELDS)
    subscription.status = SubscriptionStatus.CANCELLED
    subscription.cancelled_on = day
    subscription.save(update_fields=["status", "cancelled_on"])
    _record_subscription("subscription.cancelled", subscription, before, user, comment)


def _hold_refund(credit_memo: Document, amount: Money, day: datetime.date, user: object) -> Document | None:
    """A standalone refund on hold, allocated against the credit memo; staff pick the charge later."""
    credit_memo.refresh_from_db(fields=["outstanding_minor", "status"])
    left = min(amount.minor, credit_memo.outstanding_minor)
    if left <= 0:
        return None
    return refund_services.create_refund(
        credit_memo.pk, amount=Money(left, amount.currency), user=user, date=day, standalone=True
    )
