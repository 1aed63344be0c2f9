"""Plans, subscriptions and cancellation refunds through the API, including the second seed story."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import ApiClient, business_day, ledger_is_clean


@pytest.fixture(autouse=True)
def told_in_january_2026() -> Iterator[None]:
    """These stories start in January 2026; a subscription may start at most one period before today."""
    with business_day(datetime.date(2026, 1, 1)):
        yield


SEED_POLICY = {
    "non_refundable_amount": "0.00",
    "full_refund_days": 30,
    "after_full_refund_period": "prorated_recurring_fee",
}


def make_plan(api: ApiClient, *, currency: str = "GBP", policy: dict | None = None, **period: Any) -> dict:
    body = {
        "name": "Hosting Pro",
        "currency": currency,
        "periods": [
            {
                "duration": "P1M",
                "setup_fee": "10.00",
                "recurring_fee": "30.00",
                "refund_policy": policy or SEED_POLICY,
                **period,
            },
            {"duration": "P1Y", "setup_fee": "0.00", "recurring_fee": "300.00", "refund_policy": policy or SEED_POLICY},
        ],
    }
    answer = api.post("/plans", body)
    assert answer.status == 201, answer.body
    return answer.body


def make_customer(api: ApiClient, currency: str = "GBP", name: str = "Bob Carter") -> int:
    answer = api.post("/customers", {"name": name, "currency": currency})
    assert answer.status == 201, answer.body
    return answer.body["id"]


def subscribe(api: ApiClient, customer: int, plan: dict, *, token: str = "tok_visa", start: str = "2026-01-01") -> Any:
    body = {"customer": customer, "plan": plan["id"], "period": plan["periods"][0]["id"], "card_token": token}
    return api.post("/subscriptions", {**body, "start": start})


def test_seed_story_cancel_on_day_ten_refunds_in_full_through_the_original_charge(api: ApiClient, bank: dict) -> None:
    from receivables.gateways.models import SandboxOperation

    plan = make_plan(api)
    customer = make_customer(api)
    sold = subscribe(api, customer, plan)
    assert sold.status == 201, sold.body
    assert (sold.body["status"], sold.body["current_period_start"], sold.body["current_period_end"]) == (
        "active",
        "2026-01-01",
        "2026-02-01",
    )
    assert sold.body["invoice"]["amount"] == "40.00"
    assert sold.body["invoice"]["status"] == "closed"
    assert sold.body["payment"]["transaction"] is not None
    order = api.get(f"/orders/{sold.body['order']['id']}").body
    assert (order["kind"], order["status"], order["number"]) == ("sales", "completed", "ORD-000001")
    assert [d["type"] for d in order["documents"]] == ["invoice", "payment"]
    charge_id = order["transaction"]

    subscription_id = sold.body["id"]
    quoted = api.get(f"/subscriptions/{subscription_id}/cancellation-quote", at="2026-01-10")
    assert quoted.status == 200, quoted.body
    assert (quoted.body["refund_amount"], quoted.body["rule"], quoted.body["elapsed_days"]) == (
        "40.00",
        "full_refund",
        9,
    )

    cancelled = api.post(f"/subscriptions/{subscription_id}/cancel", {"at": "2026-01-10"})
    assert cancelled.status == 200, cancelled.body
    assert cancelled.body["refund_amount"] == quoted.body["refund_amount"]
    memo, refund = cancelled.body["credit_memo"], cancelled.body["refund"]
    assert (memo["type"], memo["reason"], memo["status"], memo["amount"]) == (
        "credit_note",
        "cancellation",
        "closed",
        "40.00",
    )
    assert (refund["type"], refund["status"], refund["amount"], refund["transaction"]) == (
        "refund",
        "hold",
        "40.00",
        None,
    )
    assert refund["source"] == memo["id"]
    assert cancelled.body["order"]["kind"] == "cancellation"
    assert [d["type"] for d in cancelled.body["order"]["documents"]] == ["credit_note", "refund"]
    after = api.get(f"/subscriptions/{subscription_id}").body
    assert (after["status"], after["cancelled_on"]) == ("cancelled", "2026-01-10")
    assert after["orders"] == [sold.body["order"]["id"], cancelled.body["order"]["id"]]

    picked = api.patch(f"/refunds/{refund['id']}", {"transaction": charge_id})
    assert picked.status == 200, picked.body
    processed = api.post(f"/refunds/{refund['id']}/process")
    assert processed.status == 200, processed.body
    assert processed.body["status"] == "refunded"

    assert SandboxOperation.objects.filter(kind="refund").count() == 1
    assert api.get(f"/customers/{customer}").body["balance"] == "0.00"
    assert ledger_is_clean() == {}


def test_quote_breakdown_names_everything(api: ApiClient, bank: dict) -> None:
    policy = {
        "non_refundable_amount": "5.00",
        "full_refund_days": 7,
        "after_full_refund_period": "prorated_recurring_fee",
    }
    plan = make_plan(api, policy=policy, tax_rate="20")
    sold = subscribe(api, make_customer(api), plan)
    assert sold.body["invoice"]["amount"] == "48.00"
    quoted = api.get(f"/subscriptions/{sold.body['id']}/cancellation-quote", at="2026-01-21").body
    # (36.00 − 5.00) × (31 − 20) / 31 = 11.00
    assert quoted == {
        **quoted,
        "refund_amount": "11.00",
        "rule": "prorated_recurring_fee",
        "elapsed_days": 20,
        "period_days": 31,
        "setup_fee_paid": "12.00",
        "recurring_fee_paid": "36.00",
        "paid": "48.00",
        "non_refundable_amount": "5.00",
        "tax_rate": "20",
        "net": "9.17",
        "tax": "1.83",
    }
    cancelled = api.post(f"/subscriptions/{sold.body['id']}/cancel", {"at": "2026-01-21"}).body
    memo = cancelled["credit_memo"]
    assert (memo["amount"], memo["net"], memo["tax"], memo["invoice"]) == (
        "11.00",
        "9.17",
        "1.83",
        sold.body["invoice"]["id"],
    )
    assert ledger_is_clean() == {}


def test_credit_instead_of_refund_makes_only_the_credit_memo(api: ApiClient, bank: dict) -> None:
    plan = make_plan(api)
    customer = make_customer(api)
    sold = subscribe(api, customer, plan)
    cancelled = api.post(f"/subscriptions/{sold.body['id']}/cancel", {"at": "2026-01-20", "give_back": "credit"})
    assert cancelled.status == 200, cancelled.body
    assert cancelled.body["refund"] is None
    assert (cancelled.body["credit_memo"]["status"], cancelled.body["credit_memo"]["outstanding"]) == ("open", "40.00")
    assert api.get(f"/customers/{customer}").body["balance"] == "-40.00"
    assert ledger_is_clean() == {}


def test_staff_choose_no_refund(api: ApiClient, bank: dict) -> None:
    sold = subscribe(api, make_customer(api), make_plan(api))
    cancelled = api.post(f"/subscriptions/{sold.body['id']}/cancel", {"at": "2026-01-05", "refund_policy": "none"})
    assert cancelled.status == 200, cancelled.body
    assert (cancelled.body["refund_amount"], cancelled.body["credit_memo"], cancelled.body["refund"]) == (
        "0.00",
        None,
        None,
    )
    assert cancelled.body["order"]["status"] == "completed"


def test_declined_card_leaves_the_order_waiting_and_the_subscription_not_active(api: ApiClient, bank: dict) -> None:
    sold = subscribe(api, make_customer(api), make_plan(api), token="tok_declined")
    assert sold.status == 201, sold.body
    assert sold.body["status"] == "pending"
    assert (sold.body["order"]["status"], sold.body["payment"]) == ("waiting_for_payment", None)
    assert sold.body["invoice"]["status"] == "open"
    assert sold.body["order"]["transaction"] is not None
    quoted = api.get(f"/subscriptions/{sold.body['id']}/cancellation-quote", at="2026-01-02").body
    assert (quoted["paid"], quoted["refund_amount"]) == ("0.00", "0.00")
    assert ledger_is_clean() == {}


def test_a_new_version_keeps_old_subscriptions_on_their_terms(api: ApiClient, bank: dict) -> None:
    plan = make_plan(api)
    sold = subscribe(api, make_customer(api), plan)
    changed = {
        "periods": [
            {
                "duration": "P1M",
                "setup_fee": "0.00",
                "recurring_fee": "45.00",
                "refund_policy": {**SEED_POLICY, "full_refund_days": 0},
            }
        ]
    }
    version = api.post(f"/plans/{plan['id']}/versions", changed)
    assert version.status == 201, version.body
    assert (version.body["version"], version.body["previous_version"], version.body["is_current"]) == (
        2,
        plan["id"],
        True,
    )
    old = api.get(f"/plans/{plan['id']}").body
    assert old["is_current"] is False
    assert old["periods"] == plan["periods"]  # never edited in place
    assert [p["id"] for p in api.get("/plans").body["items"]] == [version.body["id"]]

    # The old subscriber still gets the full refund the plan promised them.
    quoted = api.get(f"/subscriptions/{sold.body['id']}/cancellation-quote", at="2026-01-20").body
    assert (quoted["rule"], quoted["refund_amount"]) == ("full_refund", "40.00")
    # The old version is no longer sold, nor versioned again.
    assert subscribe(api, make_customer(api, name="Cleo"), plan).body["error"] == "plan_superseded"
    assert api.post(f"/plans/{plan['id']}/versions", changed).body["error"] == "plan_superseded"


def test_customer_subscriptions_are_listed(api: ApiClient, bank: dict) -> None:
    customer = make_customer(api)
    sold = subscribe(api, customer, make_plan(api))
    items = api.get(f"/customers/{customer}/subscriptions").body["items"]
    assert [(s["id"], s["status"], s["duration"]) for s in items] == [(sold.body["id"], "active", "P1M")]


def _count_rows() -> tuple[int, ...]:
    from receivables.documents.models import Document
    from receivables.subscriptions.models import Order, Plan, Subscription

    return (Plan.objects.count(), Subscription.objects.count(), Order.objects.count(), Document.objects.count())


BAD_PLANS = [
    ("unknown policy name", {"after_full_refund_period": "half"}, 422, "invalid_choice"),
    ("negative days", {"full_refund_days": -1}, 422, "invalid_days"),
    ("negative non-refundable", {"non_refundable_amount": "-1.00"}, 422, "amount_not_positive"),
]


@pytest.mark.parametrize(("label", "policy_change", "status", "code"), BAD_PLANS, ids=[b[0] for b in BAD_PLANS])
def test_bad_plans_are_refused(
    api: ApiClient, bank: dict, label: str, policy_change: dict, status: int, code: str
) -> None:
    body = {
        "name": "Bad",
        "currency": "GBP",
        "periods": [{"duration": "P1M", "recurring_fee": "30.00", "refund_policy": {**SEED_POLICY, **policy_change}}],
    }
    answer = api.post("/plans", body)
    assert (answer.status, answer.body["error"]) == (status, code), answer.body
    assert _count_rows() == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"setup_fee": "-10.00"}, "amount_not_positive"),
        ({"recurring_fee": "0.00"}, "amount_not_positive"),
        ({"recurring_fee": 30}, "amount_not_string"),
        ({"duration": "PT1H"}, "invalid_duration"),
        ({"duration": "monthly"}, "invalid_duration"),
        ({"tax_rate": "120"}, "decimal_out_of_range"),
    ],
)
def test_bad_periods_are_refused(api: ApiClient, bank: dict, change: dict, code: str) -> None:
    period = {"duration": "P1M", "setup_fee": "1.00", "recurring_fee": "30.00", "refund_policy": SEED_POLICY, **change}
    answer = api.post("/plans", {"name": "Bad", "currency": "GBP", "periods": [period]})
    assert (answer.status, answer.body["error"]) == (422, code), answer.body
    assert _count_rows() == (0, 0, 0, 0)


def test_bad_subscriptions_are_refused_and_change_nothing(api: ApiClient, bank: dict) -> None:
    plan = make_plan(api)
    other = make_plan(api)
    customer = make_customer(api)
    euro_customer = make_customer(api, "EUR", "Dora")
    before = _count_rows()
    good = {"customer": customer, "plan": plan["id"], "period": plan["periods"][0]["id"], "card_token": "tok_visa"}
    cases = [
        ({**good, "plan": 999999}, 404, "plan_not_found"),
        ({**good, "period": 999999}, 404, "period_not_found"),
        ({**good, "period": other["periods"][0]["id"]}, 422, "period_not_in_plan"),
        ({**good, "customer": 999999}, 404, "customer_not_found"),
        ({**good, "customer": euro_customer}, 422, "currency_mismatch"),
        ({**good, "start": "2026-02-30"}, 422, "invalid_date"),
        ({**good, "card_token": ""}, 422, "required"),
        ({**good, "currency": "GBP"}, 422, "extra_field"),
    ]
    for body, status, code in cases:
        answer = api.post("/subscriptions", body)
        assert (answer.status, answer.body["error"]) == (status, code), (body, answer.body)
    assert _count_rows() == before


def test_bad_cancellations_are_refused_and_change_nothing(api: ApiClient, bank: dict) -> None:
    sold = subscribe(api, make_customer(api), make_plan(api))
    path = f"/subscriptions/{sold.body['id']}"
    before = _count_rows()
    cases = [
        ({"at": "2025-12-31"}, 422, "cancellation_before_period"),
        ({"at": "2026-02-02"}, 422, "cancellation_after_period"),
        ({"at": "2026-01-10", "refund_policy": "generous"}, 422, "invalid_choice"),
        ({"at": "2026-01-10", "give_back": "cash"}, 422, "invalid_choice"),
        ({"at": "2026-01-10", "reason": "bored"}, 422, "invalid_choice"),
        ({"at": "2026-01-10", "comment": "line\u0000break"}, 422, "control_characters"),
        ({"at": "2026-01-10", "comment": "x" * 501}, 422, "too_long"),
    ]
    cancel_only = {"give_back", "reason", "comment"}
    for body, status, code in cases:
        answer = api.post(f"{path}/cancel", body)
        assert (answer.status, answer.body["error"]) == (status, code), (body, answer.body)
        quote = api.get(f"{path}/cancellation-quote", **{k: v for k, v in body.items() if k not in cancel_only})
        if not cancel_only & set(body):
            assert (quote.status, quote.body["error"]) == (status, code), quote.body
    assert _count_rows() == before
    assert api.post("/subscriptions/999999/cancel", {}).body["error"] == "subscription_not_found"

    assert api.post(f"{path}/cancel", {"at": "2026-02-01"}).status == 200  # d = P: allowed, nothing to refund
    again = api.post(f"{path}/cancel", {"at": "2026-01-15"})
    assert (again.status, again.body["error"]) == (409, "subscription_cancelled")
    assert api.get(f"{path}/cancellation-quote", at="2026-01-15").status == 409


def test_default_cancellation_date_is_today_in_the_business_time_zone(
    api: ApiClient, bank: dict, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    from django.utils import timezone

    settings.TIME_ZONE = "Pacific/Auckland"
    # 23:30 UTC on 10 January is already 11 January in Auckland: d = 10, not 9.
    monkeypatch.setattr(timezone, "now", lambda: datetime.datetime(2026, 1, 10, 23, 30, tzinfo=datetime.UTC))
    sold = subscribe(api, make_customer(api), make_plan(api))
    quoted = api.get(f"/subscriptions/{sold.body['id']}/cancellation-quote").body
    assert (quoted["at"], quoted["elapsed_days"]) == ("2026-01-11", 10)


def test_a_plan_name_of_200_characters_fits_every_document(api: ApiClient, bank: dict) -> None:
    period = {"duration": "P1M", "setup_fee": "10.00", "recurring_fee": "30.00", "refund_policy": SEED_POLICY}
    long_plan = api.post("/plans", {"name": "N" * 200, "currency": "GBP", "periods": [period]})
    assert long_plan.status == 201, long_plan.body
    sold = subscribe(api, make_customer(api), long_plan.body)
    assert sold.status == 201, sold.body
    assert all(len(line["description"]) <= 200 for line in sold.body["invoice"]["lines"])
    cancelled = api.post(f"/subscriptions/{sold.body['id']}/cancel", {"at": "2026-01-03"})
    assert cancelled.status == 200, cancelled.body
    assert len(cancelled.body["credit_memo"]["description"]) <= 200


def test_a_subscriptions_life_is_on_the_record(api: ApiClient, bank: dict) -> None:
    plan = make_plan(api)
    period = {"duration": "P1M", "setup_fee": "0.00", "recurring_fee": "45.00", "refund_policy": SEED_POLICY}
    versioned = api.post(f"/plans/{plan['id']}/versions", {"periods": [period]})
    assert versioned.status == 201, versioned.body
    assert [e["action"] for e in api.get("/audit", object=f"plan:{plan['id']}").body["items"]] == ["plan.create"]
    version_trail = api.get("/audit", object=f"plan:{versioned.body['id']}").body["items"]
    assert version_trail[0]["action"] == "plan.version" and version_trail[0]["after"]["previous"] == plan["id"]

    sold = subscribe(api, make_customer(api), versioned.body, start="2026-01-01").body
    cancelled = api.post(
        f"/subscriptions/{sold['id']}/cancel", {"at": "2026-01-10", "reason": "not_used", "comment": "Too slow"}
    )
    assert cancelled.status == 200, cancelled.body
    assert (cancelled.body["order"]["reason"], cancelled.body["order"]["comment"]) == ("not_used", "Too slow")
    trail = api.get("/audit", object=f"subscription:{sold['id']}").body["items"]
    assert [e["action"] for e in trail] == ["subscription.create", "subscription.active", "subscription.cancelled"]
    assert [(e["before"] or {}).get("status") for e in trail] == [None, "pending", "active"]
    assert trail[-1]["after"]["cancelled_on"] == "2026-01-10" and trail[-1]["comment"] == "Too slow"
    order_id = cancelled.body["order"]["id"]
    order_trail = api.get("/audit", object=f"order:{order_id}").body["items"]
    assert [(e["action"], e["after"]["reason"]) for e in order_trail] == [("order.cancellation", "not_used")]
