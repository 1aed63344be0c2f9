"""``ledger verify`` notices what the defects of issue 11 left behind (each corrupted by hand here)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest

from receivables.core.checks import verify
from receivables.core.models import Sequence
from receivables.documents.models import Document
from receivables.subscriptions.models import Order, Subscription
from tests.api.test_subscriptions import make_customer, make_plan, subscribe
from tests.conftest import ApiClient, business_day


@pytest.fixture(autouse=True)
def told_in_january_2026() -> Iterator[None]:
    with business_day(datetime.date(2026, 1, 1)):
        yield


def _problems(check: str) -> list[str]:
    return verify()[check]


REFUNDS_PAID = "every refund marked refunded was paid by transfer or by the gateway"


def test_a_card_refund_marked_refunded_without_a_gateway_refund_is_reported(api: ApiClient, bank: dict) -> None:
    customer = make_customer(api)
    payment = api.post(
        "/payments", {"customer": customer, "amount": "8.00", "method": "card", "card_token": "tok_visa"}
    ).body
    refund = api.post("/refunds", {"source": payment["id"]}).body
    assert _problems(REFUNDS_PAID) == []

    Document.objects.filter(pk=refund["id"]).update(status="refunded")  # no money was sent

    assert _problems(REFUNDS_PAID) == [
        f"card refund {refund['number']} is refunded but no gateway refund of its amount succeeded"
    ]


def test_a_refund_marked_refunded_with_nothing_to_pay_it_from_is_reported(api: ApiClient, bank: dict) -> None:
    customer = make_customer(api)
    credit = api.post("/credit-notes", {"customer": customer, "amount": "8.00", "reason": "goodwill"}).body
    refund = api.post("/refunds", {"source": credit["id"]}).body
    Document.objects.filter(pk=refund["id"]).update(status="refunded", bank_account=None)

    assert _problems(REFUNDS_PAID) == [
        f"refund {refund['number']} is refunded with neither a card refund nor a bank account to pay it from"
    ]


def test_a_gap_in_order_numbers_and_a_waiting_order_of_a_cancelled_subscription_are_reported(
    api: ApiClient, bank: dict
) -> None:
    sold = subscribe(api, make_customer(api), make_plan(api), token="tok_declined").body
    api.post(f"/subscriptions/{sold['id']}/cancel", {"at": "2026-01-02"})
    assert _problems("order numbers are unique and gapless") == []
    Sequence.objects.filter(series="order").update(next_value=10)
    Order.objects.filter(subscription_id=sold["id"], kind="sales").update(status="waiting_for_payment")

    assert _problems("order numbers are unique and gapless")[0].startswith("series ORD-: 2 numbers used of 9 issued")
    sales = Order.objects.get(subscription_id=sold["id"], kind="sales")
    assert _problems("a cancelled subscription stays cancelled and unpaid after") == [
        f"order {sales.number} still waits for a payment of a cancelled subscription"
    ]
    assert Subscription.objects.get(pk=sold["id"]).status == "cancelled"
