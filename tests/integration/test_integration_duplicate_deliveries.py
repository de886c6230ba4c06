"""At-least-once delivery racing itself on PostgreSQL: the same provider webhook or the same
order.paid event handled by several processes at once still has its effect exactly once."""

from __future__ import annotations

import asyncio

import pytest
from integration_support import Admin, Platforms

from entrypoints.bootstrap import Platform
from entrypoints.demo import Demo
from platform_core.lifecycle.reactions import (
    when_order_paid_create_fulfillment,
    when_order_paid_issue_invoice,
)
from platform_core.orders.model import Order
from platform_core.orders.ports import PaymentNotification
from platform_core.orders.service import PaymentNotificationResult, handle_payment_notification
from platform_core.shared.events import StoredEvent

pytestmark = pytest.mark.integration

PROCESSES = 4


async def paid_webhook(demo: Demo, order: Order) -> PaymentNotification:
    """The verified `checkout.session.completed` notification of the order's checkout."""
    session = await demo.checkout(order)
    return demo.deps.payments.parse_webhook(*demo.deps.payments.complete(session))


async def order_paid_event(demo: Demo, order: Order) -> StoredEvent:
    """Pay the order without dispatching, and return its stored order.paid event."""
    await handle_payment_notification(demo.deps, await paid_webhook(demo, order))
    async with demo.deps.uow() as uow:
        stored = await uow.events.for_aggregate("order", order.id)
    (paid,) = [s for s in stored if s.event.type == "order.paid"]
    return paid


async def test_one_order_paid_event_handled_by_several_processes_at_once_acts_once(
    demo: Demo, platforms: Platforms
) -> None:
    """order.paid delivered to both its reactions by four processes at once (a redelivery
    after a lease ran out, times four): every delivery succeeds, and the order has one
    fulfillment order, one invoice numbered INV-000001 and one payment."""
    order = await demo.draft([("GW-100", 1), ("PRB-200", 2)])
    paid = await order_paid_event(demo, order)
    processes = platforms.open_many(PROCESSES, demo.clock)

    await asyncio.gather(
        *(
            reaction(process.deps, paid)
            for process in processes
            for reaction in (when_order_paid_create_fulfillment, when_order_paid_issue_invoice)
        )
    )

    async with demo.deps.uow() as uow:
        invoice = await uow.invoices.for_order(order.id)
        fulfillment = await uow.fulfillment_orders.find_by_order(order.id)
        assert invoice is not None
        assert fulfillment is not None
        payments = await uow.payments.allocated_to_invoice(invoice.id)
        invoice_events = await uow.events.for_aggregate("invoice", invoice.id)
        fulfillment_events = await uow.events.for_aggregate("fulfillment_order", fulfillment.id)
    assert invoice.number == "INV-000001"
    assert invoice.balance.is_zero
    assert len(payments) == 1
    assert [s.event.type for s in invoice_events].count("invoice.issued") == 1
    assert len(fulfillment_events) == 1


async def test_one_webhook_delivered_to_several_processes_at_once_is_applied_once(
    demo: Demo, platforms: Platforms, admin: Admin
) -> None:
    """The provider sends one payment webhook to four processes at once, the first still
    applying it when the others arrive: it is applied once and every other copy is answered
    as a duplicate, as a later retry would be."""
    order = await demo.draft([("GW-100", 1)])
    note = await paid_webhook(demo, order)
    first, *others = platforms.open_many(PROCESSES, demo.clock)

    async def deliver(process: Platform) -> PaymentNotificationResult | Exception:
        try:
            return await handle_payment_notification(process.deps, note)
        except Exception as error:  # asserted below: no copy may fail
            return error

    # A slow transaction on the order keeps the first copy in flight while the others land.
    async with admin.row_locked("orders", order.id):
        applying = asyncio.create_task(deliver(first))
        await admin.wait_for_lock_waiters(1)
        repeats = [asyncio.create_task(deliver(process)) for process in others]
        await admin.wait_for_lock_waiters(PROCESSES)
    outcomes = [await applying, *[await repeat for repeat in repeats]]

    async with demo.deps.uow() as uow:
        stored = await uow.events.for_aggregate("order", order.id)
    assert [s.event.type for s in stored].count("order.paid") == 1
    answers = [getattr(o, "outcome", repr(o)) for o in outcomes]
    assert answers == ["applied"] + ["duplicate"] * (PROCESSES - 1)
