"""Matching a statement's new lines by the rules: certain ones settled at once, unsure ones suggested.

Lines are taken in chunks, each in one transaction: lock the chunk's lines (a person may be
deciding one of them right now: whoever locks first wins), read the facts, let
``rules.matching`` decide, lock the customers and invoices of the certain matches and check
the plan against their O/S as it is now (an earlier line of the chunk may have paid an
invoice), settle them in one batch, and store every other line's ranked suggestions.
"""

from __future__ import annotations

from collections import Counter

from django.conf import settings
from django.db import transaction

from receivables.banking import evidence, settling
from receivables.banking.models import BankLine, BankStatement, Direction, LineStatus
from receivables.documents.models import Document
from receivables.money import decimal_formatter
from receivables.rules import matching as rules
from receivables.rules.write_off import tolerance_minor

CHUNK = 500


def facts_of(line: BankLine) -> rules.Line:
    return rules.Line(line.amount_minor, line.reference, line.counterparty, evidence.valid_iban(line.iban))


def suggestion_out(suggestion: rules.Suggestion, payers: dict[int, rules.Payer], currency: str) -> dict:
    """A suggestion as the line stores it and the API and the screen show it."""
    text = decimal_formatter(currency)
    payer = payers.get(suggestion.customer_id)
    return {
        "customer": suggestion.customer_id,
        "customer_number": payer.number if payer else "",
        "customer_name": payer.name if payer else "",
        "score": suggestion.score,
        "explanation": suggestion.explanation,
        "reasons": [item.code for item in suggestion.evidence],
        "allocations": [
            {"target": a.invoice_id, "number": a.number, "amount": text(a.amount_minor)} for a in suggestion.allocations
        ],
        "on_account": text(suggestion.on_account_minor),
        "write_off": text(suggestion.write_off_minor),
    }


def plan_of(line: BankLine, suggestion: rules.Suggestion) -> settling.Plan:
    shares = [settling.Share(suggestion.customer_id, a.invoice_id, a.amount_minor) for a in suggestion.allocations]
    if suggestion.on_account_minor:
        shares.append(settling.Share(suggestion.customer_id, None, suggestion.on_account_minor))
    write_off = None
    if suggestion.write_off_minor:
        last = suggestion.allocations[-1].invoice_id
        write_off = settling.WriteOff(last, suggestion.write_off_minor, f"short payment, bank line {line.pk}")
    return settling.Plan(line, tuple(shares), write_off)


def _still_fits(plan: settling.Plan, targets: dict[int, Document], left: dict[int, int]) -> bool:
    """Whether the invoices still owe what the plan pays (and writes off), given the chunk's earlier plans."""
    needed: Counter[int] = Counter()
    for share in plan.shares:
        if share.target_id is not None:
            needed[share.target_id] += share.amount_minor
    if plan.write_off:
        needed[plan.write_off.target_id] += plan.write_off.amount_minor
    if any(target not in targets or needed[target] > left.get(target, 0) for target in needed):
        return False
    for target, amount in needed.items():
        left[target] -= amount
    return True


def _settle_certain(plans: list[settling.Plan], user: object) -> set[int]:
    """Settle the plans that still fit; the ids of the lines settled."""
    if not plans:
        return set()
    customers, targets = settling.lock(plans)
    left = {ident: document.outstanding_minor for ident, document in targets.items() if document.status == "open"}
    fitting = [plan for plan in plans if _still_fits(plan, targets, left)]
    settling.settle(fitting, customers, targets, user=user)
    return {plan.line.pk for plan in fitting}


@transaction.atomic
def match_chunk(line_ids: list[int], *, user: object = None) -> Counter:
    lines = [
        line
        for line in settling.lock_lines(line_ids)
        if line.status == LineStatus.UNMATCHED and line.direction == Direction.CREDIT
    ]
    if not lines:
        return Counter()
    currency = lines[0].currency
    facts = evidence.facts_for(lines, currency, tolerance_minor(settings.WRITE_OFF_TOLERANCE, currency))
    outcomes = {line.pk: rules.decide(facts_of(line), facts[line.pk]) for line in lines}
    for line in lines:
        payers = {payer.customer_id: payer for payer in facts[line.pk].payers}
        line.suggestions = [suggestion_out(s, payers, line.currency) for s in outcomes[line.pk].suggestions]
    certain = [
        plan_of(line, outcome.best)
        for line in lines
        if (outcome := outcomes[line.pk]).status == "matched" and outcome.best is not None
    ]
    settled = _settle_certain(certain, user)
    unsettled = [line for line in lines if line.pk not in settled]
    for line in unsettled:
        line.status = LineStatus.SUGGESTED if line.suggestions else LineStatus.UNMATCHED
    settling.save_lines(unsettled, ("status", "suggestions"))
    return Counter({LineStatus.MATCHED: len(settled)}) + Counter(line.status for line in unsettled)


def match_statement(statement: BankStatement, *, user: object = None) -> Counter:
    """Match every credit line of a statement still waiting, a chunk at a time; counts by status."""
    counts: Counter = Counter()
    last = 0
    waiting = BankLine.objects.filter(statement=statement, direction=Direction.CREDIT, status=LineStatus.UNMATCHED)
    while ids := list(waiting.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:CHUNK]):
        counts += match_chunk(ids, user=user)
        last = ids[-1]
    return counts
