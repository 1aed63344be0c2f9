from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Schema, Status
from pydantic import Field

from receivables.core import inputs
from receivables.core.idempotency import Provisional, client_key, idempotent
from receivables.core.schemas import ERRORS, Amount, DateText, Id, StrictIn
from receivables.customers.selectors import get_customer
from receivables.documents.api import DocumentOut, document_out
from receivables.documents.selectors import money
from receivables.gateways.services import derived_key
from receivables.subscriptions import selectors, services
from receivables.subscriptions.models import Order, Plan, Subscription

router = Router(tags=["subscriptions"])


class RefundPolicyIn(StrictIn):
    non_refundable_amount: Amount = "0"
    full_refund_days: int = 0
    after_full_refund_period: str = Field(max_length=40)


class PeriodIn(StrictIn):
    duration: str = Field(max_length=20)
    setup_fee: Amount = "0"
    recurring_fee: Amount
    tax_rate: str = Field("0", max_length=12)
    refund_policy: RefundPolicyIn


class PlanIn(StrictIn):
    name: str = Field(max_length=1000)
    currency: str = Field(max_length=3)
    periods: list[PeriodIn] = Field(min_length=1, max_length=services.MAX_PERIODS)


class PlanVersionIn(StrictIn):
    name: str | None = Field(None, max_length=1000)
    periods: list[PeriodIn] = Field(min_length=1, max_length=services.MAX_PERIODS)


class RefundPolicyOut(Schema):
    non_refundable_amount: str
    full_refund_days: int
    after_full_refund_period: str


class PeriodOut(Schema):
    id: int
    duration: str
    setup_fee: str
    recurring_fee: str
    tax_rate: str
    refund_policy: RefundPolicyOut


class PlanOut(Schema):
    id: int
    name: str
    currency: str
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


@router.post("/plans", response={201: PlanOut, **ERRORS})
def create_plan(request: HttpRequest, body: PlanIn) -> Status:
    raw = [period.model_dump() for period in body.periods]
    plan = services.create_plan(body.name, body.currency, raw, user=request.user)
    return Status(201, plan_out(selectors.get_plan(plan.pk)))


@router.get("/plans", response={200: PlanList, **ERRORS})
def list_plans(request: HttpRequest, include_superseded: bool = False) -> dict:
    return {"items": [plan_out(plan) for plan in selectors.plans(include_superseded=include_superseded)[:500]]}


@router.get("/plans/{plan_id}", response={200: PlanOut, **ERRORS})
def get_plan(request: HttpRequest, plan_id: int) -> dict:
    return plan_out(selectors.get_plan(plan_id))


@router.post("/plans/{plan_id}/versions", response={201: PlanOut, **ERRORS})
def new_plan_version(request: HttpRequest, plan_id: int, body: PlanVersionIn) -> Status:
    plan = selectors.get_plan(plan_id)
    raw = [period.model_dump() for period in body.periods]
    version = services.new_plan_version(plan.pk, raw, name=body.name, user=request.user)
    return Status(201, plan_out(selectors.get_plan(version.pk)))


class OrderOut(Schema):
    id: int
    number: str
    kind: str
    status: str
    customer: int
    subscription: int
    date: str
    currency: str
    period_start: str | None
    period_end: str | None
    amount: str | None
    refund_amount: str | None
    refund_policy: str
    give_back: str
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
    status: str
    current_period_start: str
    current_period_end: str
    cancelled_on: str | None
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
    card_token: str = Field(max_length=100)
    start: DateText | None = None


@router.post("/subscriptions", response={201: SubscribeOut, **ERRORS})
@idempotent(atomic=False)  # charges the card; a retry finds the subscription its key made
def subscribe(request: HttpRequest, body: SubscriptionIn) -> Status:
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


@router.get("/subscriptions/{subscription_id}", response={200: SubscriptionOut, **ERRORS})
def get_subscription(request: HttpRequest, subscription_id: int) -> dict:
    return subscription_out(selectors.get_subscription(subscription_id))


@router.get("/customers/{customer_id}/subscriptions", response={200: SubscriptionList, **ERRORS})
def customer_subscriptions(request: HttpRequest, customer_id: int) -> dict:
    customer = get_customer(customer_id)
    return {"items": [subscription_out(s) for s in selectors.customer_subscriptions(customer)[:500]]}


class QuoteOut(Schema):
    refund_amount: str
    currency: str
    at: str
    refund_policy: str
    rule: str
    period_start: str
    period_end: str
    elapsed_days: int
    period_days: int
    full_refund_days: int
    after_full_refund_period: str
    setup_fee_paid: str
    recurring_fee_paid: str
    paid: str
    non_refundable_amount: str
    tax_rate: str
    net: str
    tax: str
    invoice: int | None


@router.get("/subscriptions/{subscription_id}/cancellation-quote", response={200: QuoteOut, **ERRORS})
def cancellation_quote(
    request: HttpRequest, subscription_id: int, at: DateText | None = None, refund_policy: str = "plan"
) -> dict:
    subscription = selectors.get_subscription(subscription_id)
    day = inputs.date(at, "at")
    return services.cancellation_quote(subscription, day, refund_policy).breakdown()


class CancelIn(StrictIn):
    at: DateText | None = None
    refund_policy: str = Field("plan", max_length=20)
    give_back: str = Field("refund", max_length=20)
    reason: str = Field("customer_request", max_length=30)
    comment: str = Field("", max_length=500)


class CancelOut(Schema):
    order: OrderOut
    refund_amount: str
    credit_memo: DocumentOut | None
    refund: DocumentOut | None
    quote: QuoteOut
    subscription: SubscriptionOut


@router.post("/subscriptions/{subscription_id}/cancel", response={200: CancelOut, **ERRORS})
@idempotent
def cancel(request: HttpRequest, subscription_id: int, body: CancelIn) -> dict:
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


@router.get("/orders/{order_id}", response={200: OrderOut, **ERRORS})
def get_order(request: HttpRequest, order_id: int) -> dict:
    return order_out(selectors.get_order(order_id))
