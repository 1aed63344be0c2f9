"""Trial balance and the invariant checks behind ``receivables ledger verify``."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.db.models import BigIntegerField, Count, F, Q, Sum
from django.db.models.functions import Coalesce

from receivables.core.models import Sequence
from receivables.customers.models import Customer
from receivables.documents.models import CREDITS, Allocation, Document
from receivables.documents.selectors import signed_total
from receivables.ledger.models import Account, JournalEntry, Posting
from receivables.rules import posting


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


Problems = Iterator[str]


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


def receivable_matches_customers() -> Problems:
    control = dict(
        Posting.objects.filter(account__code=posting.ACCOUNTS_RECEIVABLE)
        .values("currency")
        .annotate(net=Sum(F("debit_minor") - F("credit_minor")))
        .values_list("currency", "net")
    )
    stored = dict(
        Customer.objects.values("currency").annotate(total=Sum("balance_minor")).values_list("currency", "total")
    )
    for currency in sorted(set(control) | set(stored)):
        ledger_total, customer_total = int(control.get(currency) or 0), int(stored.get(currency) or 0)
        if ledger_total != customer_total:
            yield f"accounts receivable in {currency} is {ledger_total} but customer balances add to {customer_total}"


def balances_match_documents() -> Problems:
    """Invariant 5: the stored balance, where every statement ends, is what the documents say."""
    computed = (
        Customer.objects.annotate(
            computed=Coalesce(Sum(signed_total("documents__")), 0, output_field=BigIntegerField())
        )
        .exclude(computed=F("balance_minor"))
        .values_list("number", "balance_minor", "computed")
    )
    for number, stored, from_documents in computed[:50]:
        yield f"customer {number}: balance {stored} but documents add to {from_documents}"


def outstanding_matches_allocations() -> Problems:
    out_of_range = Document.objects.filter(Q(outstanding_minor__lt=0) | Q(outstanding_minor__gt=F("total_minor")))
    for number in out_of_range.values_list("number", flat=True)[:50]:
        yield f"document {number}: outstanding outside 0..total"
    applied_from = dict(
        Allocation.objects.values("source_id").annotate(s=Sum("amount_minor")).values_list("source_id", "s")
    )
    applied_to = dict(
        Allocation.objects.values("target_id").annotate(s=Sum("amount_minor")).values_list("target_id", "s")
    )
    documents = Document.objects.values_list("id", "number", "type", "total_minor", "outstanding_minor")
    reported = 0
    for doc_id, number, doc_type, total, outstanding in documents.iterator(chunk_size=5000):
        applied = applied_from.get(doc_id, 0) if doc_type in CREDITS else applied_to.get(doc_id, 0)
        if outstanding != total - int(applied or 0):
            reported += 1
            yield f"document {number}: outstanding {outstanding} but total − allocations is {total - int(applied or 0)}"
            if reported >= 50:
                return


_NUMBER = re.compile(r"^(?P<prefix>\D+)(?P<value>\d+)$")


def numbering_is_gapless() -> Problems:
    issued = {s.prefix: s.next_value - 1 for s in Sequence.objects.all()}
    seen: dict[str, list[int]] = defaultdict(list)
    numbers = Document.objects.values_list("number", flat=True).iterator(chunk_size=10000)
    customer_numbers = Customer.objects.values_list("number", flat=True).iterator(chunk_size=10000)
    for collection in (numbers, customer_numbers):
        for number in collection:
            match = _NUMBER.match(number)
            if match is None:
                yield f"number {number!r} is not in a series"
                continue
            seen[match["prefix"]].append(int(match["value"]))
    for prefix, values in seen.items():
        expected = issued.get(prefix, 0)
        if len(values) != len(set(values)):
            yield f"series {prefix}: duplicate numbers"
        if sorted(values) != list(range(1, expected + 1)):
            missing = sorted(set(range(1, expected + 1)) - set(values))[:10]
            yield f"series {prefix}: {len(values)} numbers used of {expected} issued; missing {missing}"


CHECKS: dict[str, Callable[[], Problems]] = {
    "every journal entry balances": unbalanced_entries,
    "accounts receivable equals the sum of customer balances": receivable_matches_customers,
    "every statement ends at the customer's balance": balances_match_documents,
    "every document has 0 ≤ O/S ≤ total and O/S = total − allocations": outstanding_matches_allocations,
    "document numbers are unique and gapless per series": numbering_is_gapless,
}


def register_check(name: str, check: Callable[[], Problems]) -> None:
    """Other areas (gateways, subscriptions) add their own invariants here."""
    CHECKS[name] = check


def verify() -> dict[str, list[str]]:
    return {name: list(check()) for name, check in CHECKS.items()}
