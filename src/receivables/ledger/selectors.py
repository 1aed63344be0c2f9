"""Trial balance, and the ledger's own invariant: every journal entry balances."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, F, Sum

from receivables.core.checks import Problems
from receivables.ledger.models import Account, JournalEntry, Posting


@dataclass
class TrialBalanceRow:
    code: str
    name: str
    debit: int
    credit: int


def trial_balance(currency: str) -> list[TrialBalanceRow]:
    """Each account's net debit or credit in one currency.

    The sums group by account id alone (read from the covering index ``posting_account_totals``)
    and the few accounts are named afterwards: joining the account to each of millions of
    postings before grouping was most of the time.
    """
    totals = (
        Posting.objects.filter(currency=currency)
        .values("account_id")
        .annotate(debit=Sum("debit_minor"), credit=Sum("credit_minor"))
        .order_by()
    )
    sums = {row["account_id"]: int(row["debit"]) - int(row["credit"]) for row in totals}
    accounts = Account.objects.filter(pk__in=sums).order_by("code")
    return [TrialBalanceRow(a.code, a.name, max(sums[a.pk], 0), max(-sums[a.pk], 0)) for a in accounts]


def ledger_currencies() -> list[str]:
    return sorted(set(Posting.objects.values_list("currency", flat=True).distinct()))


def unbalanced_entries() -> Problems:
    rows = (
        Posting.objects.values("entry_id", "currency")
        .annotate(debit=Sum("debit_minor"), credit=Sum("credit_minor"))
        .exclude(debit=F("credit"))
    )
    for row in rows[:50]:
        yield (
            f"journal entry {row['entry_id']} does not balance in {row['currency']}: "
            f"debits {row['debit']} ≠ credits {row['credit']}"
        )
    mixed = Posting.objects.exclude(currency=F("entry__currency")).values_list("entry_id", flat=True)[:50]
    for entry_id in mixed:
        yield f"journal entry {entry_id} has a posting in another currency"
    empty = JournalEntry.objects.annotate(n=Count("postings")).filter(n__lt=2).values_list("id", flat=True)[:50]
    for entry_id in empty:
        yield f"journal entry {entry_id} has fewer than two postings"
