"""The cancellation refund formula, at its boundaries. Pure: no database."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from receivables.money import Money
from receivables.rules.periods import parse_duration, period_end
from receivables.rules.refund_policy import (
    NO_REFUND,
    PRORATED,
    Paid,
    PolicyError,
    RefundPolicy,
    business_date,
    elapsed_days,
    quote,
)

D = datetime.date
UTC = datetime.UTC


def gbp(text: str) -> Money:
    return Money.parse(text, "GBP")


def policy(non_refundable: str = "0.00", full_days: int = 10, after: str = PRORATED) -> RefundPolicy:
    return RefundPolicy(gbp(non_refundable), full_days, after)


def paid(setup: str = "10.00", recurring: str = "31.00", rate: str = "0") -> Paid:
    return Paid(gbp(setup), gbp(recurring), Decimal(rate))


JAN_START, JAN_END = D(2026, 1, 1), D(2026, 2, 1)  # P = 31


@pytest.mark.parametrize(
    ("elapsed", "non_refundable", "after", "expected", "rule"),
    [
        (0, "0.00", PRORATED, "41.00", "full_refund"),  # d = 0: setup + recurring
        (0, "1.00", PRORATED, "40.00", "full_refund"),  # less the non-refundable part
        (10, "1.00", PRORATED, "40.00", "full_refund"),  # d = full_refund_days: still full
        (11, "1.00", PRORATED, "19.35", PRORATED),  # d = full_refund_days + 1: (31 − 1) × 20/31 = 19.354…
        (11, "1.00", NO_REFUND, "0.00", NO_REFUND),
        (30, "1.00", PRORATED, "0.97", PRORATED),  # d = P − 1: 30 × 1/31 = 0.967…
        (31, "1.00", PRORATED, "0.00", PRORATED),  # d = P: nothing left of the period
        (11, "50.00", PRORATED, "0.00", PRORATED),  # non-refundable larger than the fee: never below 0
        (0, "50.00", PRORATED, "0.00", "full_refund"),
    ],
)
def test_formula_at_its_boundaries(elapsed: int, non_refundable: str, after: str, expected: str, rule: str) -> None:
    at = JAN_START + datetime.timedelta(days=elapsed)
    result = quote(policy(non_refundable, 10, after), paid(), JAN_START, JAN_END, at)
    assert (result.amount, result.rule, result.elapsed_days, result.period_days) == (gbp(expected), rule, elapsed, 31)


@pytest.mark.parametrize(
    ("start", "length", "expected"),
    [
        (D(2026, 2, 1), 28, "64.29"),  # 100 × 18/28 = 64.2857…
        (D(2028, 2, 1), 29, "65.52"),  # 100 × 19/29 = 65.5172…
        (D(2026, 4, 1), 30, "66.67"),  # 100 × 20/30 = 66.666…
        (D(2026, 1, 1), 31, "67.74"),  # 100 × 21/31 = 67.7419…
    ],
)
def test_monthly_periods_of_every_length(start: datetime.date, length: int, expected: str) -> None:
    end = period_end(start, parse_duration("P1M"), 0)
    at = start + datetime.timedelta(days=10)
    result = quote(policy(full_days=0), paid("0.00", "100.00"), start, end, at)
    assert (result.period_days, result.amount) == (length, gbp(expected))


def test_a_yearly_period_across_29_february_has_366_days() -> None:
    start = D(2027, 6, 1)
    end = period_end(start, parse_duration("P1Y"), 0)
    result = quote(policy(full_days=30), paid("0.00", "366.00"), start, end, start + datetime.timedelta(days=100))
    assert (result.period_days, result.amount) == (366, gbp("266.00"))


def test_rounded_once_half_up() -> None:
    start = D(2026, 1, 1)
    end = period_end(start, parse_duration("P40D"), 0)
    # 1.00 × 1/40 = 0.025 exactly: half-up gives 0.03 (half-even would give 0.02).
    result = quote(policy(full_days=0), paid("0.00", "1.00"), start, end, start + datetime.timedelta(days=39))
    assert result.amount == gbp("0.03")


def test_zero_decimal_currency() -> None:
    terms = RefundPolicy(Money(0, "JPY"), 0, PRORATED)
    result = quote(terms, Paid(Money(0, "JPY"), Money(1000, "JPY"), Decimal(0)), JAN_START, JAN_END, D(2026, 1, 11))
    assert result.amount == Money(677, "JPY")  # 1000 × 21/31 = 677.4…


@pytest.mark.parametrize(
    ("chosen", "elapsed", "expected", "rule"),
    [
        ("full", 25, "40.00", "full_refund"),  # staff grant the full refund after the full-refund days
        ("prorated", 0, "30.00", PRORATED),  # prorated from day 0: the recurring fee less non-refundable
        ("prorated", 25, "5.81", PRORATED),  # 30 × 6/31 = 5.806…
        ("none", 0, "0.00", NO_REFUND),
        ("plan", 25, "5.81", PRORATED),
    ],
)
def test_staff_may_choose_the_policy(chosen: str, elapsed: int, expected: str, rule: str) -> None:
    at = JAN_START + datetime.timedelta(days=elapsed)
    result = quote(policy("1.00"), paid(), JAN_START, JAN_END, at, chosen)
    assert (result.amount, result.rule, result.policy) == (gbp(expected), rule, chosen)


def test_tax_is_split_at_the_invoice_rate_and_adds_up() -> None:
    result = quote(policy(), paid("0.00", "12.00", "20"), JAN_START, JAN_END, JAN_START)
    assert (result.amount, result.net, result.tax) == (gbp("12.00"), gbp("10.00"), gbp("2.00"))
    odd = quote(policy(full_days=0), paid("0.00", "12.00", "17.5"), JAN_START, JAN_END, D(2026, 1, 8))
    assert odd.net + odd.tax == odd.amount


@pytest.mark.parametrize(
    ("moment", "zone", "expected"),
    [
        (datetime.datetime(2026, 1, 10, 23, 30, tzinfo=UTC), "Pacific/Auckland", D(2026, 1, 11)),
        (datetime.datetime(2026, 1, 10, 23, 30, tzinfo=UTC), "Europe/London", D(2026, 1, 10)),
        (datetime.datetime(2026, 1, 11, 3, 0, tzinfo=UTC), "America/New_York", D(2026, 1, 10)),
        (datetime.datetime(2026, 7, 10, 23, 30, tzinfo=UTC), "Europe/London", D(2026, 7, 11)),  # BST
    ],
)
def test_the_date_is_the_business_date_not_utc(moment: datetime.datetime, zone: str, expected: datetime.date) -> None:
    assert business_date(moment, zone) == expected


def test_a_time_zone_where_the_date_differs_from_utc_changes_the_rule() -> None:
    moment = datetime.datetime(2026, 1, 11, 3, 0, tzinfo=UTC)  # 11 Jan in UTC, still 10 Jan in New York
    terms = policy(full_days=9)
    in_utc = quote(terms, paid(), JAN_START, JAN_END, business_date(moment, "UTC"))
    in_new_york = quote(terms, paid(), JAN_START, JAN_END, business_date(moment, "America/New_York"))
    assert (in_utc.elapsed_days, in_utc.rule) == (10, PRORATED)
    assert (in_new_york.elapsed_days, in_new_york.rule, in_new_york.amount) == (9, "full_refund", gbp("41.00"))


def test_naive_instants_are_refused() -> None:
    with pytest.raises(PolicyError):
        business_date(datetime.datetime(2026, 1, 1, 12, 0), "Europe/London")


def test_current_day_is_not_counted() -> None:
    assert elapsed_days(JAN_START, JAN_END, JAN_START) == 0
    assert elapsed_days(JAN_START, JAN_END, D(2026, 1, 10)) == 9


@pytest.mark.parametrize(
    ("at", "code"),
    [(D(2025, 12, 31), "cancellation_before_period"), (D(2026, 2, 2), "cancellation_after_period")],
)
def test_a_date_outside_the_period_is_refused(at: datetime.date, code: str) -> None:
    with pytest.raises(PolicyError) as refused:
        quote(policy(), paid(), JAN_START, JAN_END, at)
    assert (refused.value.code, refused.value.field) == (code, "at")


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(PolicyError) as refused:
        quote(policy(), paid(), JAN_START, JAN_END, JAN_START, "generous")
    assert refused.value.code == "invalid_choice"


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: RefundPolicy(Money(-1, "GBP"), 10, PRORATED), "non_refundable_amount"),
        (lambda: RefundPolicy(gbp("0.00"), -1, PRORATED), "full_refund_days"),
        (lambda: RefundPolicy(gbp("0.00"), True, PRORATED), "full_refund_days"),
        (lambda: RefundPolicy(gbp("0.00"), 10, "half"), "after_full_refund_period"),
    ],
)
def test_impossible_policies_are_refused(build: object, field: str) -> None:
    with pytest.raises(PolicyError) as refused:
        build()  # type: ignore[operator]
    assert refused.value.field == field
