"""Plans and their versions: periods with prices and refund policies. A plan is never edited:
changed terms are a new version, and subscriptions keep the terms they were sold on."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from receivables.core import audit, inputs
from receivables.core.errors import Conflict, NotFound, ReceivablesError
from receivables.money import Money
from receivables.rules import periods, refund_policy
from receivables.subscriptions.models import Plan, PlanPeriod

MAX_PERIODS = 20


@dataclass(frozen=True)
class PeriodTerms:
    duration: periods.Duration
    setup_fee: Money
    recurring_fee: Money
    tax_rate: Decimal
    policy: refund_policy.RefundPolicy


def _policy(raw: dict, currency: str, field: str) -> refund_policy.RefundPolicy:
    if not isinstance(raw, dict):
        raise ReceivablesError("invalid_body", "must be an object", field)
    days = raw.get("full_refund_days", 0)
    if isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 36600:
        raise ReceivablesError(
            "invalid_days", "must be a whole number of days from 0 to 36600", f"{field}.full_refund_days"
        )
    after = inputs.choice(
        raw.get("after_full_refund_period"), f"{field}.after_full_refund_period", refund_policy.AFTER_FULL_REFUND_PERIOD
    )
    non_refundable = inputs.money(
        raw.get("non_refundable_amount") or "0", currency, f"{field}.non_refundable_amount", allow_zero=True
    )
    return refund_policy.RefundPolicy(non_refundable, days, after)


def parse_periods(raw_periods: list[dict], currency: str, field: str = "periods") -> list[PeriodTerms]:
    """Validate periods given as text; errors name e.g. ``periods[1].refund_policy.full_refund_days``."""
    if not raw_periods:
        raise ReceivablesError("required", "at least one period is needed", field)
    if len(raw_periods) > MAX_PERIODS:
        raise ReceivablesError("too_many_periods", f"at most {MAX_PERIODS} periods", field)
    terms = []
    for index, raw in enumerate(raw_periods):
        where = f"{field}[{index}]"
        try:
            duration = periods.parse_duration(raw.get("duration"))
        except periods.PeriodError as error:
            raise ReceivablesError(error.code, str(error), f"{where}.duration") from None
        terms.append(
            PeriodTerms(
                duration=duration,
                setup_fee=inputs.money(raw.get("setup_fee") or "0", currency, f"{where}.setup_fee", allow_zero=True),
                recurring_fee=inputs.money(raw.get("recurring_fee"), currency, f"{where}.recurring_fee"),
                tax_rate=inputs.tax_rate(raw.get("tax_rate") or "0", f"{where}.tax_rate"),
                policy=_policy(raw.get("refund_policy") or {}, currency, f"{where}.refund_policy"),
            )
        )
    durations = [str(term.duration) for term in terms]
    if len(set(durations)) != len(durations):
        raise ReceivablesError("duplicate_period", "each period of a plan has its own duration", field)
    return terms


PLAN_FIELDS = ("name", "currency", "version", "previous")
PERIOD_FIELDS = (
    "duration",
    "setup_fee_minor",
    "recurring_fee_minor",
    "tax_rate",
    "non_refundable_minor",
    "full_refund_days",
    "after_full_refund_period",
)


def _store_plan(name: str, currency: str, terms: list[PeriodTerms], *, user: object, previous: Plan | None) -> Plan:
    plan = Plan.objects.create(
        name=name,
        currency=currency,
        version=previous.version + 1 if previous else 1,
        previous=previous,
        created_by=audit.person(user),
    )
    periods_made = PlanPeriod.objects.bulk_create(
        [
            PlanPeriod(
                plan=plan,
                position=position,
                duration=str(term.duration),
                setup_fee_minor=term.setup_fee.minor,
                recurring_fee_minor=term.recurring_fee.minor,
                tax_rate=str(term.tax_rate),
                non_refundable_minor=term.policy.non_refundable.minor,
                full_refund_days=term.policy.full_refund_days,
                after_full_refund_period=term.policy.after_full_refund_period,
            )
            for position, term in enumerate(terms, start=1)
        ]
    )
    after = {
        **audit.snapshot(plan, PLAN_FIELDS),
        "periods": [audit.snapshot(period, PERIOD_FIELDS) for period in periods_made],
    }
    action = "plan.version" if previous else "plan.create"
    audit.record(action, plan, before=None, after=after, user=user, label=f"{plan.name} v{plan.version}")
    return plan


@transaction.atomic
def create_plan(name: str, currency: str, raw_periods: list[dict], *, user: object = None) -> Plan:
    name = inputs.text(name, "name", max_length=200)
    currency = inputs.currency(currency)
    terms = parse_periods(raw_periods, currency)
    return _store_plan(name, currency, terms, user=user, previous=None)


@transaction.atomic
def new_plan_version(plan_id: int, raw_periods: list[dict], *, name: str | None = None, user: object = None) -> Plan:
    """Changed terms are a new version; subscriptions sold on the old one keep theirs."""
    plan = Plan.objects.select_for_update().filter(pk=plan_id).first()
    if plan is None:
        raise NotFound("plan", plan_id, "plan")
    if not plan.is_current:
        raise Conflict("plan_superseded", "this version was replaced; version the current one", "plan")
    new_name = inputs.text(name, "name", max_length=200) if name is not None else plan.name
    terms = parse_periods(raw_periods, plan.currency)
    Plan.objects.filter(pk=plan.pk).update(is_current=False)
    return _store_plan(new_name, plan.currency, terms, user=user, previous=plan)
