"""Payments, their allocations to invoices and refunds, alone and together with invoices."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs
import pytest
from billing_examples import START, eur, issued_invoice, payment, usd

from platform_core.billing.model import (
    BillingEvent,
    Invoice,
    InvoiceStatus,
    PaymentAllocation,
    PaymentMethod,
    PaymentRecord,
    allocatable_amount,
    allocate,
    refund,
)
from platform_core.shared.errors import (
    ConflictError,
    IllegalTransition,
    NotFoundError,
    ValidationError,
)
from platform_core.shared.money import Money


def record(**overrides: Any) -> PaymentRecord:
    arguments: dict[str, Any] = {
        "payment_id": "pay_1",
        "company_id": "co_1",
        "method": PaymentMethod.MANUAL,
        "external_reference": "BANK-2026-0042",
        "amount": usd(10_000),
        "received_at": START,
        "at": START,
    }
    arguments.update(overrides)
    recorded, _ = PaymentRecord.record(**arguments)
    return recorded


# -- recording ----------------------------------------------------------------------------


def test_recording_a_payment_announces_it() -> None:
    """payment.recorded carries the method, reference, amount and when it was received."""
    received = START - timedelta(days=2)
    recorded, events = PaymentRecord.record(
        payment_id="pay_1",
        company_id="co_1",
        method=PaymentMethod.STRIPE,
        external_reference="pi_123",
        amount=usd(10_000),
        received_at=received,
        at=START,
        stripe_payment_intent_id="pi_123",
        stripe_charge_id="ch_123",
    )
    assert recorded.available == usd(10_000)
    assert recorded.refunded == usd(0)
    assert [event.type for event in events] == [BillingEvent.PAYMENT_RECORDED]
    event = events[0]
    assert event.aggregate_type == "payment"
    assert event.occurred_at == START
    assert event.payload == {
        "payment_id": "pay_1",
        "company_id": "co_1",
        "external_reference": "pi_123",
        "method": "stripe",
        "amount": {"amount": 10_000, "currency": "USD"},
        "received_at": received.isoformat(),
        "stripe_payment_intent_id": "pi_123",
        "stripe_charge_id": "ch_123",
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": usd(0)}, "amount"),
        ({"amount": usd(-500)}, "amount"),
        ({"method": "cash"}, "method"),
        ({"external_reference": ""}, "external_reference"),
        ({"external_reference": "x" * 256}, "external_reference"),
        ({"company_id": ""}, "company_id"),
        ({"received_at": datetime(2026, 1, 1)}, "received_at"),
        ({"received_at": START + timedelta(seconds=1)}, "received_at"),
    ],
)
def test_recording_refuses_bad_input(overrides: dict[str, object], field: str) -> None:
    """Non-positive amounts, unknown methods, empty references, naive or future times."""
    with pytest.raises(ValidationError) as error:
        record(**overrides)
    assert error.value.details["field"] == field


def test_payment_with_allocations_above_what_is_left_cannot_exist() -> None:
    """The invariant allocations <= amount - refunded holds for any constructed payment."""
    too_much = PaymentAllocation(
        id="alloc_1",
        payment_id="pay_1",
        invoice_id="inv_1",
        amount=usd(10_001),
        allocated_at=START,
    )
    with pytest.raises(ValidationError) as error:
        attrs.evolve(payment(), allocations=(too_much,))
    assert error.value.details["field"] == "allocations"


def test_allocation_cannot_release_more_than_it_holds() -> None:
    """An allocation's released part stays within its amount."""
    with pytest.raises(ValidationError) as error:
        PaymentAllocation(
            id="alloc_1",
            payment_id="pay_1",
            invoice_id="inv_1",
            amount=usd(100),
            allocated_at=START,
            released=usd(101),
        )
    assert error.value.details["field"] == "released"


# -- allocating ---------------------------------------------------------------------------


def test_allocate_changes_payment_and_invoice_together() -> None:
    """An allocation shows on both sides: available drops, the balance drops."""
    paying, invoice, events = allocate(
        payment(usd(6_000)), issued_invoice(), allocation_id="alloc_1", amount=usd(6_000), at=START
    )
    assert paying.available == usd(0)
    assert paying.allocated == usd(6_000)
    assert paying.allocations[0].invoice_id == "inv_1"
    assert invoice.balance == usd(4_000)
    assert invoice.status is InvoiceStatus.PARTIALLY_PAID
    assert [event.type for event in events] == [BillingEvent.INVOICE_PAYMENT_ALLOCATED]
    assert events[0].payload["payment_id"] == "pay_1"
    assert events[0].payload["allocation_id"] == "alloc_1"


def test_one_payment_can_pay_several_invoices() -> None:
    """A payment is split over invoices until it has nothing left."""
    paying = payment(usd(15_000))
    paying, first, _ = allocate(
        paying, issued_invoice(invoice_id="inv_1"), allocation_id="a1", amount=usd(10_000), at=START
    )
    paying, second, _ = allocate(
        paying, issued_invoice(invoice_id="inv_2"), allocation_id="a2", amount=usd(5_000), at=START
    )
    assert first.status is InvoiceStatus.PAID
    assert second.status is InvoiceStatus.PARTIALLY_PAID
    assert paying.available == usd(0)
    with pytest.raises(ValidationError) as error:
        allocate(paying, second, allocation_id="a3", amount=usd(1), at=START)
    assert error.value.details["field"] == "amount"


def test_allocation_across_companies_is_refused() -> None:
    """A company's payment never pays another company's invoice."""
    paying, invoice = payment(company_id="co_2"), issued_invoice()
    with pytest.raises(ValidationError) as error:
        allocate(paying, invoice, allocation_id="a", amount=usd(100), at=START)
    assert error.value.details["field"] == "invoice_id"
    assert paying.allocations == ()
    assert invoice.allocated == usd(0)


def test_allocation_across_currencies_is_refused() -> None:
    """An EUR payment never pays a USD invoice, and neither side changes."""
    paying, invoice = payment(eur(10_000)), issued_invoice()
    with pytest.raises(ValidationError) as error:
        allocate(paying, invoice, allocation_id="a", amount=eur(100), at=START)
    assert error.value.details["field"] == "currency"
    with pytest.raises(ValidationError):
        allocatable_amount(paying, invoice)


def test_allocation_to_a_closed_invoice_is_illegal() -> None:
    """A paid invoice takes no more money; the payment keeps its available amount."""
    paying, invoice, _ = allocate(
        payment(usd(20_000)), issued_invoice(), allocation_id="a1", amount=usd(10_000), at=START
    )
    with pytest.raises(IllegalTransition):
        allocate(paying, invoice, allocation_id="a2", amount=usd(1), at=START)
    assert paying.available == usd(10_000)


def test_payment_allocation_ids_are_unique() -> None:
    """Reusing an allocation id is refused."""
    paying, _ = payment().allocate(allocation_id="a1", invoice_id="inv_1", amount=usd(1), at=START)
    with pytest.raises(ValidationError):
        paying.allocate(allocation_id="a1", invoice_id="inv_2", amount=usd(1), at=START)


def test_allocatable_amount_is_the_smaller_of_available_and_balance() -> None:
    """Over- and under-payments are both capped by the other side."""
    assert allocatable_amount(payment(usd(15_000)), issued_invoice()) == usd(10_000)
    assert allocatable_amount(payment(usd(3_000)), issued_invoice()) == usd(3_000)


# -- refunding ----------------------------------------------------------------------------


def paid_pair(total: int = 10_000, paid: int = 10_000) -> tuple[PaymentRecord, dict[str, Invoice]]:
    paying, invoice, _ = allocate(
        payment(usd(paid)),
        issued_invoice(usd(total)),
        allocation_id="a1",
        amount=usd(min(total, paid)),
        at=START,
    )
    return paying, {invoice.id: invoice}


def test_partial_refund_reopens_part_of_the_invoice() -> None:
    """Refunding 30.00 of a fully used payment re-opens 30.00 of its invoice."""
    paying, invoices = paid_pair()
    refunded, changed, events = refund(
        paying,
        invoices,
        amount=usd(3_000),
        at=START,
        reference="re_1",
    )
    assert refunded.refunded == usd(3_000)
    assert refunded.allocated == usd(7_000)
    assert refunded.allocations[0].released == usd(3_000)
    assert [invoice.status for invoice in changed] == [InvoiceStatus.PARTIALLY_PAID]
    assert changed[0].balance == usd(3_000)
    assert [event.type for event in events] == [
        BillingEvent.PAYMENT_REFUNDED,
        BillingEvent.INVOICE_REFUNDED,
    ]
    assert events[0].payload["releases"] == [
        {
            "allocation_id": "a1",
            "invoice_id": "inv_1",
            "amount": {"amount": 3_000, "currency": "USD"},
        }
    ]


def test_full_refund_makes_the_invoice_issued_again() -> None:
    """Refunding the whole payment re-opens the whole balance."""
    paying, invoices = paid_pair()
    refunded, changed, _ = refund(
        paying,
        invoices,
        amount=usd(10_000),
        at=START,
        reference="re_1",
    )
    assert refunded.refundable == usd(0)
    assert changed[0].status is InvoiceStatus.ISSUED
    assert changed[0].balance == usd(10_000)


def test_refund_takes_unallocated_money_first() -> None:
    """An overpayment is refunded before any invoice is re-opened."""
    paying, invoices = paid_pair(total=10_000, paid=12_000)
    refunded, changed, events = refund(
        paying,
        invoices,
        amount=usd(2_000),
        at=START,
        reference="re_1",
    )
    assert changed == []
    assert refunded.available == usd(0)
    assert refunded.allocated == usd(10_000)
    assert events[0].payload["releases"] == []


def test_refund_releases_the_latest_allocation_first() -> None:
    """With two invoices paid by one payment, the later one re-opens first."""
    paying = payment(usd(15_000))
    paying, first, _ = allocate(
        paying, issued_invoice(invoice_id="inv_1"), allocation_id="a1", amount=usd(10_000), at=START
    )
    paying, second, _ = allocate(
        paying,
        issued_invoice(usd(5_000), invoice_id="inv_2", number=2),
        allocation_id="a2",
        amount=usd(5_000),
        at=START + timedelta(minutes=1),
    )
    refunded, changed, _ = refund(
        paying, {"inv_1": first, "inv_2": second}, amount=usd(7_000), at=START, reference="re_1"
    )
    by_id = {invoice.id: invoice for invoice in changed}
    assert by_id["inv_2"].status is InvoiceStatus.ISSUED
    assert by_id["inv_1"].status is InvoiceStatus.PARTIALLY_PAID
    assert by_id["inv_1"].balance == usd(2_000)
    assert [release.allocation_id for release in refunded.refunds[0].releases] == ["a2", "a1"]
    assert refunded.invoice_ids_with_outstanding_allocations() == ["inv_1"]


def test_refund_above_what_is_left_is_refused() -> None:
    """A payment never refunds more than it received, counting earlier refunds."""
    paying, invoices = paid_pair()
    paying, _, _ = refund(paying, invoices, amount=usd(6_000), at=START, reference="re_1")
    with pytest.raises(ValidationError) as error:
        paying.refund(amount=usd(4_001), at=START, reference="re_2")
    assert error.value.details["field"] == "amount"
    assert paying.refunded == usd(6_000)


@pytest.mark.parametrize("amount", [usd(0), usd(-1), eur(100)])
def test_refund_amount_must_be_positive_and_in_the_payment_currency(amount: Money) -> None:
    """Zero, negative and foreign-currency refunds are refused."""
    with pytest.raises(ValidationError):
        payment().refund(amount=amount, at=START, reference="re_1")


def test_same_refund_reference_twice_is_one_refund() -> None:
    """Replaying a refund with its reference and amount changes nothing."""
    paying, invoices = paid_pair()
    once, _, _ = refund(paying, invoices, amount=usd(1_000), at=START, reference="re_1")
    twice, changed, events = refund(once, {}, amount=usd(1_000), at=START, reference="re_1")
    assert twice is once
    assert changed == []
    assert events == []


def test_same_refund_reference_with_another_amount_is_a_conflict() -> None:
    """A reference names one refund; a different amount under it is refused."""
    once, _ = payment().refund(amount=usd(1_000), at=START, reference="re_1")
    with pytest.raises(ConflictError):
        once.refund(amount=usd(2_000), at=START, reference="re_1")


def test_refund_needs_every_invoice_it_reopens() -> None:
    """Leaving out an invoice the refund must re-open is an error, not a silent skip."""
    paying, _ = paid_pair()
    with pytest.raises(NotFoundError):
        refund(paying, {}, amount=usd(1_000), at=START, reference="re_1")
