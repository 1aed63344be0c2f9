"""The bill run posts a batch of renewals in a few statements per batch, not ~30 per renewal."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from receivables.customers import services as customer_services
from receivables.subscriptions import services
from receivables.subscriptions.models import Order
from tests.conftest import business_day, ledger_is_clean


@pytest.fixture(autouse=True)
def told_in_january_2026() -> Iterator[None]:
    """These stories start in January 2026; a subscription may start at most one period before today."""
    with business_day(datetime.date(2026, 1, 1)):
        yield


D = datetime.date
RENEWALS = 20


def _subscribers(count: int) -> None:
    policy = {"full_refund_days": 30, "after_full_refund_period": "prorated_recurring_fee"}
    period = {"duration": "P1M", "recurring_fee": "30.00", "tax_rate": "20", "refund_policy": policy}
    plan = services.create_plan("Hosting", "GBP", [period])
    for index in range(count):
        customer = customer_services.create_customer(name=f"Subscriber {index}", currency="GBP")
        services.subscribe(customer.pk, plan.pk, plan.periods.get().pk, "tok_visa", start=D(2026, 1, 31))


@pytest.mark.django_db
def test_a_batch_of_renewals_costs_a_few_statements_each(bank: dict) -> None:
    _subscribers(RENEWALS)
    with CaptureQueriesContext(connection) as statements:
        summary = services.bill_run(D(2026, 2, 28))
    assert (summary.renewals, summary.paid) == (RENEWALS, RENEWALS)
    per_renewal = len(statements) / RENEWALS
    # About 30 when each document was posted alone. Left per renewal: two balance moves (one per
    # customer and transaction), the charge's answer, the sandbox's record, the allocation (insert,
    # two settles, audit); the rest is per batch.
    assert per_renewal <= 13, f"{per_renewal:.1f} statements per renewal"
    assert Order.objects.filter(kind="renewal", status="completed").count() == RENEWALS
    assert ledger_is_clean() == {}
