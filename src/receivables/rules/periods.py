"""Subscription periods: ISO 8601 durations and period dates with month-end clamping.

Standard library only. A period runs from its start date up to (not including) its end
date, which is also the next period's start. Dates are counted from the subscription's
anchor (its first day), so a subscription started on 31 January renews on 28 (or 29)
February, then on 31 March: clamping never drifts the anchor day.
"""

from __future__ import annotations

import calendar
import datetime
import re
from dataclasses import dataclass

_DURATION = re.compile(
    r"^P(?:(?P<years>\d{1,3})Y)?(?:(?P<months>\d{1,4})M)?(?:(?P<weeks>\d{1,4})W)?(?:(?P<days>\d{1,5})D)?$"
)

# A period longer than this is a typing mistake, not a subscription.
MAX_PERIOD_DAYS = 10 * 366


class PeriodError(ValueError):
    """A duration or period that cannot exist. ``code`` is stable."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Duration:
    months: int
    days: int

    def __str__(self) -> str:
        years, months = divmod(self.months, 12)
        text = "P"
        text += f"{years}Y" if years else ""
        text += f"{months}M" if months else ""
        text += f"{self.days}D" if self.days else ""
        return text


def parse_duration(text: object) -> Duration:
    """``P1M``, ``P3M``, ``P1Y``, ``P30D``, ``P2W``, ``P1Y6M``; no time parts, never zero."""
    cleaned = text.strip().upper() if isinstance(text, str) else ""
    match = _DURATION.match(cleaned)
    if match is None or cleaned == "P":
        raise PeriodError("invalid_duration", f"{str(text)[:40]!r} is not an ISO 8601 duration such as P1M or P30D")
    parts = {name: int(value or 0) for name, value in match.groupdict().items()}
    duration = Duration(months=parts["years"] * 12 + parts["months"], days=parts["weeks"] * 7 + parts["days"])
    if duration.months == 0 and duration.days == 0:
        raise PeriodError("invalid_duration", "a period must be longer than zero")
    if duration.months * 31 + duration.days > MAX_PERIOD_DAYS:
        raise PeriodError("invalid_duration", "a period must be at most ten years")
    return duration


def add_months(day: datetime.date, months: int) -> datetime.date:
    """Same day of the month, ``months`` later; clamped to the month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return datetime.date(year, month + 1, min(day.day, last))


def period_start(anchor: datetime.date, duration: Duration, index: int) -> datetime.date:
    """Start of the ``index``-th period (0 = the first) of a subscription anchored on ``anchor``."""
    if index < 0:
        raise PeriodError("invalid_period_index", "a period index is zero or more")
    return add_months(anchor, duration.months * index) + datetime.timedelta(days=duration.days * index)


def period_end(anchor: datetime.date, duration: Duration, index: int) -> datetime.date:
    """The day the ``index``-th period ends on: the first day of the next one."""
    return period_start(anchor, duration, index + 1)


def period_days(start: datetime.date, end: datetime.date) -> int:
    return (end - start).days
