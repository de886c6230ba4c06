"""Money: integer minor units, known currencies, no mixing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from platform_core.shared.errors import ValidationError
from platform_core.shared.money import Money
from platform_core.testing.shared import money


def test_arithmetic_in_one_currency() -> None:
    """Addition, subtraction, integer multiplication and negation stay in the currency."""
    a, b = Money(1250, "CAD"), Money(250, "CAD")
    assert a + b == Money(1500, "CAD")
    assert a - b == Money(1000, "CAD")
    assert b * 3 == 3 * b == Money(750, "CAD")
    assert -b == Money(-250, "CAD")
    assert b < a
    assert a >= b


@pytest.mark.parametrize(
    "operation",
    [lambda a, b: a + b, lambda a, b: a - b, lambda a, b: a < b, lambda a, b: a >= b],
)
def test_mixed_currencies_are_refused(operation: object) -> None:
    """Combining two currencies raises a validation error naming both."""
    with pytest.raises(ValidationError) as raised:
        operation(Money(1, "CAD"), Money(1, "USD"))  # type: ignore[operator]
    assert raised.value.details["currencies"] == ["CAD", "USD"]


@pytest.mark.parametrize("amount", [1.5, "10", True, None])
def test_amounts_must_be_integers(amount: object) -> None:
    """Floats, strings, booleans and None are not amounts of money."""
    with pytest.raises(ValidationError):
        Money(amount, "CAD")  # type: ignore[arg-type]


@pytest.mark.parametrize("currency", ["XXX", "cad", "", 124])
def test_unknown_currencies_are_refused(currency: object) -> None:
    """Only known upper-case ISO 4217 codes are currencies."""
    with pytest.raises(ValidationError):
        Money(1, currency)  # type: ignore[arg-type]


def test_cannot_multiply_by_float_or_add_numbers() -> None:
    """Money never meets floats or bare numbers."""
    with pytest.raises(TypeError):
        Money(1, "CAD") * 1.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        Money(1, "CAD") + 1  # type: ignore[operator]


def test_display_uses_the_currency_exponent() -> None:
    """Two decimals for CAD, none for JPY, three for KWD, sign kept."""
    assert str(Money(-1205, "CAD")) == "-12.05 CAD"
    assert str(Money(500, "JPY")) == "500 JPY"
    assert str(Money(1234, "KWD")) == "1.234 KWD"


def test_percent_rounds_half_away_from_zero() -> None:
    """Basis-point shares round to the nearest minor unit, halves away from zero."""
    assert Money(1005, "CAD").percent(1000) == Money(101, "CAD")
    assert Money(-1005, "CAD").percent(1000) == Money(-101, "CAD")
    assert Money(1004, "CAD").percent(1000) == Money(100, "CAD")


def test_payload_round_trip_and_bad_payloads() -> None:
    """to_payload/from_payload round-trip; malformed payloads are validation errors."""
    assert Money.from_payload(Money(42, "EUR").to_payload()) == Money(42, "EUR")
    with pytest.raises(ValidationError):
        Money.from_payload({"amount": 1})
    with pytest.raises(ValidationError):
        Money.from_payload([1, "EUR"])


@given(st.lists(money("USD", -10_000, 10_000), max_size=20))
def test_total_is_the_sum_of_amounts(amounts: list[Money]) -> None:
    """Money.total equals the integer sum of the amounts, in the currency."""
    assert Money.total(amounts, "USD") == Money(sum(m.amount for m in amounts), "USD")


@given(money("EUR", -(10**9), 10**9), money("EUR", -(10**9), 10**9))
def test_addition_is_exact_and_commutative(a: Money, b: Money) -> None:
    """Integer minor units never lose a cent."""
    assert a + b == b + a
    assert (a + b) - b == a
