"""Defects outside testing found in subscriptions (issue 11), each told as the story that showed it.

1. a cancelled subscription charged and made active again by the next bill run;
2. a backdated subscription charged for every missed period, and dates no calendar can hold;
4. POST /subscriptions retried after a timeout: a second subscription and a second charge;
10c. an auto-apply customer's cancellation credit spent on another invoice before its refund;
10d. a subscription that never started left its invoice owing.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest

from receivables.core.checks import verify
from receivables.documents.models import Document
from receivables.gateways import sandbox
from receivables.gateways.models import ETransaction, SandboxOperation
from receivables.gateways.reconcile import reconcile
from receivables.subscriptions import services
from receivables.subscriptions.models import Order, Subscription
from tests.api.test_subscriptions import make_customer, make_plan, subscribe
from tests.conftest import ApiClient, business_day, ledger_is_clean

D = datetime.date


@pytest.fixture(autouse=True)
def told_in_january_2026() -> Iterator[None]:
    with business_day(D(2026, 1, 1)):
        yield


def _outstanding(document_id: int) -> int:
    return Document.objects.get(pk=document_id).outstanding_minor


# --- 1. a cancelled subscription is never charged or made active again ------------------------


@pytest.mark.parametrize("recorded", [True, False], ids=["charged-before-timeout", "lost-before-charging"])
def test_a_cancelled_past_due_subscription_is_not_charged_or_revived_by_the_bill_run(
    api: ApiClient, bank: dict, recorded: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    sold = subscribe(api, make_customer(api), make_plan(api)).body
    renewal_key = f"renewal-{sold['id']}-2026-02-01"
    # The renewal's answer is lost, after or before the gateway took the money.
    Subscription.objects.filter(pk=sold["id"]).update(card_token="tok_timeout")
    monkeypatch.setattr(sandbox, "records_before_timeout", lambda key: recorded)
    services.bill_run(D(2026, 2, 1))
    assert api.get(f"/subscriptions/{sold['id']}").body["status"] == "past_due"

    cancelled = api.post(f"/subscriptions/{sold['id']}/cancel", {"at": "2026-02-10"})
    assert cancelled.status == 200, cancelled.body
    renewal = Order.objects.get(subscription_id=sold["id"], kind="renewal")
    assert renewal.status == "cancelled"
    assert renewal.invoice is not None and _outstanding(renewal.invoice.pk) == 0  # not owed for a cancelled period
    charges_before = SandboxOperation.objects.filter(kind="charge").exclude(status="lost").count()

    summary = services.bill_run(D(2026, 3, 1))

    after = api.get(f"/subscriptions/{sold['id']}").body
    assert (after["status"], after["cancelled_on"]) == ("cancelled", "2026-02-10")
    assert (summary.renewals, summary.resumed) == (0, 0)
    assert SandboxOperation.objects.filter(kind="charge").exclude(status="lost").count() == charges_before
    assert ledger_is_clean() == {}

    # Reconcile settles the lost answer: money the gateway did take stays on the account as credit.
    list(reconcile(pending_older_than=datetime.timedelta(0)))
    assert api.get(f"/subscriptions/{sold['id']}").body["status"] == "cancelled"
    charge = ETransaction.objects.get(idempotency_key=renewal_key)
    if charge.status == "succeeded":
        assert charge.document is not None and charge.document.outstanding_minor == charge.amount_minor
    assert ledger_is_clean() == {}


def test_a_cancelled_subscription_whose_first_charge_had_no_answer_stays_cancelled(api: ApiClient, bank: dict) -> None:
    customer = make_customer(api)
    sold = subscribe(api, customer, make_plan(api), token="tok_timeout").body
    assert sold["status"] == "pending"

    cancelled = api.post(f"/subscriptions/{sold['id']}/cancel", {"at": "2026-01-05"})
    assert cancelled.status == 200, cancelled.body
    services.bill_run(D(2026, 2, 1))
    list(reconcile(pending_older_than=datetime.timedelta(0)))

    after = api.get(f"/subscriptions/{sold['id']}").body
    assert after["status"] == "cancelled"
    assert Order.objects.get(subscription_id=sold["id"], kind="sales").status == "cancelled"
    assert ledger_is_clean() == {}


def test_ledger_verify_notices_a_cancelled_subscription_made_active(api: ApiClient, bank: dict) -> None:
    sold = subscribe(api, make_customer(api), make_plan(api)).body
    api.post(f"/subscriptions/{sold['id']}/cancel", {"at": "2026-01-05"})
    Subscription.objects.filter(pk=sold["id"]).update(status="active")  # what the defect did

    problems = verify()["a cancelled subscription stays cancelled and unpaid after"]
    assert problems == [f"subscription {sold['id']} was cancelled but is active"]


# --- 10d. a subscription that never started is not owed for ---------------------------------


def test_cancelling_a_subscription_whose_first_charge_was_declined_leaves_nothing_owing(
    api: ApiClient, bank: dict
) -> None:
    customer = make_customer(api)
    sold = subscribe(api, customer, make_plan(api), token="tok_declined").body
    assert (sold["status"], sold["invoice"]["outstanding"]) == ("pending", "40.00")

    cancelled = api.post(f"/subscriptions/{sold['id']}/cancel", {"at": "2026-01-03"}).body

    assert cancelled["refund_amount"] == "0.00" and cancelled["refund"] is None
    assert api.get(f"/documents/{sold['invoice']['id']}").body["outstanding"] == "0.00"
    assert api.get(f"/customers/{customer}").body["balance"] == "0.00"
    assert ledger_is_clean() == {}


# --- 2. backdated subscriptions and impossible dates -----------------------------------------


def test_a_subscription_starts_at_most_one_period_in_the_past(api: ApiClient, bank: dict) -> None:
    plan, customer = make_plan(api), make_customer(api)

    ancient = subscribe(api, customer, plan, start="0001-01-01")
    too_early = subscribe(api, customer, plan, start="2025-11-30")  # its month ended before today
    far_future = subscribe(api, customer, plan, start="9999-12-31")

    assert (ancient.status, ancient.body["error"]) == (422, "date_out_of_range")
    assert (too_early.status, too_early.body["error"], too_early.body["field"]) == (422, "start_too_early", "start")
    assert (far_future.status, far_future.body["error"]) == (422, "date_out_of_range")
    assert Subscription.objects.count() == 0 and SandboxOperation.objects.count() == 0
    assert subscribe(api, customer, plan, start="2025-12-01").status == 201  # one period back is allowed


def test_dates_no_calendar_holds_are_refused_everywhere(api: ApiClient, bank: dict) -> None:
    customer = make_customer(api)
    line = {"description": "Work", "quantity": "1", "unit_price": "10.00"}

    invoice = api.post("/invoices", {"customer": customer, "date": "9999-12-31", "lines": [line]})
    ageing = api.get("/aged-receivables", as_of="0001-01-01")
    statement = api.get(f"/customers/{customer}/statement", **{"from": "1899-12-31"})

    assert (invoice.status, invoice.body["error"], invoice.body["field"]) == (422, "date_out_of_range", "date")
    assert (ageing.status, ageing.body["error"]) == (422, "date_out_of_range")
    assert (statement.status, statement.body["error"]) == (422, "date_out_of_range")
    assert Document.objects.count() == 0


# --- 4. POST /subscriptions takes an Idempotency-Key ------------------------------------------


def test_a_subscription_retried_with_its_key_is_made_and_charged_once(api: ApiClient, bank: dict) -> None:
    customer, plan = make_customer(api), make_plan(api)
    body = {"customer": customer, "plan": plan["id"], "period": plan["periods"][0]["id"], "card_token": "tok_timeout"}
    key = {"Idempotency-Key": "sub-1"}

    first = api.post("/subscriptions", body, key)  # the charge's answer is lost
    retried = api.post("/subscriptions", body, key)
    repeated = api.post("/subscriptions", body, key)
    other = api.post("/subscriptions", {**body, "card_token": "tok_visa"}, key)

    assert first.status == 201 and first.body["status"] == "pending"
    assert retried.status == 201 and retried.body["id"] == first.body["id"]
    assert retried.body["status"] == "active"  # the retry settled the same charge
    assert repeated.body == retried.body
    assert (other.status, other.body["error"]) == (409, "idempotency_key_reused")
    assert Subscription.objects.count() == 1
    assert SandboxOperation.objects.filter(kind="charge", status="succeeded").count() == 1
    assert Document.objects.filter(type="payment").count() == 1
    assert ledger_is_clean() == {}


# --- 10c. the cancellation's refund reserves its credit memo first ----------------------------


def test_an_auto_apply_customers_cancellation_refunds_the_whole_amount(api: ApiClient, bank: dict) -> None:
    customer = api.post("/customers", {"name": "Ada Auto", "currency": "GBP", "auto_apply": True}).body["id"]
    sold = subscribe(api, customer, make_plan(api)).body
    other = api.post(
        "/invoices",
        {
            "customer": customer,
            "date": "2026-01-05",
            "lines": [{"description": "Extra", "quantity": "1", "unit_price": "50.00"}],
        },
    ).body

    cancelled = api.post(f"/subscriptions/{sold['id']}/cancel", {"at": "2026-01-10"}).body

    assert cancelled["refund_amount"] == "40.00"
    assert (cancelled["refund"]["amount"], cancelled["credit_memo"]["outstanding"]) == ("40.00", "0.00")
    assert api.get(f"/documents/{other['id']}").body["outstanding"] == "50.00"  # untouched by the credit memo
    assert ledger_is_clean() == {}
