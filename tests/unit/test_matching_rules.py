"""Matching rules, worked examples first, then properties."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from receivables.money import Money
from receivables.rules import matching as rules
from receivables.rules import posting
from receivables.rules.write_off import tolerance_minor

ALICE_120 = rules.OpenInvoice(1, "INV-000001", 10, 12000)
ALICE_80 = rules.OpenInvoice(2, "INV-000002", 10, 8000)
BOB_60 = rules.OpenInvoice(3, "INV-000003", 20, 6000)
CAROL_60 = rules.OpenInvoice(4, "INV-000004", 30, 6000)
ALICE = rules.Payer(10, "CUS-000010", "Alice Brown", (ALICE_120, ALICE_80))
BOB = rules.Payer(20, "CUS-000020", "Bob Carter Ltd", (BOB_60,))
CAROL = rules.Payer(30, "CUS-000030", "Carol Diaz", (CAROL_60,))


def allocations(outcome: rules.Outcome) -> list[tuple[str, int]]:
    assert outcome.best is not None
    return [(a.number, a.amount_minor) for a in outcome.best.allocations]


def test_numbers_are_found_however_the_bank_wrote_them() -> None:
    text = "inv 12, INV000034 and INV-000056; CUS-7; not AINV-9 nor INV-1234567890123"
    assert rules.numbers_in(text, ["INV-"]) == ["INV-000012", "INV-000034", "INV-000056"]
    assert rules.numbers_in(text, ["CUS-"]) == ["CUS-000007"]


def test_names_match_across_case_order_and_company_suffixes() -> None:
    assert rules.name_similarity("BROWN ALICE", "Alice Brown") == 1.0
    assert rules.name_similarity("Bob Carter", "Bob Carter Ltd") == 1.0
    assert rules.name_similarity("J Smith", "Alice Brown") < rules.SIMILAR_NAME
    assert rules.name_similarity("", "Alice") == 0.0


def test_an_invoice_number_and_its_exact_amount_is_certain() -> None:
    facts = rules.Facts(payers=(ALICE,), invoice_ids=frozenset({1}))
    outcome = rules.decide(rules.Line(12000, "INV-000001"), facts)
    assert outcome.status == "matched"
    assert allocations(outcome) == [("INV-000001", 12000)]
    assert outcome.best.score == 100
    assert "the reference names INV-000001" in outcome.best.explanation


def test_the_amount_alone_is_only_a_suggestion() -> None:
    facts = rules.Facts(payers=(BOB,))
    outcome = rules.decide(rules.Line(6000, "December"), facts)
    assert outcome.status == "suggested"
    assert allocations(outcome) == [("INV-000003", 6000)]
    assert outcome.best.score == rules.POINTS["exact_amount"]


def test_two_customers_owing_the_same_amount_are_both_suggested_never_matched() -> None:
    facts = rules.Facts(payers=(BOB, CAROL))
    outcome = rules.decide(rules.Line(6000, "payment", "Someone Else"), facts)
    assert outcome.status == "suggested"
    assert [s.customer_id for s in outcome.suggestions] == [20, 30]


def test_a_known_iban_and_the_name_with_the_amount_make_it_certain() -> None:
    facts = rules.Facts(payers=(BOB,), iban_customers=frozenset({20}))
    outcome = rules.decide(rules.Line(6000, "thanks", "BOB CARTER"), facts)
    assert outcome.status == "matched"
    assert [e.code for e in outcome.best.evidence] == ["known_iban", "exact_amount", "name"]


def test_one_line_for_several_invoices_of_one_customer() -> None:
    facts = rules.Facts(payers=(ALICE,), customer_ids=frozenset({10}))
    outcome = rules.decide(rules.Line(20000, "CUS-000010 November"), facts)
    assert outcome.status == "matched"
    assert allocations(outcome) == [("INV-000001", 12000), ("INV-000002", 8000)]
    assert outcome.best.on_account_minor == 0


def test_the_subset_search_finds_invoices_that_are_not_the_oldest() -> None:
    invoices = (rules.OpenInvoice(1, "A", 1, 500), rules.OpenInvoice(2, "B", 1, 700), rules.OpenInvoice(3, "C", 1, 300))
    assert rules.invoices_summing_to(invoices, 800) == (invoices[0], invoices[2])
    assert rules.invoices_summing_to(invoices, 1200) == invoices[:2]
    assert rules.invoices_summing_to(invoices, 1) is None


def test_a_partial_payment_of_a_named_invoice_is_allocated_and_leaves_it_open() -> None:
    facts = rules.Facts(payers=(ALICE,), invoice_ids=frozenset({1}))
    outcome = rules.decide(rules.Line(5000, "part payment INV-000001"), facts)
    assert outcome.status == "matched"
    assert allocations(outcome) == [("INV-000001", 5000)]
    assert (outcome.best.on_account_minor, outcome.best.write_off_minor) == (0, 0)


def test_a_short_payment_within_the_tolerance_writes_the_rest_off() -> None:
    facts = rules.Facts(payers=(ALICE,), invoice_ids=frozenset({1}), tolerance_minor=100)
    outcome = rules.decide(rules.Line(11950, "INV-000001"), facts)
    assert outcome.status == "matched"
    assert allocations(outcome) == [("INV-000001", 11950)]
    assert outcome.best.write_off_minor == 50
    beyond = rules.decide(rules.Line(11850, "INV-000001"), facts)
    assert beyond.best.write_off_minor == 0  # £1.50 short: a partial payment, nothing written off


def test_an_overpayment_stays_on_account() -> None:
    facts = rules.Facts(payers=(ALICE,), invoice_ids=frozenset({2}))
    outcome = rules.decide(rules.Line(10000, "INV-000002"), facts)
    assert allocations(outcome) == [("INV-000002", 8000)]
    assert outcome.best.on_account_minor == 2000


def test_a_line_nothing_points_at_waits() -> None:
    assert rules.decide(rules.Line(4500, "deposit", "Nobody"), rules.Facts(payers=())).status == "unmatched"


def test_the_write_off_tolerance_reads_like_the_approval_thresholds() -> None:
    assert tolerance_minor("*=1.00", "GBP") == 100
    assert tolerance_minor("*=1.00", "JPY") == 1
    assert tolerance_minor("*=1.00", "BHD") == 1000
    assert tolerance_minor("GBP=0.50,*=2", "GBP") == 50
    assert tolerance_minor("GBP=0.50,*=2", "EUR") == 200
    assert tolerance_minor("*=none", "GBP") == 0
    assert tolerance_minor("*=0.005", "GBP") == 0


amounts = st.integers(min_value=1, max_value=10**9)
open_invoices = st.lists(amounts, min_size=1, max_size=8).map(
    lambda owed: tuple(rules.OpenInvoice(i, f"INV-{i:06d}", 1, minor) for i, minor in enumerate(owed, start=1))
)


@given(open_invoices, amounts, st.sets(st.integers(min_value=1, max_value=8)), st.integers(0, 500))
def test_a_suggestion_never_allocates_more_than_the_line_or_an_invoice_owes(
    invoices: tuple[rules.OpenInvoice, ...], line_minor: int, named: set[int], tolerance: int
) -> None:
    payer = rules.Payer(1, "CUS-000001", "Alice", invoices)
    facts = rules.Facts(
        payers=(payer,), invoice_ids=frozenset(named), customer_ids=frozenset({1}), tolerance_minor=tolerance
    )
    outcome = rules.decide(rules.Line(line_minor, "x"), facts)
    owed = {invoice.id: invoice.outstanding_minor for invoice in invoices}
    for suggestion in outcome.suggestions:
        applied = sum(a.amount_minor for a in suggestion.allocations)
        assert applied + suggestion.on_account_minor == line_minor
        assert suggestion.on_account_minor >= 0 and 0 <= suggestion.write_off_minor <= tolerance
        assert all(0 < a.amount_minor <= owed[a.invoice_id] for a in suggestion.allocations)
        assert 0 <= suggestion.score <= 100


@given(open_invoices, amounts)
def test_invoices_summing_to_an_amount_add_up_to_it(invoices: tuple[rules.OpenInvoice, ...], target: int) -> None:
    found = rules.invoices_summing_to(invoices, target)
    if found is not None:
        assert sum(invoice.outstanding_minor for invoice in found) == target
        assert len(found) >= 2


@given(st.lists(st.tuples(st.integers(1, 5), st.integers(0, 100)), max_size=6), amounts)
def test_matched_means_certain_and_clearly_ahead(payers: list[tuple[int, int]], line_minor: int) -> None:
    people = tuple(
        rules.Payer(i, f"CUS-{i:06d}", f"Name {i}", (rules.OpenInvoice(i, f"INV-{i:06d}", i, line_minor),))
        for i, _ in enumerate(payers, start=1)
    )
    facts = rules.Facts(payers=people)
    outcome = rules.decide(rules.Line(line_minor, ""), facts)
    if outcome.status == "matched":
        scores = [s.score for s in outcome.suggestions]
        assert scores[0] >= rules.CERTAIN and (len(scores) == 1 or scores[0] - scores[1] >= rules.LEAD)
    assert outcome.status != "matched" or len(people) == 1


def test_a_write_off_debits_bad_debts_and_credits_the_receivable() -> None:
    legs = posting.write_off(Money(50, "GBP"))
    assert [(leg.account, leg.debit.minor, leg.credit.minor) for leg in legs] == [
        (posting.BAD_DEBTS, 50, 0),
        (posting.ACCOUNTS_RECEIVABLE, 0, 50),
    ]
    assert posting.CHART[posting.BAD_DEBTS] == ("Bad debts", "expense")
