"""Pure rules: invoice amounts (rounded once per amount) and journal postings (always balanced)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from receivables.money import Money, MoneyError
from receivables.rules import approval, invoicing, posting
from receivables.rules.posting import Leg, UnbalancedEntry

quantities = st.decimals(min_value=Decimal("0.0001"), max_value=10_000, places=4)
prices = st.decimals(min_value=0, max_value=100_000, places=4)
rates = st.decimals(min_value=0, max_value=100, places=2)
currencies = st.sampled_from(["GBP", "JPY", "BHD"])
positive_minor = st.integers(min_value=1, max_value=10**12)


def half_up(value: Decimal, places: int) -> int:
    return int((value * 10**places).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# invoicing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("quantity", "unit_price", "rate", "currency", "net", "tax"),
    [
        ("2", "8.3333", "20", "GBP", 1667, 333),  # the seed story: 16.6666 -> 16.67, 3.334 -> 3.33
        ("1", "10.00", "0", "GBP", 1000, 0),
        ("3", "0.335", "20", "GBP", 101, 20),  # 1.005 -> 1.01, 0.202 -> 0.20
        ("1", "0.125", "17.5", "GBP", 13, 2),  # 0.125 -> 0.13, 0.02275 -> 0.02
        ("1", "1.5", "10", "JPY", 2, 0),  # 1.5 -> 2 yen, 0.2 -> 0
        ("3", "1000", "8", "JPY", 3000, 240),
    ],
)
def test_line_amounts_examples(quantity: str, unit_price: str, rate: str, currency: str, net: int, tax: int) -> None:
    line = invoicing.line_amounts(Decimal(quantity), Decimal(unit_price), Decimal(rate), currency)
    assert (line.net, line.tax) == (Money(net, currency), Money(tax, currency))
    assert line.gross == Money(net + tax, currency)


@given(quantities, prices, rates, currencies)
def test_line_amounts_round_once_half_up(quantity: Decimal, price: Decimal, rate: Decimal, currency: str) -> None:
    places = {"GBP": 2, "JPY": 0, "BHD": 3}[currency]
    line = invoicing.line_amounts(quantity, price, rate, currency)
    assert line.net.minor == half_up(quantity * price, places)
    # Tax is computed on the rounded net, so the printed net × rate gives the printed tax.
    assert line.tax.minor == half_up(Decimal(line.net.minor) * rate / 100, 0)
    assert line.gross.minor == line.net.minor + line.tax.minor


@given(st.lists(st.tuples(quantities, prices, rates), min_size=1, max_size=10))
def test_document_amounts_are_the_sum_of_the_lines(raw: list[tuple[Decimal, Decimal, Decimal]]) -> None:
    lines = [invoicing.line_amounts(q, p, r, "GBP") for q, p, r in raw]
    document = invoicing.document_amounts(lines, "GBP")
    assert document.net.minor == sum(line.net.minor for line in lines)
    assert document.tax.minor == sum(line.tax.minor for line in lines)
    assert document.gross.minor == sum(line.gross.minor for line in lines)


def test_document_amounts_of_no_lines_are_zero_and_refuse_another_currency() -> None:
    assert invoicing.document_amounts([], "EUR").gross == Money(0, "EUR")
    line = invoicing.line_amounts(Decimal(1), Decimal(1), Decimal(0), "GBP")
    with pytest.raises(MoneyError):
        invoicing.document_amounts([line], "EUR")


@given(positive_minor, rates, currencies)
def test_split_gross_adds_up_exactly(gross_minor: int, rate: Decimal, currency: str) -> None:
    gross = Money(gross_minor, currency)
    split = invoicing.split_gross(gross, rate)
    assert split.net + split.tax == gross
    assert split.net.minor >= 0 and split.tax.minor >= 0
    exact_tax = Decimal(gross_minor) * rate / (100 + rate)
    # The tax is the part rounded, once, half-up (DOMAIN.md): never more than half a minor unit off.
    assert abs(Decimal(split.tax.minor) - exact_tax) <= Decimal("0.5")
    assert split.tax.minor == int(exact_tax.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@pytest.mark.parametrize(
    ("gross", "rate", "net", "tax"),
    [
        (2500, "0", 2500, 0),
        (12000, "20", 10000, 2000),
        (100, "20", 83, 17),
        (1, "20", 1, 0),
        (2350, "17.5", 2000, 350),
        # 0.15 at 20 %: the tax is 0.025, rounded half-up to 0.03 (largest remainder gave 0.02).
        (15, "20", 12, 3),
        (3, "20", 2, 1),
    ],
)
def test_split_gross_examples(gross: int, rate: str, net: int, tax: int) -> None:
    split = invoicing.split_gross(Money(gross, "GBP"), Decimal(rate))
    assert (split.net.minor, split.tax.minor) == (net, tax)


# posting --------------------------------------------------------------------------------


def balances(legs: list[Leg]) -> bool:
    return sum(leg.debit.minor for leg in legs) == sum(leg.credit.minor for leg in legs)


def by_account(legs: list[Leg]) -> dict[str, tuple[int, int]]:
    return {leg.account: (leg.debit.minor, leg.credit.minor) for leg in legs}


amounts = positive_minor.map(lambda minor: Money(minor, "GBP"))
tax_amounts = st.integers(min_value=0, max_value=10**12).map(lambda minor: Money(minor, "GBP"))
cash_accounts = st.sampled_from([posting.CARD_GATEWAY_CLEARING, "1000-000001"])


@st.composite
def entries(draw: st.DrawFn) -> list[Leg]:
    builder = draw(st.sampled_from(["sale", "sales_credit", "receipt", "refund_owed", "refund_paid"]))
    if builder in ("sale", "sales_credit"):
        return getattr(posting, builder)(draw(amounts), draw(tax_amounts))
    if builder == "refund_owed":
        return posting.refund_owed(draw(amounts))
    return getattr(posting, builder)(draw(amounts), draw(cash_accounts))


@given(entries())
def test_every_builder_balances_in_one_currency(legs: list[Leg]) -> None:
    assert balances(legs)
    assert all(leg.debit.minor or leg.credit.minor for leg in legs)
    assert all(leg.debit.minor >= 0 and leg.credit.minor >= 0 for leg in legs)
    assert {leg.debit.currency for leg in legs} | {leg.credit.currency for leg in legs} == {"GBP"}


@given(entries())
def test_reversal_swaps_every_leg_and_still_balances(legs: list[Leg]) -> None:
    reversed_legs = posting.reversal(legs)
    assert balances(reversed_legs)
    assert by_account(reversed_legs) == {account: (cr, dr) for account, (dr, cr) in by_account(legs).items()}
    assert posting.reversal(reversed_legs) == legs


def test_sale_debits_receivable_with_the_gross() -> None:
    legs = posting.sale(Money(1000, "GBP"), Money(200, "GBP"))
    assert by_account(legs) == {
        posting.ACCOUNTS_RECEIVABLE: (1200, 0),
        posting.SALES: (0, 1000),
        posting.VAT_PAYABLE: (0, 200),
    }


def test_sales_credit_credits_receivable_with_the_gross() -> None:
    legs = posting.sales_credit(Money(2083, "GBP"), Money(417, "GBP"))
    assert by_account(legs) == {
        posting.SALES_RETURNS: (2083, 0),
        posting.VAT_PAYABLE: (417, 0),
        posting.ACCOUNTS_RECEIVABLE: (0, 2500),
    }


def test_receipt_and_refund_legs() -> None:
    five = Money(500, "GBP")
    assert by_account(posting.receipt(five, "1000-000007")) == {
        "1000-000007": (500, 0),
        posting.ACCOUNTS_RECEIVABLE: (0, 500),
    }
    assert by_account(posting.refund_owed(five)) == {
        posting.ACCOUNTS_RECEIVABLE: (500, 0),
        posting.REFUNDS_PAYABLE: (0, 500),
    }
    assert by_account(posting.refund_paid(five, posting.CARD_GATEWAY_CLEARING)) == {
        posting.REFUNDS_PAYABLE: (500, 0),
        posting.CARD_GATEWAY_CLEARING: (0, 500),
    }


def test_zero_legs_are_dropped() -> None:
    legs = posting.sale(Money(1000, "GBP"), Money(0, "GBP"))
    assert [leg.account for leg in legs] == [posting.ACCOUNTS_RECEIVABLE, posting.SALES]
    legs = posting.sales_credit(Money(0, "GBP"), Money(300, "GBP"))
    assert [leg.account for leg in legs] == [posting.VAT_PAYABLE, posting.ACCOUNTS_RECEIVABLE]


def test_an_entry_of_only_zero_legs_is_refused() -> None:
    with pytest.raises(UnbalancedEntry):
        posting.sale(Money(0, "GBP"), Money(0, "GBP"))


@given(amounts, st.integers(min_value=1, max_value=10**6))
def test_unbalanced_entries_are_refused(amount: Money, difference: int) -> None:
    short = Money(amount.minor + difference, amount.currency)
    with pytest.raises(UnbalancedEntry):
        posting.balanced(
            [Leg(posting.ACCOUNTS_RECEIVABLE, short, Money(0, "GBP")), Leg(posting.SALES, Money(0, "GBP"), amount)]
        )


@pytest.mark.parametrize(
    "legs",
    [
        [Leg("1100", Money(100, "GBP"), Money(0, "GBP")), Leg("4000", Money(0, "EUR"), Money(100, "EUR"))],
        # The debit side says GBP but the money credited is EUR: still two currencies.
        [Leg("1100", Money(100, "GBP"), Money(0, "GBP")), Leg("4000", Money(0, "GBP"), Money(100, "EUR"))],
    ],
)
def test_an_entry_in_two_currencies_is_refused(legs: list[Leg]) -> None:
    with pytest.raises(UnbalancedEntry):
        posting.balanced(legs)


def test_chart_names_every_account_the_builders_use() -> None:
    used = {
        leg.account
        for legs in (
            posting.sale(Money(1, "GBP"), Money(1, "GBP")),
            posting.sales_credit(Money(1, "GBP"), Money(1, "GBP")),
            posting.refund_owed(Money(1, "GBP")),
            posting.refund_paid(Money(1, "GBP"), posting.CARD_GATEWAY_CLEARING),
        )
        for leg in legs
    }
    assert used <= set(posting.CHART)


# --- approval thresholds -----------------------------------------------------------------------


def test_a_wildcard_threshold_is_in_each_currencys_major_units() -> None:
    thresholds = approval.parse_thresholds("*=250.00")
    assert thresholds.minor_for("GBP") == 25_000
    assert thresholds.minor_for("JPY") == 250
    assert thresholds.minor_for("BHD") == 250_000
    assert approval.needs_second_person(Money(249, "JPY"), thresholds) is False
    assert approval.needs_second_person(Money(250, "JPY"), thresholds) is True


def test_a_named_currency_overrides_the_wildcard_and_none_means_never() -> None:
    thresholds = approval.parse_thresholds("GBP=100.00, EUR=none, *=0")
    assert approval.needs_second_person(Money(9_999, "GBP"), thresholds) is False
    assert approval.needs_second_person(Money(10_000, "GBP"), thresholds) is True
    assert approval.needs_second_person(Money(10**12, "EUR"), thresholds) is False
    assert approval.needs_second_person(Money(1, "USD"), thresholds) is True
    assert approval.parse_thresholds("*=none").minor_for("GBP") is None


def test_a_fractional_wildcard_rounds_the_threshold_up_to_the_minor_unit() -> None:
    assert approval.parse_thresholds("*=0.005").minor_for("GBP") == 1
    assert approval.parse_thresholds("*=0.5").minor_for("JPY") == 1


@pytest.mark.parametrize(
    "text",
    ["GBP", "GBP=", "XXX=1.00", "GBP=1.001", "JPY=1.5", "*=abc", "*=-1", "GBP=-1.00", "*=1.0001", "=5"],
)
def test_a_malformed_threshold_is_refused_with_the_part_at_fault(text: str) -> None:
    with pytest.raises(approval.ThresholdError):
        approval.parse_thresholds(text)
