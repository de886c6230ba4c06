"""Invoice lines and their adjustments: totals, discounts, and the inputs they refuse."""

from __future__ import annotations

import pytest
from billing_examples import eur, line, usd
from hypothesis import given, settings

from platform_core.billing.model import AmountAdjustment, InvoiceLine, PercentDiscount
from platform_core.shared.errors import ValidationError
from platform_core.shared.money import Money
from platform_core.testing.billing import invoice_lines


def test_line_total_is_quantity_times_unit_amount() -> None:
    """Without adjustments a line costs quantity x unit amount."""
    assert line(quantity=3, unit_amount=usd(2_500)).total == usd(7_500)


def test_negative_amount_adjustment_is_a_discount_and_positive_a_surcharge() -> None:
    """A labelled amount lowers (negative) or raises (positive) the line total."""
    discounted = line(
        quantity=2,
        unit_amount=usd(5_000),
        adjustments=[AmountAdjustment("Loyalty", usd(-1_500)), AmountAdjustment("Rush", usd(500))],
    )
    assert discounted.gross == usd(10_000)
    assert discounted.adjustment_total == usd(-1_000)
    assert discounted.total == usd(9_000)


def test_percent_discount_rounds_half_away_from_zero() -> None:
    """12.5% of 9.99 is 1.24875, which rounds to 1.25 off."""
    discounted = line(
        quantity=3, unit_amount=usd(333), adjustments=[PercentDiscount("Promo", 1_250)]
    )
    assert discounted.total == usd(999 - 125)


def test_percent_discounts_apply_to_gross_not_to_each_other() -> None:
    """Two 10% discounts take 20% of the gross, in any order."""
    first = line(
        unit_amount=usd(1_000),
        adjustments=[PercentDiscount("A", 1_000), PercentDiscount("B", 1_000)],
    )
    mixed = line(
        unit_amount=usd(1_000),
        adjustments=[AmountAdjustment("C", usd(-100)), PercentDiscount("A", 1_000)],
    )
    reordered = line(
        unit_amount=usd(1_000),
        adjustments=[PercentDiscount("A", 1_000), AmountAdjustment("C", usd(-100))],
    )
    assert first.total == usd(800)
    assert mixed.total == reordered.total == usd(800)


def test_full_discount_gives_a_zero_line() -> None:
    """A 100% discount is allowed and leaves the line at zero."""
    assert line(adjustments=[PercentDiscount("Free sample", 10_000)]).total == usd(0)


def test_adjustments_cannot_take_a_line_below_zero() -> None:
    """A discount larger than the line is refused, naming the adjustments field."""
    with pytest.raises(ValidationError) as error:
        line(unit_amount=usd(1_000), adjustments=[AmountAdjustment("Too much", usd(-1_001))])
    assert error.value.details["field"] == "adjustments"


@pytest.mark.parametrize("quantity", [0, -1, True, 1.5])
def test_quantity_must_be_a_positive_integer(quantity: object) -> None:
    """Zero, negative, boolean and fractional quantities are refused."""
    with pytest.raises(ValidationError) as error:
        line(quantity=quantity)  # type: ignore[arg-type]
    assert error.value.details["field"] == "quantity"


def test_unit_amount_must_not_be_negative() -> None:
    """A negative unit price is refused; discounts are adjustments."""
    with pytest.raises(ValidationError) as error:
        line(unit_amount=usd(-1))
    assert error.value.details["field"] == "unit_amount"


def test_adjustment_in_another_currency_is_refused() -> None:
    """An EUR adjustment on a USD line is refused rather than converted."""
    with pytest.raises(ValidationError) as error:
        line(adjustments=[AmountAdjustment("Credit", eur(-100))])
    assert error.value.details["field"] == "adjustments"


def test_unknown_currency_is_refused() -> None:
    """Money in a currency outside ISO 4217 cannot even be built for a line."""
    with pytest.raises(ValidationError) as error:
        Money(100, "XXX")
    assert error.value.details["field"] == "currency"


@pytest.mark.parametrize("basis_points", [0, -5, 10_001, True])
def test_percent_discount_is_between_one_basis_point_and_all(basis_points: object) -> None:
    """Percent discounts outside 1..10000 basis points are refused."""
    with pytest.raises(ValidationError) as error:
        PercentDiscount("Bad", basis_points)  # type: ignore[arg-type]
    assert error.value.details["field"] == "basis_points"


@pytest.mark.parametrize("label", ["", "   "])
def test_adjustment_needs_a_label(label: str) -> None:
    """An adjustment must say what it is for."""
    with pytest.raises(ValidationError) as error:
        AmountAdjustment(label, usd(-100))
    assert error.value.details["field"] == "label"


def test_adjustments_must_be_adjustment_values() -> None:
    """Plain money is not accepted as an adjustment: it needs a label."""
    with pytest.raises(ValidationError) as error:
        line(adjustments=[usd(-100)])  # type: ignore[list-item]
    assert error.value.details["field"] == "adjustments"


def test_with_adjustment_returns_a_new_line_and_keeps_the_old() -> None:
    """Lines are immutable: adding an adjustment gives a new line."""
    original = line()
    adjusted = original.with_adjustment(PercentDiscount("Promo", 500))
    assert original.adjustments == ()
    assert adjusted.total == usd(9_500)


@settings(max_examples=50)
@given(invoice_lines())
def test_generated_lines_are_valid_and_total_gross_plus_adjustments(
    generated: InvoiceLine,
) -> None:
    """Any line the public strategy draws totals gross + adjustments and is never negative."""
    deltas = [adjustment.delta(generated.gross) for adjustment in generated.adjustments]
    assert generated.total == Money.total([generated.gross, *deltas], generated.currency)
    assert not generated.total.is_negative
