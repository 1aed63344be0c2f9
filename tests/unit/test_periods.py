"""ISO 8601 durations and period dates, with month-end clamping from the anchor."""

from __future__ import annotations

import datetime

import pytest

from receivables.rules.periods import (
    Duration,
    PeriodError,
    add_months,
    parse_duration,
    period_days,
    period_end,
    period_start,
)

D = datetime.date


@pytest.mark.parametrize(
    ("text", "months", "days"),
    [("P1M", 1, 0), ("P3M", 3, 0), ("P1Y", 12, 0), ("P30D", 0, 30), ("P2W", 0, 14), ("P1Y6M", 18, 0), ("p1m", 1, 0)],
)
def test_durations_parse(text: str, months: int, days: int) -> None:
    assert parse_duration(text) == Duration(months=months, days=days)


@pytest.mark.parametrize("text", ["", "P", "1M", "P0M", "P0D", "PT1H", "P1.5M", "P-1M", "P11Y", None, 30, "P1M "])
def test_bad_durations_are_refused(text: object) -> None:
    if text == "P1M ":
        assert parse_duration(text) == Duration(1, 0)  # surrounding blanks are forgiven
        return
    with pytest.raises(PeriodError) as refused:
        parse_duration(text)
    assert refused.value.code == "invalid_duration"


def test_duration_prints_back_as_iso() -> None:
    assert [str(parse_duration(t)) for t in ("P1M", "P12M", "P1Y6M", "P30D", "P2W")] == [
        "P1M",
        "P1Y",
        "P1Y6M",
        "P30D",
        "P14D",
    ]


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2026, 1, 31), 1, D(2026, 2, 28)),
        (D(2028, 1, 31), 1, D(2028, 2, 29)),
        (D(2026, 3, 31), 1, D(2026, 4, 30)),
        (D(2026, 12, 15), 1, D(2027, 1, 15)),
        (D(2028, 2, 29), 12, D(2029, 2, 28)),
        (D(2026, 5, 31), -3, D(2026, 2, 28)),
    ],
)
def test_add_months_clamps_to_the_month_end(day: datetime.date, months: int, expected: datetime.date) -> None:
    assert add_months(day, months) == expected


def test_periods_count_from_the_anchor_so_clamping_never_drifts() -> None:
    monthly = parse_duration("P1M")
    anchor = D(2026, 1, 31)
    starts = [period_start(anchor, monthly, i) for i in range(5)]
    assert starts == [D(2026, 1, 31), D(2026, 2, 28), D(2026, 3, 31), D(2026, 4, 30), D(2026, 5, 31)]
    assert period_end(anchor, monthly, 0) == D(2026, 2, 28)


@pytest.mark.parametrize(
    ("start", "duration", "days"),
    [
        (D(2026, 2, 1), "P1M", 28),
        (D(2028, 2, 1), "P1M", 29),
        (D(2026, 4, 1), "P1M", 30),
        (D(2026, 1, 1), "P1M", 31),
        (D(2027, 6, 1), "P1Y", 366),  # across 29 February 2028
        (D(2026, 6, 1), "P1Y", 365),
        (D(2026, 1, 1), "P30D", 30),
        (D(2026, 1, 1), "P3M", 90),
    ],
)
def test_period_lengths_in_calendar_days(start: datetime.date, duration: str, days: int) -> None:
    end = period_end(start, parse_duration(duration), 0)
    assert period_days(start, end) == days


def test_day_periods_step_by_days() -> None:
    thirty = parse_duration("P30D")
    assert period_start(D(2026, 1, 1), thirty, 2) == D(2026, 3, 2)


def test_negative_index_is_refused() -> None:
    with pytest.raises(PeriodError):
        period_start(D(2026, 1, 1), parse_duration("P1M"), -1)
