"""How much a cancelled subscription gives back for its current period.

Standard library and ``receivables.money`` only. The formula (DOMAIN.md, "Subscriptions and
cancellation refunds"), on gross (tax-inclusive) amounts actually paid for the period:

- d = calendar days from the period's start to the cancellation date, that day not counted;
  P = the period's length in calendar days;
- d ≤ full_refund_days: R = setup fee paid + recurring fee paid − non-refundable amount;
- otherwise, prorated: R = (recurring fee paid − non-refundable amount) × (P − d) / P;
  or no refund: R = 0;
- R is never below zero and is rounded once, half-up, at the end. Its net and tax are split
  at the tax rate of the invoice that was paid.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from receivables.money import Money, exponent
from receivables.rules.invoicing import split_gross

PRORATED = "prorated_recurring_fee"
NO_REFUND = "no_refund"
AFTER_FULL_REFUND_PERIOD = (PRORATED, NO_REFUND)

# What staff may choose when cancelling: the plan's own policy, or one rule for everybody.
POLICY_CHOICES = ("plan", "full", "prorated", "none")

# The rule that produced an amount, as the quote names it.
RULE_FULL = "full_refund"
RULE_PRORATED = PRORATED
RULE_NONE = NO_REFUND


class PolicyError(ValueError):
    """A refund question that has no answer (a date outside the period, an unknown policy)."""

    def __init__(self, code: str, message: str, field: str) -> None:
        super().__init__(message)
        self.code = code
        self.field = field


@dataclass(frozen=True, slots=True)
class RefundPolicy:
    non_refundable: Money
    full_refund_days: int
    after_full_refund_period: str

    def __post_init__(self) -> None:
        if self.non_refundable.minor < 0:
            raise PolicyError("amount_not_positive", "must be zero or more", "non_refundable_amount")
        if isinstance(self.full_refund_days, bool) or not isinstance(self.full_refund_days, int):
            raise PolicyError("invalid_days", "must be a whole number of days", "full_refund_days")
        if not 0 <= self.full_refund_days <= 36600:
            raise PolicyError("invalid_days", "must be between 0 and 36600", "full_refund_days")
        if self.after_full_refund_period not in AFTER_FULL_REFUND_PERIOD:
            raise PolicyError(
                "invalid_choice", f"must be one of: {', '.join(AFTER_FULL_REFUND_PERIOD)}", "after_full_refund_period"
            )


@dataclass(frozen=True, slots=True)
class Paid:
    """What the customer paid for the current period, gross, and the invoice's tax rate."""

    setup: Money
    recurring: Money
    tax_rate: Decimal

    @property
    def total(self) -> Money:
        return self.setup + self.recurring


@dataclass(frozen=True, slots=True)
class Quote:
    amount: Money
    net: Money
    tax: Money
    elapsed_days: int
    period_days: int
    rule: str
    policy: str
    non_refundable: Money


def business_date(moment: datetime.datetime, time_zone: str) -> datetime.date:
    """The calendar date of an aware instant in the business's time zone."""
    if moment.tzinfo is None:
        raise PolicyError("naive_datetime", "the instant must carry a time zone", "at")
    return moment.astimezone(ZoneInfo(time_zone)).date()


def elapsed_days(period_start: datetime.date, period_end: datetime.date, at: datetime.date) -> int:
    """Whole days used before ``at`` (the day itself not counted); ``at`` must fall in the period."""
    if at < period_start:
        raise PolicyError("cancellation_before_period", f"{at} is before the period's start {period_start}", "at")
    if at > period_end:
        raise PolicyError("cancellation_after_period", f"{at} is after the period's end {period_end}", "at")
    return (at - period_start).days


def _rule(policy: str, terms: RefundPolicy, elapsed: int) -> str:
    if policy not in POLICY_CHOICES:
        raise PolicyError("invalid_choice", f"must be one of: {', '.join(POLICY_CHOICES)}", "refund_policy")
    if policy == "full":
        return RULE_FULL
    if policy == "prorated":
        return RULE_PRORATED
    if policy == "none":
        return RULE_NONE
    if elapsed <= terms.full_refund_days:
        return RULE_FULL
    return RULE_PRORATED if terms.after_full_refund_period == PRORATED else RULE_NONE


def _unrounded_minor(rule: str, paid: Paid, non_refundable: Money, elapsed: int, length: int) -> Decimal:
    if rule == RULE_FULL:
        return Decimal((paid.total - non_refundable).minor)
    if rule == RULE_PRORATED:
        return Decimal((paid.recurring - non_refundable).minor * (length - elapsed)) / Decimal(length)
    return Decimal(0)


def quote(
    terms: RefundPolicy,
    paid: Paid,
    period_start: datetime.date,
    period_end: datetime.date,
    at: datetime.date,
    policy: str = "plan",
) -> Quote:
    """The refund for cancelling on ``at``: amount, its net/tax split, and why."""
    currency = paid.total.currency
    if terms.non_refundable.currency != currency:
        raise PolicyError("currency_mismatch", "the policy and the payment differ in currency", "currency")
    length = (period_end - period_start).days
    if length <= 0:
        raise PolicyError("invalid_period", "a period ends after it starts", "period")
    elapsed = elapsed_days(period_start, period_end, at)
    rule = _rule(policy, terms, elapsed)
    unrounded = max(_unrounded_minor(rule, paid, terms.non_refundable, elapsed, length), Decimal(0))
    # Rounded once, half-up; done on major units so Money.from_decimal owns the rounding.
    amount = Money.from_decimal(unrounded.scaleb(-exponent(currency)), currency)
    split = split_gross(amount, paid.tax_rate)
    return Quote(
        amount=amount,
        net=split.net,
        tax=split.tax,
        elapsed_days=elapsed,
        period_days=length,
        rule=rule,
        policy=policy,
        non_refundable=terms.non_refundable,
    )
