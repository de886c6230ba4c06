"""refund_order: refunds of a paid order through the provider, recorded on its payment and
invoice and reflected on the order, on every store."""

from __future__ import annotations

import pytest

from entrypoints.demo import Demo
from platform_core.billing.model import InvoiceStatus
from platform_core.lifecycle.service import (
    RefundOrder,
    record_provider_refund,
    refund_order,
    refund_reference,
)
from platform_core.orders.model import Order, OrderStatus
from platform_core.orders.ports import PaymentNotification, PaymentOutcome
from platform_core.orders.service import get_order
from platform_core.shared.errors import ConflictError, ValidationError
from platform_core.shared.money import Money


async def _paid(demo: Demo) -> Order:
    order = await demo.draft([("GW-100", 1), ("MNT-KIT", 2)])
    await demo.pay(order)
    return order


async def test_partial_then_full_refund_reopens_the_invoice(demo: Demo) -> None:
    """A partial refund leaves the invoice partially paid, the rest re-opens it in full; the
    payment holds both refunds under the running-total references."""
    order = await _paid(demo)
    part = Money(1500, order.currency)
    refunded = await refund_order(demo.deps, RefundOrder(order.id, part, "damaged"))
    assert (refunded.status, refunded.refunded) == (OrderStatus.PAID, part)
    async with demo.deps.uow() as uow:
        invoice = await uow.invoices.for_order(order.id)
        assert invoice is not None
        assert (invoice.status, invoice.balance) == (InvoiceStatus.PARTIALLY_PAID, part)
    everything = await refund_order(demo.deps, RefundOrder(order.id, None, "returned"))
    assert everything.refunded == order.total
    async with demo.deps.uow() as uow:
        invoice = await uow.invoices.for_order(order.id)
        assert invoice is not None
        (payment,) = await uow.payments.allocated_to_invoice(invoice.id)
    assert invoice.balance == order.total
    assert len(demo.deps.mock_payments.refunds) == 2
    intent = payment.stripe_payment_intent_id
    assert intent is not None
    assert [r.reference for r in payment.refunds] == [
        refund_reference(intent, part),
        refund_reference(intent, order.total),
    ]


async def test_a_retry_after_the_provider_refunded_refunds_once(demo: Demo) -> None:
    """If the provider refunded but nothing was recorded (a crash in between), calling again
    sends the same idempotency key and gets the provider's first refund back."""
    order = await get_order(demo.deps, (await _paid(demo)).id)
    assert order.payment is not None
    assert order.payment.payment_intent_id is not None
    amount = Money(900, order.currency)
    key = f"refund:{order.id}:{amount.amount}{amount.currency}:1"
    first = await demo.deps.payments.refund(order.payment.payment_intent_id, amount, key)
    refunded = await refund_order(demo.deps, RefundOrder(order.id, amount, "retry"))
    assert refunded.refunded == amount
    assert list(demo.deps.mock_payments.refunds.values()) == [first]


async def test_unpaid_orders_and_over_refunds_are_refused(demo: Demo) -> None:
    """A draft has nothing to refund (conflict); more than is left is a validation error,
    and neither reaches the provider."""
    draft = await demo.draft([("GW-100", 1)])
    with pytest.raises(ConflictError):
        await refund_order(demo.deps, RefundOrder(draft.id, None, "nothing paid"))
    order = await _paid(demo)
    with pytest.raises(ValidationError):
        await refund_order(
            demo.deps, RefundOrder(order.id, order.total + Money(1, order.currency), "x")
        )
    with pytest.raises(ValidationError):
        await refund_order(demo.deps, RefundOrder(order.id, None, "  "))
    assert demo.deps.mock_payments.refunds == {}


def _charge_refunded(
    demo: Demo, order: Order, refunded: int, event_id: str, event_type: str = "charge.refunded"
) -> PaymentNotification:
    """What Stripe's charge.refunded says once normalised: the charge's running refunded
    total, the payment intent, and no order id (a charge does not carry the intent's
    metadata)."""
    assert order.payment is not None
    return PaymentNotification(
        event_id, event_type, PaymentOutcome.REFUNDED, demo.clock.now(),
        payment_intent_id=order.payment.payment_intent_id, charge_id="ch_test_1",
        amount=Money(refunded, order.currency),
    )  # fmt: skip


async def _recorded_refunds(demo: Demo, order: Order) -> list[int]:
    async with demo.deps.uow() as uow:
        invoice = await uow.invoices.for_order(order.id)
        assert invoice is not None
        payments = await uow.payments.allocated_to_invoice(invoice.id)
    return [refund.amount.amount for payment in payments for refund in payment.refunds]


async def test_a_dashboard_refund_is_recorded_from_its_running_total(demo: Demo) -> None:
    """charge.refunded for a refund made outside the platform records the difference to what
    is recorded; a repeat or an older total arriving late records nothing more."""
    order = await get_order(demo.deps, (await _paid(demo)).id)
    first = await record_provider_refund(demo.deps, _charge_refunded(demo, order, 1000, "evt_1"))
    assert first is not None
    assert first.refunded == Money(1000, order.currency)
    await record_provider_refund(demo.deps, _charge_refunded(demo, order, 1000, "evt_1"))
    later = await record_provider_refund(demo.deps, _charge_refunded(demo, order, 3000, "evt_2"))
    late = await record_provider_refund(demo.deps, _charge_refunded(demo, order, 1000, "evt_0"))
    assert later is not None
    assert late is not None
    assert later.refunded == late.refunded == Money(3000, order.currency)
    assert await _recorded_refunds(demo, order) == [1000, 2000]
    async with demo.deps.uow() as uow:
        invoice = await uow.invoices.for_order(order.id)
    assert invoice is not None
    assert invoice.balance == Money(3000, order.currency)


async def test_the_notice_of_a_refund_made_here_records_nothing_more(demo: Demo) -> None:
    """Stripe's charge.refunded after refund_order: the refund is already recorded under its
    refund id, so nothing is added. A per-refund event is acknowledged without effect."""
    order = await get_order(demo.deps, (await _paid(demo)).id)
    await refund_order(demo.deps, RefundOrder(order.id, Money(800, order.currency), "damaged"))
    notice = _charge_refunded(demo, order, 800, "evt_refunded")
    after = await record_provider_refund(demo.deps, notice)
    assert after is not None
    assert after.refunded == Money(800, order.currency)
    per_refund = _charge_refunded(demo, order, 800, "evt_re", "refund.created")
    assert await record_provider_refund(demo.deps, per_refund) is None
    assert await _recorded_refunds(demo, order) == [800]


async def test_a_refund_notice_that_arrives_first_does_not_fail_the_refund(demo: Demo) -> None:
    """If charge.refunded is recorded between the provider call and refund_order's own
    recording, the refund still succeeds and is recorded once."""
    order = await get_order(demo.deps, (await _paid(demo)).id)
    gateway = demo.deps.mock_payments
    real_refund = gateway.refund

    async def refund_then_notify(intent: str, amount: Money, key: str) -> object:
        result = await real_refund(intent, amount, key)
        notice = _charge_refunded(demo, order, amount.amount, "evt_early")
        await record_provider_refund(demo.deps, notice)
        return result

    gateway.refund = refund_then_notify  # type: ignore[method-assign]
    refunded = await refund_order(demo.deps, RefundOrder(order.id, Money(600, order.currency), "x"))
    assert refunded.refunded == Money(600, order.currency)
    assert await _recorded_refunds(demo, order) == [600]
