"""Which open invoices a bank line pays: scored, explainable suggestions, and when one is certain.

A person reconciling a statement looks for the same things, in this order of weight: an
invoice number in the payment's reference, a customer number, an amount that is exactly what
one invoice (or several of one customer's invoices) still owes, a payer account (IBAN) the
customer paid from before, and the payer's name. Each found fact is an ``Evidence`` with
points and a sentence for the screen; a ``Suggestion`` (a customer and the invoices the money
would settle) adds up its evidence, capped at 100. A line is matched without a person only
when its best suggestion reaches ``CERTAIN`` and no other comes within ``LEAD`` of it.

Standard library and money.py only; every amount is in integer minor units.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from functools import lru_cache
from itertools import combinations

CERTAIN = 90
LEAD = 20
SHOWN = 5
# Beyond this many open invoices of one customer the subset search stops at oldest-first prefixes.
SUBSET_LIMIT = 12

POINTS = {
    "invoice_number": 90,
    "customer_number": 60,
    "known_iban": 40,
    "exact_amount": 30,
    "sum_of_invoices": 30,
    "short_within_tolerance": 20,
    "name": 25,
    "similar_name": 10,
}
SAME_NAME = 0.85
SIMILAR_NAME = 0.6


@dataclass(frozen=True)
class OpenInvoice:
    id: int
    number: str
    customer_id: int
    outstanding_minor: int


@dataclass(frozen=True)
class Payer:
    """A customer as matching sees it: its number, its name and its open invoices, oldest first."""

    customer_id: int
    number: str
    name: str
    invoices: tuple[OpenInvoice, ...]

    @property
    def open_minor(self) -> int:
        return sum(invoice.outstanding_minor for invoice in self.invoices)


@dataclass(frozen=True)
class Line:
    """What a bank line says: the money in, and the words that came with it."""

    amount_minor: int
    reference: str
    counterparty: str = ""
    iban: str = ""


@dataclass(frozen=True)
class Facts:
    """What the book says about a line, looked up by the caller (numbers, IBANs and amounts are indexed).

    ``payers`` are every customer the line could be from (named, paying from a known IBAN, of the
    payer's name, or owing exactly the amount); ``invoice_ids`` the open invoices named in the
    reference; ``customer_ids`` the customers named; ``iban_customers`` those who paid from the
    line's IBAN before.
    """

    payers: tuple[Payer, ...]
    invoice_ids: frozenset[int] = frozenset()
    customer_ids: frozenset[int] = frozenset()
    iban_customers: frozenset[int] = frozenset()
    tolerance_minor: int = 0


@dataclass(frozen=True)
class Evidence:
    code: str
    points: int
    says: str


@dataclass(frozen=True)
class Allocation:
    invoice_id: int
    number: str
    amount_minor: int


@dataclass(frozen=True)
class Suggestion:
    customer_id: int
    allocations: tuple[Allocation, ...]
    evidence: tuple[Evidence, ...]
    # Left of the line after the allocations: stays on account as an unapplied payment.
    on_account_minor: int
    # What the allocated invoices are short by, when within the tolerance: written off with the match.
    write_off_minor: int = 0

    @property
    def score(self) -> int:
        return min(100, sum(item.points for item in self.evidence))

    @property
    def explanation(self) -> str:
        return "; ".join(item.says for item in self.evidence)


@dataclass(frozen=True)
class Outcome:
    status: str  # "matched", "suggested" or "unmatched"
    suggestions: tuple[Suggestion, ...] = field(default_factory=tuple)

    @property
    def best(self) -> Suggestion | None:
        return self.suggestions[0] if self.suggestions else None


def numbers_in(text: str, prefixes: Iterable[str]) -> list[str]:
    """Document or customer numbers (``INV-000123``) in free text, as the book writes them.

    Banks drop the dash, change the case and cut leading zeros less often than they add spaces,
    so ``inv 123``, ``INV000123`` and ``INV-000123`` all read as ``INV-000123``.
    """
    found: list[str] = []
    for prefix in prefixes:
        letters = re.escape(prefix.rstrip("-"))
        for match in re.finditer(rf"(?<![A-Za-z0-9]){letters}[\s\-/#:]*0*(\d{{1,12}})(?!\d)", text, re.IGNORECASE):
            number = f"{prefix}{int(match.group(1)):06d}"
            if number not in found:
                found.append(number)
    return found


@lru_cache(maxsize=8192)
def _folded(name: str) -> str:
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = re.findall(r"[a-z0-9]+", plain)
    noise = {"ltd", "limited", "plc", "llc", "inc", "gmbh", "sa", "bv", "the", "and", "co", "mr", "mrs", "ms"}
    return " ".join(sorted(word for word in words if word not in noise))


def name_similarity(a: str, b: str) -> float:
    """0..1: how alike two names are, ignoring case, accents, word order and company suffixes."""
    left, right = _folded(a), _folded(b)
    if not left or not right:
        return 0.0
    return SequenceMatcher(None, left, right).ratio()


def _oldest_first(invoices: Sequence[OpenInvoice], amount_minor: int) -> list[Allocation]:
    left, made = amount_minor, []
    for invoice in invoices:
        if left <= 0:
            break
        share = min(left, invoice.outstanding_minor)
        made.append(Allocation(invoice.id, invoice.number, share))
        left -= share
    return made


def _full(invoices: Iterable[OpenInvoice]) -> list[Allocation]:
    return [Allocation(invoice.id, invoice.number, invoice.outstanding_minor) for invoice in invoices]


def invoices_summing_to(invoices: Sequence[OpenInvoice], amount_minor: int) -> tuple[OpenInvoice, ...] | None:
    """Several open invoices whose O/S add up to exactly the amount: oldest-first prefixes, then subsets.

    The smallest such set is returned (a payer settles few invoices at once), oldest invoices first
    among equals; None when none adds up, or when a customer has too many for the subset search.
    """
    running = 0
    for count, invoice in enumerate(invoices, start=1):
        running += invoice.outstanding_minor
        if running == amount_minor and count > 1:
            return tuple(invoices[:count])
    if len(invoices) > SUBSET_LIMIT:
        return None
    for size in range(2, len(invoices) + 1):
        for subset in combinations(invoices, size):
            if sum(invoice.outstanding_minor for invoice in subset) == amount_minor:
                return subset
    return None


def _named_invoices(payer: Payer, facts: Facts) -> tuple[OpenInvoice, ...]:
    return tuple(invoice for invoice in payer.invoices if invoice.id in facts.invoice_ids)


@dataclass(frozen=True)
class _Settles:
    """The invoices a line would settle, what its amount says of them, and whether it pays them in full."""

    invoices: tuple[OpenInvoice, ...]
    evidence: tuple[Evidence, ...] = ()
    in_full: bool = False
    short_minor: int = 0


def _settles(line: Line, payer: Payer, named: tuple[OpenInvoice, ...], facts: Facts) -> _Settles:
    if named:
        return _settles_named(line, named, facts)
    exact = [invoice for invoice in payer.invoices if invoice.outstanding_minor == line.amount_minor]
    if exact:
        says = f"the amount is what {exact[0].number} owes"
        return _Settles((exact[0],), (Evidence("exact_amount", POINTS["exact_amount"], says),), True)
    several = invoices_summing_to(payer.invoices, line.amount_minor)
    if several:
        says = "the amount is the sum of " + ", ".join(invoice.number for invoice in several)
        return _Settles(several, (Evidence("sum_of_invoices", POINTS["sum_of_invoices"], says),), True)
    return _Settles(payer.invoices)


def _settles_named(line: Line, named: tuple[OpenInvoice, ...], facts: Facts) -> _Settles:
    owed = sum(invoice.outstanding_minor for invoice in named)
    if owed == line.amount_minor:
        what = "what the invoice owes" if len(named) == 1 else "the sum of the invoices named"
        return _Settles(named, (Evidence("exact_amount", POINTS["exact_amount"], f"the amount is {what}"),), True)
    short = owed - line.amount_minor
    if 0 < short <= facts.tolerance_minor:
        says = "short by no more than the write-off tolerance"
        return _Settles(
            named, (Evidence("short_within_tolerance", POINTS["short_within_tolerance"], says),), False, short
        )
    return _Settles(named)


def _reference_evidence(payer: Payer, named: Sequence[OpenInvoice], facts: Facts) -> list[Evidence]:
    found = []
    if named:
        numbers = ", ".join(invoice.number for invoice in named)
        found.append(Evidence("invoice_number", POINTS["invoice_number"], f"the reference names {numbers}"))
    if payer.customer_id in facts.customer_ids:
        found.append(Evidence("customer_number", POINTS["customer_number"], f"the reference names {payer.number}"))
    if payer.customer_id in facts.iban_customers:
        found.append(Evidence("known_iban", POINTS["known_iban"], "the payer's account paid this customer before"))
    return found


def _name_evidence(line: Line, payer: Payer) -> list[Evidence]:
    likeness = name_similarity(line.counterparty, payer.name)
    if likeness >= SAME_NAME:
        return [Evidence("name", POINTS["name"], f"the payer's name is {payer.name}")]
    if likeness >= SIMILAR_NAME:
        return [Evidence("similar_name", POINTS["similar_name"], f"the payer's name is like {payer.name}")]
    return []


def suggest(line: Line, payer: Payer, facts: Facts) -> Suggestion | None:
    """What paying ``payer``'s invoices with this line would look like, and why; None without evidence."""
    named = _named_invoices(payer, facts)
    settles = _settles(line, payer, named, facts)
    evidence = [*_reference_evidence(payer, named, facts), *settles.evidence, *_name_evidence(line, payer)]
    if not evidence:
        return None
    allocations = _full(settles.invoices) if settles.in_full else _oldest_first(settles.invoices, line.amount_minor)
    applied = sum(allocation.amount_minor for allocation in allocations)
    return Suggestion(
        payer.customer_id, tuple(allocations), tuple(evidence), line.amount_minor - applied, settles.short_minor
    )


def decide(line: Line, facts: Facts) -> Outcome:
    """Rank every payer's suggestion; matched when the best is certain and clearly ahead of the next."""
    made = [suggestion for payer in facts.payers if (suggestion := suggest(line, payer, facts)) is not None]
    ranked = tuple(sorted(made, key=lambda s: (-s.score, s.customer_id))[:SHOWN])
    if not ranked:
        return Outcome("unmatched")
    best = ranked[0]
    runner_up = ranked[1].score if len(ranked) > 1 else 0
    if best.score >= CERTAIN and best.score - runner_up >= LEAD and best.allocations:
        return Outcome("matched", ranked)
    return Outcome("suggested", ranked)
