"""Invariants of bank reconciliation, run by ``receivables ledger verify``."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import F, Sum

from receivables.banking.models import BankLine, LinePayment, LineStatus
from receivables.core.checks import Problems
from receivables.customers.models import BankAccount
from receivables.documents.models import Status
from receivables.ledger.models import Posting


def _live_payments() -> dict[int, tuple[int, int]]:
    """Each matched line's live payments: line id -> (their total, how many are cancelled)."""
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    live = LinePayment.objects.filter(undone_at__isnull=True).values_list(
        "line_id", "payment__total_minor", "payment__status"
    )
    for line_id, total, status in live.iterator(5000):
        totals[line_id][0] += total
        totals[line_id][1] += status == Status.CANCELLED
    return {line_id: (total, cancelled) for line_id, (total, cancelled) in totals.items()}


def lines_match_payments() -> Problems:
    """A matched line is paid in full by live payments; no other line has one."""
    payments = _live_payments()
    reported = 0
    matched = BankLine.objects.filter(status=LineStatus.MATCHED).values_list("id", "amount_minor")
    for line_id, amount in matched.iterator(5000):
        total, cancelled = payments.pop(line_id, (0, 0))
        if total != amount or cancelled:
            reported += 1
            yield f"bank line {line_id}: amount {amount} but its live payments add to {total} ({cancelled} cancelled)"
        if reported >= 50:
            return
    for line_id in list(payments)[:50]:
        yield f"bank line {line_id} is not matched but has live payments"


def bank_movement_matches_lines() -> Problems:
    """What matched lines' payments moved into each bank account's ledger account is what those lines say."""
    lines = dict(
        BankLine.objects.filter(status=LineStatus.MATCHED)
        .values("bank_account_id")
        .annotate(total=Sum("amount_minor"))
        .values_list("bank_account_id", "total")
    )
    moved = dict(
        Posting.objects.filter(
            entry__document__bank_line_payment__undone_at__isnull=True,
            entry__document__bank_line_payment__isnull=False,
            account__bank_account__isnull=False,
            account_id=F("entry__document__bank_line_payment__line__bank_account__ledger_account_id"),
        )
        .values("account__bank_account")
        .annotate(net=Sum(F("debit_minor") - F("credit_minor")))
        .values_list("account__bank_account", "net")
    )
    names = dict(BankAccount.objects.values_list("id", "name"))
    for bank_id in sorted(set(lines) | set(moved)):
        expected, posted = int(lines.get(bank_id) or 0), int(moved.get(bank_id) or 0)
        if expected != posted:
            name = names.get(bank_id, bank_id)
            yield f"bank account {name}: matched lines add to {expected}, the ledger moved {posted}"
