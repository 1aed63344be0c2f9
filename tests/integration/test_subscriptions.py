"""Subscriptions through the services: renewals by the bill run, and quote = posting for any day."""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from receivables.customers import services as customer_services
from receivables.customers.models import Customer
from receivables.documents.models import Document
from receivables.gateways import services as gateway_services
from receivables.gateways.models import ETransaction, SandboxOperation
from receivables.money import Money
from receivables.subscriptions import services
from receivables.subscriptions.models import Order, Plan, Subscription
from receivables.subscriptions.services import charging
from tests.conftest import business_day, ledger_is_clean, needs_postgres


@pytest.fixture(autouse=True)
def told_in_january_2026() -> Iterator[None]:
    """These stories start in January 2026; a subscription may start at most one period before today."""
    with business_day(datetime.date(2026, 1, 1)):
        yield


D = datetime.date
JAN_31 = D(2026, 1, 31)


def _plan(duration: str = "P1M", *, full_days: int = 30, non_refundable: str = "0.00") -> Plan:
    policy = {
        "non_refundable_amount": non_refundable,
        "full_refund_days": full_days,
        "after_full_refund_period": "prorated_recurring_fee",
    }
    period = {"duration": duration, "setup_fee": "10.00", "recurring_fee": "30.00", "tax_rate": "20"}
    return services.create_plan("Hosting", "GBP", [{**period, "refund_policy": policy}])


def _subscribe(plan: Plan, *, token: str = "tok_visa", start: D = JAN_31, name: str = "Eve") -> Subscription:
    customer = customer_services.create_customer(name=name, currency="GBP")
    result = services.subscribe(customer.pk, plan.pk, plan.periods.get().pk, token, start=start)
    return result.subscription


def _state() -> tuple[int, int, int, int]:
    return (
        Order.objects.count(),
        Document.objects.count(),
        ETransaction.objects.count(),
        SandboxOperation.objects.count(),
    )


@pytest.mark.django_db
def test_bill_run_renews_due_subscriptions_and_is_idempotent(bank: dict) -> None:
    plan = _plan()
    due = _subscribe(plan, start=D(2026, 1, 31))
    later = _subscribe(plan, start=D(2026, 2, 20), name="Finn")

    summary = services.bill_run(D(2026, 2, 28))
    assert (summary.subscriptions, summary.renewals, summary.paid, summary.unpaid) == (1, 1, 1, 0)
    due.refresh_from_db()
    # Anchored on 31 January: February's period ends on its last day, March's on the 31st.
    assert (due.status, due.current_period_start, due.current_period_end) == ("active", D(2026, 2, 28), D(2026, 3, 31))
    renewal = Order.objects.get(subscription=due, kind="renewal")
    assert (renewal.status, renewal.number, renewal.invoice.total_minor) == ("completed", "ORD-000003", 3600)
    assert renewal.invoice.outstanding_minor == 0
    assert renewal.transaction.idempotency_key == f"renewal-{due.pk}-2026-02-28"
    later.refresh_from_db()
    assert later.current_period_end == D(2026, 3, 20)

    before = _state()
    again = services.bill_run(D(2026, 2, 28))
    assert (again.subscriptions, again.renewals) == (0, 0)
    assert _state() == before
    assert ledger_is_clean() == {}


@pytest.mark.django_db
def test_bill_run_renews_one_period_per_run_and_reports_one_further_behind(bank: dict) -> None:
    """A run that finds a subscription several periods behind charges one, and tells a person."""
    subscription = _subscribe(_plan(), start=D(2026, 1, 31))
    summary = services.bill_run(D(2026, 5, 1))
    subscription.refresh_from_db()
    assert summary.renewals == 1
    assert summary.behind == [f"subscription {subscription.pk}: still due, its period ended 2026-03-31"]
    starts = list(Order.objects.filter(subscription=subscription).values_list("period_start", flat=True))
    assert starts == [D(2026, 1, 31), D(2026, 2, 28)]
    assert SandboxOperation.objects.filter(kind="charge").count() == 2

    # Each later run catches up one more period; none charges more than one.
    assert [services.bill_run(D(2026, 5, 1)).renewals for _ in range(3)] == [1, 1, 0]
    subscription.refresh_from_db()
    assert subscription.current_period_end == D(2026, 5, 31)
    assert ledger_is_clean() == {}


@pytest.mark.django_db
def test_a_declined_renewal_leaves_the_subscription_past_due(bank: dict) -> None:
    plan = _plan()
    subscription = _subscribe(plan, start=D(2026, 1, 1))
    Subscription.objects.filter(pk=subscription.pk).update(card_token="tok_declined")  # the card expired

    summary = services.bill_run(D(2026, 2, 1))
    subscription.refresh_from_db()
    assert (summary.renewals, summary.paid, summary.unpaid) == (1, 0, 1)
    assert subscription.status == "past_due"
    assert (subscription.current_period_start, subscription.current_period_end) == (D(2026, 2, 1), D(2026, 3, 1))
    renewal = Order.objects.get(subscription=subscription, kind="renewal")
    assert (renewal.status, renewal.payment, renewal.transaction.status) == ("waiting_for_payment", None, "declined")
    assert renewal.invoice.outstanding_minor == renewal.invoice.total_minor

    before = _state()
    assert services.bill_run(D(2026, 2, 1)).renewals == 0
    assert services.bill_run(D(2026, 3, 5)).renewals == 0  # past due is not renewed again
    assert _state() == before
    # Nothing was paid for the current period, so cancelling it refunds nothing.
    quote = services.cancellation_quote(subscription, D(2026, 2, 10))
    assert quote.quote.amount == Money(0, "GBP")
    assert ledger_is_clean() == {}


@pytest.mark.django_db
def test_a_crash_before_the_charge_is_sent_is_finished_by_the_next_run(
    bank: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscription = _subscribe(_plan(), start=D(2026, 1, 1))

    def crash(etx: ETransaction) -> None:
        raise RuntimeError("power cut before the gateway was called")

    monkeypatch.setattr(gateway_services, "send_charge", crash)
    with pytest.raises(RuntimeError):
        services.bill_run(D(2026, 2, 1))
    monkeypatch.undo()
    # The order was placed with its charge recorded as pending, before any call.
    renewal = Order.objects.get(subscription=subscription, kind="renewal")
    assert (renewal.status, renewal.transaction.status) == ("waiting_for_payment", "pending")

    # Still due, so the rerun's renewals find the order and send its charge with the same key.
    summary = services.bill_run(D(2026, 2, 1))
    renewal.refresh_from_db()
    assert (summary.renewals, summary.paid, summary.resumed) == (1, 1, 0)
    assert (renewal.status, renewal.invoice.outstanding_minor) == ("completed", 0)
    assert Order.objects.filter(subscription=subscription, kind="renewal").count() == 1
    assert SandboxOperation.objects.filter(kind="charge").count() == 2  # the sale and one renewal
    assert ledger_is_clean() == {}


@pytest.mark.django_db
def test_a_crash_after_the_charge_was_sent_never_charges_twice(bank: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    subscription = _subscribe(_plan(), start=D(2026, 1, 1))

    def crash(*args: object) -> None:
        raise RuntimeError("power cut after the gateway answered")

    monkeypatch.setattr(charging, "_settle", crash)
    with pytest.raises(RuntimeError):
        services.bill_run(D(2026, 2, 1))
    monkeypatch.undo()
    assert SandboxOperation.objects.filter(kind="charge").count() == 2

    services.bill_run(D(2026, 2, 1))
    renewal = Order.objects.get(subscription=subscription, kind="renewal")
    subscription.refresh_from_db()
    assert (renewal.status, subscription.status, subscription.current_period_end) == (
        "completed",
        "active",
        D(2026, 3, 1),
    )
    # The resend with the same key got the first answer: one charge, one card payment.
    assert SandboxOperation.objects.filter(kind="charge").count() == 2
    assert Document.objects.filter(type="payment").count() == 2
    assert ledger_is_clean() == {}


@pytest.mark.django_db
def test_a_renewal_charge_without_answer_is_finished_by_the_next_run(bank: dict) -> None:
    subscription = _subscribe(_plan(), start=D(2026, 1, 1))
    Subscription.objects.filter(pk=subscription.pk).update(card_token="tok_timeout")

    summary = services.bill_run(D(2026, 2, 1))
    subscription.refresh_from_db()
    renewal = Order.objects.get(subscription=subscription, kind="renewal")
    assert (summary.renewals, summary.unpaid, subscription.status) == (1, 1, "past_due")
    assert (renewal.status, renewal.transaction.status) == ("waiting_for_payment", "unknown")

    summary = services.bill_run(D(2026, 2, 1))
    subscription.refresh_from_db()
    renewal.refresh_from_db()
    assert (summary.resumed, renewal.status, subscription.status) == (1, "completed", "active")
    assert ledger_is_clean() == {}


@pytest.mark.django_db
def test_one_subscription_that_cannot_renew_does_not_stop_its_batch(bank: dict) -> None:
    plan = _plan()
    subscriptions = [_subscribe(plan, start=D(2026, 1, 1), name=f"Batch {i}") for i in range(5)]
    broken = subscriptions[2]
    Customer.objects.filter(pk=broken.customer_id).update(currency="EUR")  # no longer the plan's currency

    summary = services.bill_run(D(2026, 2, 1), batch_size=3)
    assert (summary.subscriptions, summary.renewals, summary.paid) == (5, 4, 4)
    assert summary.failed == [f"subscription {broken.pk}: currency_mismatch: currency: the customer's currency is EUR"]
    # Its order was placed, but its payment could not be recorded: it waits, the others are paid.
    assert Order.objects.get(subscription=broken, kind="renewal").status == "waiting_for_payment"
    assert Order.objects.filter(kind="renewal", status="completed").count() == 4
    statuses = dict(Subscription.objects.values_list("pk", "current_period_end"))
    assert statuses == {s.pk: D(2026, 2, 1) if s == broken else D(2026, 3, 1) for s in subscriptions}
    # The next run reports it once more and renews the others.
    again = services.bill_run(D(2026, 3, 1))
    assert (again.renewals, again.paid, again.failed) == (4, 4, summary.failed)
    assert ledger_is_clean() == {}


@pytest.mark.django_db
def test_a_waiting_order_that_cannot_be_settled_does_not_stop_the_next_run(bank: dict) -> None:
    plan = _plan()
    stuck = _subscribe(plan, start=D(2026, 1, 1), name="Stuck")
    _subscribe(plan, start=D(2026, 1, 1), name="Other")
    Subscription.objects.filter(pk=stuck.pk).update(card_token="tok_timeout")
    services.bill_run(D(2026, 2, 1))  # the stuck renewal's charge gets no answer
    Customer.objects.filter(pk=stuck.customer_id).update(currency="EUR")

    summary = services.bill_run(D(2026, 3, 1))
    assert summary.failed == [f"subscription {stuck.pk}: currency_mismatch: currency: the customer's currency is EUR"]
    assert (summary.resumed, summary.renewals, summary.paid) == (0, 1, 1)


@pytest.mark.django_db
def test_bill_run_in_small_batches_renews_each_once_and_catches_up(bank: dict) -> None:
    plan = _plan()
    subscriptions = [_subscribe(plan, start=D(2026, 1, 1), name=f"Batch {i}") for i in range(5)]
    Subscription.objects.filter(pk=subscriptions[3].pk).update(card_token="tok_declined")

    summary = services.bill_run(D(2026, 3, 1), batch_size=2)
    # Each is two periods behind: one is renewed now and the four still due are reported.
    assert (summary.subscriptions, summary.renewals, summary.paid, summary.unpaid) == (5, 5, 4, 1)
    assert len(summary.behind) == 4
    # The next run renews the four; the declined one is past due and is not renewed again.
    assert services.bill_run(D(2026, 3, 1), batch_size=2).renewals == 4
    ends = dict(Subscription.objects.values_list("pk", "current_period_end"))
    assert ends == {s.pk: D(2026, 3, 1) if s == subscriptions[3] else D(2026, 4, 1) for s in subscriptions}
    numbers = list(Order.objects.filter(kind="renewal").values_list("number", flat=True))
    assert len(set(numbers)) == 9
    assert services.bill_run(D(2026, 3, 1)).renewals == 0
    assert ledger_is_clean() == {}


@pytest.mark.django_db
def test_bill_run_command_prints_a_summary(bank: dict) -> None:
    _subscribe(_plan(), start=D(2026, 1, 1))
    out = io.StringIO()
    call_command("bill_run", "--date", "2026-02-01", stdout=out)
    text = out.getvalue()
    assert "renewed 1 period(s) of 1 subscription(s): 1 paid, 0 not paid" in text
    out = io.StringIO()
    call_command("bill_run", "--date", "2026-02-01", stdout=out)
    assert "renewed 0 period(s) of 0 subscription(s)" in out.getvalue()


@pytest.mark.django_db
def test_renewal_keeps_the_terms_it_was_sold_on(bank: dict) -> None:
    plan = _plan()
    subscription = _subscribe(plan, start=D(2026, 1, 1))
    policy = {"non_refundable_amount": "0", "full_refund_days": 0, "after_full_refund_period": "no_refund"}
    services.new_plan_version(plan.pk, [{"duration": "P1M", "recurring_fee": "99.00", "refund_policy": policy}])
    services.bill_run(D(2026, 2, 1))
    renewal = Order.objects.get(subscription=subscription, kind="renewal")
    assert renewal.invoice.total_minor == 3600  # 30.00 + 20 % tax, not the new 99.00


# One subscription, paid; every example cancels it inside a savepoint that is rolled back.
@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    elapsed=st.integers(min_value=0, max_value=28),
    full_days=st.integers(min_value=0, max_value=40),
    non_refundable=st.integers(min_value=0, max_value=6000),
    policy=st.sampled_from(["plan", "full", "prorated", "none"]),
    give_back=st.sampled_from(["refund", "credit"]),
)
def test_quote_is_between_zero_and_what_was_paid_and_equals_what_is_posted(
    bank: dict, elapsed: int, full_days: int, non_refundable: int, policy: str, give_back: str
) -> None:
    with transaction.atomic():
        plan = _plan(full_days=full_days, non_refundable=Money(non_refundable, "GBP").to_decimal_string())
        subscription = _subscribe(plan, start=D(2026, 2, 1))
        at = D(2026, 2, 1) + datetime.timedelta(days=elapsed)
        quoted = services.cancellation_quote(subscription, at, policy)
        paid = quoted.paid.total
        assert paid == Money(4800, "GBP")
        assert Money(0, "GBP") <= quoted.quote.amount <= paid
        order = services.cancel(subscription.pk, at=at, refund_policy_name=policy, give_back=give_back)
        assert order.refund_minor == quoted.quote.amount.minor
        assert order.quote == quoted.breakdown()
        if quoted.quote.amount.is_positive():
            assert order.credit_memo.total_minor == quoted.quote.amount.minor
            assert (order.credit_memo.net_minor, order.credit_memo.tax_minor) == (
                quoted.quote.net.minor,
                quoted.quote.tax.minor,
            )
            refund_total = order.refund.total_minor if order.refund else 0
            assert refund_total == (quoted.quote.amount.minor if give_back == "refund" else 0)
        else:
            assert (order.credit_memo, order.refund) == (None, None)
        assert ledger_is_clean() == {}
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_demo_holds_the_second_seed_story() -> None:
    from django.utils import timezone

    from receivables.demo import SUBSCRIPTION_CUSTOMER, load_demo

    load_demo(customer_count=2)
    subscription = Subscription.objects.get(customer__name=SUBSCRIPTION_CUSTOMER)
    assert subscription.status == "active"
    quoted = services.cancellation_quote(subscription, timezone.localdate())
    assert (quoted.quote.elapsed_days, quoted.quote.rule, quoted.quote.amount) == (9, "full_refund", Money(4800, "GBP"))
    assert ledger_is_clean() == {}


@pytest.mark.django_db
def test_ledger_verify_reports_an_active_subscription_whose_period_is_unpaid(bank: dict) -> None:
    subscription = _subscribe(_plan(), token="tok_declined", start=D(2026, 1, 1))
    assert ledger_is_clean() == {}  # pending, not active: nothing claimed
    Subscription.objects.filter(pk=subscription.pk).update(status="active")
    problems = ledger_is_clean()["every active subscription's current period is paid"]
    assert problems == [f"subscription {subscription.pk} is active but its period from 2026-01-01 has no paid order"]


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_cancellations_post_one_refund(bank: dict) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connections

    from receivables.core.errors import ReceivablesError

    subscription = _subscribe(_plan(), start=D(2026, 1, 1))

    def cancel() -> str:
        try:
            services.cancel(subscription.pk, at=D(2026, 1, 10))
            return "cancelled"
        except ReceivablesError as error:
            return error.code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = sorted(pool.map(lambda _: cancel(), range(2)))
    assert answers == ["cancelled", "subscription_cancelled"]
    assert Document.objects.filter(type="refund").count() == 1
    assert Order.objects.filter(kind="cancellation").count() == 1
    assert ledger_is_clean() == {}


@pytest.mark.django_db
@pytest.mark.parametrize("start", [D(2026, 1, 1), D(2026, 1, 2)])  # keys on both sides of the sandbox's coin
def test_a_charge_without_answer_is_finished_by_the_next_bill_run(bank: dict, start: datetime.date) -> None:
    subscription = _subscribe(_plan(), token="tok_timeout", start=start)
    order = Order.objects.get(subscription=subscription)
    assert (subscription.status, order.status) == ("pending", "waiting_for_payment")
    assert order.transaction.status == "unknown"

    summary = services.bill_run(start)
    subscription.refresh_from_db()
    order.refresh_from_db()
    assert summary.resumed == 1
    assert (subscription.status, order.status, order.invoice.outstanding_minor) == ("active", "completed", 0)
    assert SandboxOperation.objects.filter(kind="charge", status="succeeded").count() == 1
    assert services.bill_run(start).resumed == 0
    assert ledger_is_clean() == {}


@needs_postgres
@pytest.mark.django_db(transaction=True)
def test_bill_run_shared_by_worker_processes_renews_each_subscription_once(bank: dict) -> None:
    plan = _plan()
    subscriptions = [_subscribe(plan, start=D(2026, 1, 1), name=f"Worker {i}") for i in range(9)]
    Subscription.objects.filter(pk=subscriptions[4].pk).update(card_token="tok_declined")
    out = io.StringIO()
    call_command("bill_run", "--date", "2026-02-01", "--workers", "3", stdout=out)
    assert "renewed 9 period(s) of 9 subscription(s): 8 paid, 1 not paid" in out.getvalue()
    assert Order.objects.filter(kind="renewal").count() == 9
    assert sorted(Subscription.objects.values_list("status", flat=True)) == ["active"] * 8 + ["past_due"]
    assert ledger_is_clean() == {}
