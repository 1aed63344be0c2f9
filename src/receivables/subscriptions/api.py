from __future__ import annotations

from typing import Annotated

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from receivables.core import inputs
from receivables.core.idempotency import Provisional, client_key, idempotent
from receivables.core.schemas import (
    ERROR_CODES,
    REFUSED,
    Amount,
    AmountOrZero,
    AmountOut,
    ClosedSet,
    Currency,
    DateIn,
    DateOut,
    Id,
    PathId,
    StrictIn,
    TaxRate,
    count,
    patterned,
    text,
)
from receivables.customers.selectors import get_customer
from receivables.documents.api import DocumentOut, document_out
from receivables.documents.selectors import money
from receivables.gateways.services import derived_key
from receivables.rules import periods, refund_policy
from receivables.subscriptions import selectors, services
from receivables.subscriptions.models import (
    AfterFullRefund,
    Order,
    OrderKind,
    OrderStatus,
    Plan,
    Subscription,
    SubscriptionStatus,
)

router = Router(tags=["subscriptions"])

AfterFullRefundChoice = Annotated[str, ClosedSet("AfterFullRefundPeriod", AfterFullRefund.values)]
RefundPolicyChoice = Annotated[str, ClosedSet("CancellationRefundPolicy", refund_policy.POLICY_CHOICES)]
GiveBack = Annotated[str, ClosedSet("GiveBack", services.GIVE_BACK)]
CancellationReason = Annotated[str, ClosedSet("CancellationReason", services.CANCELLATION_REASONS)]
PlanName = Annotated[str, text(200, example="Hosting")]

# ISO 8601 durations of years and months, months, weeks or days; never zero, at most ten years
# (rules.periods.MAX_PERIOD_DAYS: 118 months, 3660 days).
_MONTHS = r"(?:[1-9]|[1-9]\d|10\d|11[0-8])M"
_YEARS_MONTHS = r"(?:[1-8]Y(?:(?:[1-9]|1[01])M)?|9Y(?:(?:[1-9]|10)M)?)"
_WEEKS = r"(?:[1-9]\d?|[1-4]\d\d|5[01]\d|52[0-2])W"
_DAYS = r"(?:[1-9]\d{0,2}|[12]\d{3}|3[0-5]\d\d|36[0-5]\d|3660)D"
DURATION = rf"^P(?:{_YEARS_MONTHS}|{_MONTHS}|{_WEEKS}|{_DAYS})$"
Duration = Annotated[
    str,
    patterned(
        DURATION,
        "not_a_string",
        lambda value: ("invalid_duration", f"{value[:40]!r} is not a duration such as P1M, P1Y, P2W or P30D"),
        {"example": "P1M", ERROR_CODES: ["not_a_string", "invalid_duration"], "x-max-days": periods.MAX_PERIOD_DAYS},
    ),
]


class RefundPolicyIn(StrictIn):
    non_refundable_amount: AmountOrZero = "0"
    full_refund_days: Annotated[int, count(0, 36600, "invalid_days")] = 0
    after_full_refund_period: AfterFullRefundChoice


class PeriodIn(StrictIn):
    duration: Duration
    setup_fee: AmountOrZero = "0"
    recurring_fee: Amount
    tax_rate: TaxRate = "0"
    refund_policy: RefundPolicyIn


class PlanIn(StrictIn):
    name: PlanName
    currency: Currency
    periods: list[PeriodIn] = Field(min_length=1, max_length=services.MAX_PERIODS)


class PlanVersionIn(StrictIn):
    name: PlanName | None = None
    periods: list[PeriodIn] = Field(min_length=1, max_length=services.MAX_PERIODS)


class RefundPolicyOut(Schema):
    non_refundable_amount: AmountOut
    full_refund_days: int
    after_full_refund_period: AfterFullRefundChoice


class PeriodOut(Schema):
    id: int
    duration: str
    setup_fee: AmountOut
    recurring_fee: AmountOut
    tax_rate: str
    refund_policy: RefundPolicyOut


class PlanOut(Schema):
    id: int
    name: str
    currency: Currency
    version: int
    previous_version: int | None
    is_current: bool
    periods: list[PeriodOut]


class PlanList(Schema):
    items: list[PlanOut]


def plan_out(plan: Plan) -> dict:
    currency = plan.currency
    return {
        "id": plan.pk,
        "name": plan.name,
        "currency": currency,
        "version": plan.version,
        "previous_version": plan.previous_id,
        "is_current": plan.is_current,
        "periods": [
            {
                "id": period.pk,
                "duration": period.duration,
                "setup_fee": money(period.setup_fee_minor, currency),
                "recurring_fee": money(period.recurring_fee_minor, currency),
                "tax_rate": period.tax_rate,
                "refund_policy": {
                    "non_refundable_amount": money(period.non_refundable_minor, currency),
                    "full_refund_days": period.full_refund_days,
                    "after_full_refund_period": period.after_full_refund_period,
                },
            }
            for period in plan.periods.all()
        ],
    }


@router.post("/plans", response={201: PlanOut, **REFUSED})
def create_plan(request: HttpRequest, body: PlanIn) -> Status:
    raw = [period.model_dump() for period in body.periods]
    plan = services.create_plan(body.name, body.currency, raw, user=request.user)
    return Status(201, plan_out(selectors.get_plan(plan.pk)))


@router.get("/plans", response={200: PlanList, **REFUSED})
def list_plans(request: HttpRequest, include_superseded: bool = False) -> dict:
    return {"items": [plan_out(plan) for plan in selectors.plans(include_superseded=include_superseded)[:500]]}


@router.get("/plans/{plan_id}", response={200: PlanOut, **REFUSED})
def get_plan(request: HttpRequest, plan_id: PathId) -> dict:
    return plan_out(selectors.get_plan(plan_id))


@router.post("/plans/{plan_id}/versions", response={201: PlanOut, **REFUSED})
def create_plan_version(request: HttpRequest, plan_id: PathId, body: PlanVersionIn) -> Status:
    plan = selectors.get_plan(plan_id)
    raw = [period.model_dump() for period in body.periods]
    version = services.new_plan_version(plan.pk, raw, name=body.name, user=request.user)
    return Status(201, plan_out(selectors.get_plan(version.pk)))


class OrderOut(Schema):
    id: int
    number: str
    kind: Annotated[str, ClosedSet("OrderKind", OrderKind.values)]
    status: Annotated[str, ClosedSet("OrderStatus", OrderStatus.values)]
    customer: int
    subscription: int
    date: DateOut
    currency: Currency
    period_start: DateOut | None
    period_end: DateOut | None
    amount: AmountOut | None
    refund_amount: AmountOut | None
    refund_policy: str = Field(description="a cancellation's CancellationRefundPolicy; empty for other orders")
    give_back: str = Field(description="a cancellation's GiveBack; empty for other orders")
    reason: str
    comment: str
    transaction: int | None
    invoice: int | None
    payment: int | None
    credit_memo: int | None
    refund: int | None
    documents: list[DocumentOut]


def order_out(order: Order) -> dict:
    currency = order.currency
    return {
        "id": order.pk,
        "number": order.number,
        "kind": order.kind,
        "status": order.status,
        "customer": order.customer_id,
        "subscription": order.subscription_id,
        "date": order.date.isoformat(),
        "currency": currency,
        "period_start": order.period_start.isoformat() if order.period_start else None,
        "period_end": order.period_end.isoformat() if order.period_end else None,
        "amount": money(order.setup_minor + order.recurring_minor, currency) if order.invoice_id else None,
        "refund_amount": money(order.refund_minor, currency) if order.kind == "cancellation" else None,
        "refund_policy": order.refund_policy,
        "give_back": order.give_back,
        "reason": order.reason,
        "comment": order.comment,
        "transaction": order.transaction_id,
        "invoice": order.invoice_id,
        "payment": order.payment_id,
        "credit_memo": order.credit_memo_id,
        "refund": order.refund_id,
        "documents": [document_out(document) for document in selectors.order_documents(order)],
    }


class SubscriptionOut(Schema):
    id: int
    customer: int
    plan: int
    plan_name: str
    period: int
    duration: str
    status: Annotated[str, ClosedSet("SubscriptionStatus", SubscriptionStatus.values)]
    current_period_start: DateOut
    current_period_end: DateOut
    cancelled_on: DateOut | None
    orders: list[int]


class SubscribeOut(SubscriptionOut):
    order: OrderOut
    invoice: DocumentOut | None
    payment: DocumentOut | None


class SubscriptionList(Schema):
    items: list[SubscriptionOut]


def subscription_out(subscription: Subscription) -> dict:
    period = subscription.plan_period
    return {
        "id": subscription.pk,
        "customer": subscription.customer_id,
        "plan": period.plan_id,
        "plan_name": period.plan.name,
        "period": period.pk,
        "duration": period.duration,
        "status": subscription.status,
        "current_period_start": subscription.current_period_start.isoformat(),
        "current_period_end": subscription.current_period_end.isoformat(),
        "cancelled_on": subscription.cancelled_on.isoformat() if subscription.cancelled_on else None,
        # Sales, renewal and cancellation orders, oldest first: each is GET /orders/{id}.
        "orders": sorted(order.pk for order in subscription.orders.all()),
    }


class SubscriptionIn(StrictIn):
    customer: Id
    plan: Id
    period: Id
    card_token: Annotated[str, text(100, example="tok_visa")]
    start: DateIn | None = None


@router.post("/subscriptions", response={201: SubscribeOut, **REFUSED})
@idempotent(atomic=False)  # charges the card; a retry finds the subscription its key made
def create_subscription(request: HttpRequest, body: SubscriptionIn) -> Status:
    start = inputs.date(body.start, "start") if body.start else None
    key = client_key(request)
    result = services.subscribe(
        body.customer,
        body.plan,
        body.period,
        body.card_token,
        start=start,
        idempotency_key=derived_key(f"subscribe-{request.user.pk}", key) if key else None,
        user=request.user,
    )
    order = selectors.get_order(result.order.pk)
    # A charge still without an answer is not the last word: a retry with the key settles it.
    unsettled = order.transaction is not None and order.transaction.status in ("pending", "unknown")
    answer = Provisional if unsettled else Status
    return answer(
        201,
        {
            **subscription_out(selectors.get_subscription(result.subscription.pk)),
            "order": order_out(order),
            "invoice": document_out(order.invoice) if order.invoice else None,
            "payment": document_out(order.payment) if order.payment else None,
        },
    )


@router.get("/subscriptions/{subscription_id}", response={200: SubscriptionOut, **REFUSED})
def get_subscription(request: HttpRequest, subscription_id: PathId) -> dict:
    return subscription_out(selectors.get_subscription(subscription_id))


@router.get("/customers/{customer_id}/subscriptions", response={200: SubscriptionList, **REFUSED})
def list_customer_subscriptions(request: HttpRequest, customer_id: PathId) -> dict:
    customer = get_customer(customer_id)
    return {"items": [subscription_out(s) for s in selectors.customer_subscriptions(customer)[:500]]}


class QuoteOut(Schema):
    refund_amount: AmountOut
    currency: Currency
    at: DateOut
    refund_policy: RefundPolicyChoice
    rule: Annotated[
        str, ClosedSet("RefundRule", (refund_policy.RULE_FULL, refund_policy.RULE_PRORATED, refund_policy.RULE_NONE))
    ]
    period_start: DateOut
    period_end: DateOut
    elapsed_days: int
    period_days: int
    full_refund_days: int
    after_full_refund_period: AfterFullRefundChoice
    setup_fee_paid: AmountOut
    recurring_fee_paid: AmountOut
    paid: AmountOut
    non_refundable_amount: AmountOut
    tax_rate: str
    net: AmountOut
    tax: AmountOut
    invoice: int | None


@router.get("/subscriptions/{subscription_id}/cancellation-quote", response={200: QuoteOut, **REFUSED})
def get_cancellation_quote(
    request: HttpRequest, subscription_id: PathId, at: DateIn | None = None, refund_policy: RefundPolicyChoice = "plan"
) -> dict:
    subscription = selectors.get_subscription(subscription_id)
    day = inputs.date(at, "at")
    return services.cancellation_quote(subscription, day, refund_policy).breakdown()


class CancelIn(StrictIn):
    at: DateIn | None = None
    refund_policy: RefundPolicyChoice = "plan"
    give_back: GiveBack = "refund"
    reason: CancellationReason = "customer_request"
    comment: Annotated[str, text(500, required=False)] = ""


class CancelOut(Schema):
    order: OrderOut
    refund_amount: AmountOut
    credit_memo: DocumentOut | None
    refund: DocumentOut | None
    quote: QuoteOut
    subscription: SubscriptionOut


@router.post("/subscriptions/{subscription_id}/cancel", response={200: CancelOut, **REFUSED})
@idempotent
def cancel_subscription(request: HttpRequest, subscription_id: PathId, body: CancelIn) -> dict:
    subscription = selectors.get_subscription(subscription_id)
    order = services.cancel(
        subscription.pk,
        at=inputs.date(body.at, "at") if body.at else None,
        refund_policy_name=body.refund_policy,
        give_back=body.give_back,
        reason=body.reason,
        comment=body.comment,
        user=request.user,
    )
    order = selectors.get_order(order.pk)
    return {
        "order": order_out(order),
        "refund_amount": money(order.refund_minor, order.currency),
        "credit_memo": document_out(order.credit_memo) if order.credit_memo else None,
        "refund": document_out(order.refund) if order.refund else None,
        "quote": order.quote,
        "subscription": subscription_out(selectors.get_subscription(subscription.pk)),
    }


@router.get("/orders/{order_id}", response={200: OrderOut, **REFUSED})
def get_order(request: HttpRequest, order_id: PathId) -> dict:
    return order_out(selectors.get_order(order_id))
