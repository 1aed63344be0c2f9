"""Money: exact minor units, one currency at a time, parsing that refuses floats and excess decimals."""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from receivables.money import CURRENCY_EXPONENTS, Money, MoneyError, allocate, exponent, sum_money

currencies = st.sampled_from(sorted(CURRENCY_EXPONENTS))
# Parsing reads at most 15 integer digits, and documents stay below 10**15 minor units.
minor_units = st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1)
weights = st.lists(
    st.one_of(
        st.integers(min_value=0, max_value=10**6),
        st.decimals(min_value=0, max_value=10**6, places=4, allow_nan=False, allow_infinity=False),
    ),
    min_size=1,
    max_size=12,
).filter(lambda ws: sum(Decimal(w) for w in ws) > 0)


@st.composite
def money(draw: st.DrawFn, currency: str | None = None) -> Money:
    return Money(draw(minor_units), currency or draw(currencies))


# allocate() ----------------------------------------------------------------------------


@given(currencies.flatmap(lambda c: st.tuples(money(c), weights)))
def test_allocate_parts_add_up_to_the_whole(case: tuple[Money, list]) -> None:
    total, ws = case
    parts = allocate(total, ws)
    assert len(parts) == len(ws)
    assert sum(part.minor for part in parts) == total.minor
    assert {part.currency for part in parts} == {total.currency}


@given(currencies.flatmap(lambda c: st.tuples(money(c), weights)))
def test_allocate_each_part_is_within_one_minor_unit_of_its_exact_share(case: tuple[Money, list]) -> None:
    total, ws = case
    weight_sum = sum(Fraction(Decimal(w)) for w in ws)
    for part, weight in zip(allocate(total, ws), ws, strict=True):
        exact = Fraction(total.minor) * Fraction(Decimal(weight)) / weight_sum
        assert abs(Fraction(part.minor) - exact) < 1


def test_allocate_examples() -> None:
    assert [p.minor for p in allocate(Money(100, "GBP"), [1, 1, 1])] == [34, 33, 33]
    assert [p.minor for p in allocate(Money(-100, "GBP"), [1, 1, 1])] == [-34, -33, -33]
    assert [p.minor for p in allocate(Money(5, "JPY"), [0, 1])] == [0, 5]
    assert [p.minor for p in allocate(Money(10, "GBP"), [Decimal("0.3333"), Decimal("0.6667")])] == [3, 7]


@pytest.mark.parametrize("bad_weights", [[], [0, 0], [1, -1]])
def test_allocate_refuses_weights_that_cannot_split(bad_weights: list) -> None:
    with pytest.raises(ValueError):
        allocate(Money(100, "GBP"), bad_weights)


# currencies never mix -------------------------------------------------------------------


@given(money(), money(), st.sampled_from(["add", "sub", "lt", "le", "gt", "ge"]))
def test_money_never_mixes_currencies(left: Money, right: Money, operation: str) -> None:
    combine = {
        "add": lambda a, b: a + b,
        "sub": lambda a, b: a - b,
        "lt": lambda a, b: a < b,
        "le": lambda a, b: a <= b,
        "gt": lambda a, b: a > b,
        "ge": lambda a, b: a >= b,
    }[operation]
    if left.currency == right.currency:
        combine(left, right)
        return
    with pytest.raises(MoneyError) as refused:
        combine(left, right)
    assert refused.value.code == "currency_mismatch"


@given(money(), money())
def test_addition_is_exact_in_one_currency(left: Money, right: Money) -> None:
    right = Money(right.minor, left.currency)
    assert (left + right).minor == left.minor + right.minor
    assert (left - right).minor == left.minor - right.minor
    assert sum_money([left, right], left.currency) == left + right


def test_sum_money_refuses_another_currency() -> None:
    with pytest.raises(MoneyError):
        sum_money([Money(1, "GBP"), Money(1, "EUR")], "GBP")


def test_money_does_not_combine_with_plain_numbers() -> None:
    with pytest.raises(TypeError):
        Money(100, "GBP") + 1  # type: ignore[operator]


# no floats ------------------------------------------------------------------------------


@given(money(), st.floats(allow_nan=False, allow_infinity=False))
def test_multiplying_by_a_float_raises(amount: Money, factor: float) -> None:
    with pytest.raises(TypeError):
        amount * factor  # type: ignore[operator]
    with pytest.raises(TypeError):
        factor * amount  # type: ignore[operator]


def test_multiplying_by_int_or_decimal_rounds_half_up_once() -> None:
    assert Money(1000, "GBP") * 3 == Money(3000, "GBP")
    assert Money(1, "GBP") * Decimal("0.5") == Money(1, "GBP")  # 0.005 -> 0.01
    assert Money(-1, "GBP") * Decimal("0.5") == Money(-1, "GBP")
    with pytest.raises(TypeError):
        Money(1, "GBP") * True  # type: ignore[operator]


@pytest.mark.parametrize("minor", [1.0, Decimal(1), "1", True, None])
def test_minor_units_must_be_an_int(minor: object) -> None:
    with pytest.raises(MoneyError):
        Money(minor, "GBP")  # type: ignore[arg-type]


@given(st.floats(allow_nan=True, allow_infinity=True), currencies)
def test_parse_rejects_python_floats(value: float, currency: str) -> None:
    with pytest.raises(MoneyError) as refused:
        Money.parse(value, currency)
    assert refused.value.code == "amount_not_string"


@pytest.mark.parametrize("document", ['{"amount": 25.0}', '{"amount": 25}', '{"amount": 1e2}', '{"amount": true}'])
def test_parse_rejects_json_numbers(document: str) -> None:
    with pytest.raises(MoneyError) as refused:
        Money.parse(json.loads(document)["amount"], "GBP")
    assert refused.value.code == "amount_not_string"


# parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "currency"),
    [("1.001", "GBP"), ("0.005", "GBP"), ("1.5", "JPY"), ("100.0", "JPY"), ("1.0001", "BHD")],
)
def test_parse_rejects_more_decimals_than_the_currency_has(text: str, currency: str) -> None:
    with pytest.raises(MoneyError) as refused:
        Money.parse(text, currency)
    assert refused.value.code == "too_many_decimals"


@pytest.mark.parametrize(
    "text",
    ["", " ", "abc", "1,000.00", "1.", ".5", "+1", "1e3", "NaN", "Infinity", "--1", "1.2.3", "£5", "0x10", "1 000"],
)
def test_parse_rejects_text_that_is_not_a_decimal(text: str) -> None:
    with pytest.raises(MoneyError) as refused:
        Money.parse(text, "GBP")
    assert refused.value.code == "invalid_amount"


@given(st.text(max_size=20))
def test_parse_accepts_only_plain_ascii_decimals(text: str) -> None:
    try:
        parsed = Money.parse(text, "GBP")
    except MoneyError:
        return
    assert set(text.strip()) <= set("-0123456789.")
    assert parsed.to_decimal_string() == f"{Decimal(text.strip()):.2f}"


@pytest.mark.parametrize("text", ["١٢.٥٠", "１２", "12.٥"])
def test_parse_rejects_non_ascii_digits(text: str) -> None:
    with pytest.raises(MoneyError):
        Money.parse(text, "GBP")


def test_parse_rejects_an_unknown_currency() -> None:
    with pytest.raises(MoneyError) as refused:
        Money.parse("1.00", "XYZ")
    assert refused.value.code == "unknown_currency"
    with pytest.raises(MoneyError):
        Money(1, "gbp")


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("25.00", "GBP", 2500),
        ("25", "GBP", 2500),
        ("25.5", "GBP", 2550),
        ("-0.01", "GBP", -1),
        (" 7.10 ", "EUR", 710),
        ("1000", "JPY", 1000),
        ("1.234", "BHD", 1234),
        ("0", "JPY", 0),
    ],
)
def test_parse_examples(text: str, currency: str, minor: int) -> None:
    assert Money.parse(text, currency) == Money(minor, currency)


# rounding -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "currency", "minor"),
    [
        ("0.005", "GBP", 1),
        ("-0.005", "GBP", -1),
        ("0.0049", "GBP", 0),
        ("-0.0049", "GBP", 0),
        ("2.675", "GBP", 268),
        ("0.5", "JPY", 1),
        ("-0.5", "JPY", -1),
        ("1.4999", "JPY", 1),
        ("0.0005", "BHD", 1),
    ],
)
def test_from_decimal_rounds_half_up_away_from_zero(value: str, currency: str, minor: int) -> None:
    assert Money.from_decimal(Decimal(value), currency).minor == minor


def test_from_decimal_refuses_floats() -> None:
    with pytest.raises(MoneyError):
        Money.from_decimal(0.1, "GBP")  # type: ignore[arg-type]


# zero-decimal currencies and round trips ------------------------------------------------


def test_jpy_has_no_decimals() -> None:
    assert exponent("JPY") == 0
    amount = Money.parse("1500", "JPY")
    assert amount.minor == 1500
    assert amount.to_decimal_string() == "1500"
    assert str(amount) == "1500 JPY"
    assert Money(2500, "GBP").to_decimal_string() == "25.00"
    assert Money(-5, "GBP").to_decimal_string() == "-0.05"


@given(money())
def test_to_decimal_string_round_trips_through_parse(amount: Money) -> None:
    text = amount.to_decimal_string()
    assert Money.parse(text, amount.currency) == amount
    places = exponent(amount.currency)
    assert len(text.partition(".")[2]) == places
    assert Money.parse(Decimal(text), amount.currency) == amount
    assert amount.amount == Decimal(text)


@given(money())
def test_money_is_hashable_and_frozen(amount: Money) -> None:
    assert hash(amount) == hash(Money(amount.minor, amount.currency))
    with pytest.raises(AttributeError):
        amount.minor = 0  # type: ignore[misc]
