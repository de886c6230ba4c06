"""Hypothesis strategies for billing: adjustments, invoice lines, invoices and payments.

Every value drawn is valid (lines never total below zero, issued invoices have lines and a
number), so a test can go straight to the behaviour it checks.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import strategies as st

from platform_core.billing.model import (
    MAX_BASIS_POINTS,
    Adjustment,
    AmountAdjustment,
    Invoice,
    InvoiceLine,
    PaymentMethod,
    PaymentRecord,
    PercentDiscount,
)
from platform_core.shared.money import Money
from platform_core.testing.shared import currencies, ids, instants, money

MAX_UNIT_AMOUNT = 1_000_000
MAX_QUANTITY = 1_000

_LABELS = ("Volume discount", "Partner discount", "Setup fee", "Rush handling", "Credit")


def adjustment_labels() -> st.SearchStrategy[str]:
    """Short human labels for adjustments."""
    return st.sampled_from(_LABELS)


def percent_discounts(max_basis_points: int = MAX_BASIS_POINTS) -> st.SearchStrategy[Adjustment]:
    """Percent discounts of 1 to `max_basis_points` basis points."""
    return st.builds(PercentDiscount, adjustment_labels(), st.integers(1, max_basis_points))


def amount_adjustments(
    currency: str, min_amount: int = -100_000, max_amount: int = 100_000
) -> st.SearchStrategy[Adjustment]:
    """Fixed adjustments in `currency`: negative amounts are discounts, positive surcharges."""
    return st.builds(AmountAdjustment, adjustment_labels(), money(currency, min_amount, max_amount))


def invoice_numbers() -> st.SearchStrategy[int]:
    """Sequence numbers an invoice can be issued with (formatted as INV-000123)."""
    return st.integers(1, 10_000_000)


def payment_methods() -> st.SearchStrategy[PaymentMethod]:
    return st.sampled_from(PaymentMethod)


# Built once: making strategies inside every draw costs more than drawing from them.
_QUANTITIES = st.integers(1, MAX_QUANTITY)
_UNIT_AMOUNTS = st.integers(0, MAX_UNIT_AMOUNT)
_SURCHARGES = st.integers(1, 50_000)
_FRACTIONS = st.floats(0, 1, allow_nan=False)
_ADJUSTMENT_KINDS = st.sampled_from(("surcharge", "amount_discount", "percent_discount"))
_LINE_IDS = ids("invl")
_PRODUCT_IDS = st.none() | ids("prod")
_ORDER_ITEM_IDS = st.none() | ids("item")
_DESCRIPTIONS = st.sampled_from(("Sensor kit", "Gateway", "Mounting bracket"))
_LABEL_CHOICES = adjustment_labels()


def _adjustment_within(draw: st.DrawFn, remaining: Money, gross: Money) -> Adjustment:
    """One adjustment that keeps a line whose running total is `remaining` at zero or more."""
    label = draw(_LABEL_CHOICES)
    kind = draw(_ADJUSTMENT_KINDS)
    # A percentage of the gross may take at most `remaining`: bp <= remaining * 10000 / gross.
    max_bp = MAX_BASIS_POINTS if gross.is_zero else remaining.amount * 10_000 // gross.amount
    max_bp = min(max_bp, MAX_BASIS_POINTS)
    if kind == "percent_discount" and max_bp >= 1:
        return PercentDiscount(label, 1 + round(draw(_FRACTIONS) * (max_bp - 1)))
    if kind == "amount_discount" and remaining.amount > 0:
        taken = 1 + round(draw(_FRACTIONS) * (remaining.amount - 1))
        return AmountAdjustment(label, Money(-taken, remaining.currency))
    return AmountAdjustment(label, Money(draw(_SURCHARGES), remaining.currency))


@st.composite
def invoice_lines(
    draw: st.DrawFn, currency: str | None = None, max_adjustments: int = 3
) -> InvoiceLine:
    """A line with up to `max_adjustments` adjustments; its total is never below zero."""
    code = currency or draw(currencies())
    quantity = draw(_QUANTITIES)
    unit_amount = Money(draw(_UNIT_AMOUNTS), code)
    gross = unit_amount * quantity
    adjustments: list[Adjustment] = []
    running = gross
    for _ in range(draw(st.integers(0, max_adjustments))):
        adjustment = _adjustment_within(draw, running, gross)
        adjustments.append(adjustment)
        running = running + adjustment.delta(gross)
    return InvoiceLine(
        id=draw(_LINE_IDS),
        description=draw(_DESCRIPTIONS),
        quantity=quantity,
        unit_amount=unit_amount,
        adjustments=tuple(adjustments),
        product_id=draw(_PRODUCT_IDS),
        order_item_id=draw(_ORDER_ITEM_IDS),
    )


@st.composite
def draft_invoices(
    draw: st.DrawFn, currency: str | None = None, min_lines: int = 0, max_lines: int = 4
) -> Invoice:
    """Draft invoices of any company, with `min_lines` to `max_lines` lines in one currency."""
    code = currency or draw(currencies())
    lines = draw(
        st.lists(
            invoice_lines(code),
            min_size=min_lines,
            max_size=max_lines,
            unique_by=lambda line: line.id,
        )
    )
    invoice, _ = Invoice.draft(
        invoice_id=draw(ids("inv")),
        company_id=draw(ids("co")),
        currency=code,
        at=draw(instants()),
        lines=lines,
        order_id=draw(st.none() | ids("ord")),
        billing_contact_id=draw(st.none() | ids("ct")),
        billing_address_id=draw(st.none() | ids("addr")),
    )
    return invoice


@st.composite
def issued_invoices(draw: st.DrawFn, currency: str | None = None) -> Invoice:
    """Invoices just issued (nothing paid yet), with a number and a due date."""
    draft = draw(draft_invoices(currency, min_lines=1))
    issued_at = draft.created_at + timedelta(seconds=draw(st.integers(0, 30 * 86_400)))
    invoice, _ = draft.issue(
        number=draw(invoice_numbers()),
        at=issued_at,
        payment_terms_days=draw(st.sampled_from((0, 15, 30, 45, 60))),
    )
    return invoice


@st.composite
def payment_records(
    draw: st.DrawFn,
    currency: str | None = None,
    company_id: str | None = None,
    max_amount: int = 10_000_000,
) -> PaymentRecord:
    """Payments just recorded (nothing allocated or refunded yet)."""
    code = currency or draw(currencies())
    method = draw(payment_methods())
    reference = draw(ids("pi" if method is PaymentMethod.STRIPE else "manual"))
    received_at = draw(instants())
    payment, _ = PaymentRecord.record(
        payment_id=draw(ids("pay")),
        company_id=company_id or draw(ids("co")),
        method=method,
        external_reference=reference,
        amount=draw(money(code, 1, max_amount)),
        received_at=received_at,
        at=received_at,
        stripe_payment_intent_id=reference if method is PaymentMethod.STRIPE else None,
    )
    return payment
