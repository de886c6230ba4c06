"""The lifecycle across contexts: payment -> invoice + fulfillment -> delivery -> automation."""

from __future__ import annotations

from datetime import timedelta

import pytest

from entrypoints.demo import Demo, automation_fallback, happy_path, split_shipment
from platform_core.automation.model import StepStatus
from platform_core.billing.model import InvoiceStatus
from platform_core.billing.ports import InvoiceQuery
from platform_core.fulfillment.model import FulfillmentStatus
from platform_core.lifecycle.service import CancelOrder, Lane, cancel_order, order_timeline
from platform_core.orders.model import OrderStatus
from platform_core.orders.service import get_order, handle_payment_notification
from platform_core.shared.errors import ConflictError


async def test_paid_order_gets_a_paid_invoice_and_a_fulfillment_order(demo: Demo) -> None:
    """order.paid creates one fulfillment item per order item and a paid, numbered invoice."""
    order = await demo.draft([("GW-100", 2), ("MNT-KIT", 1)])
    await demo.pay(order)
    fulfillment = await demo.fulfillment(order)
    async with demo.deps.uow() as uow:
        invoice = await uow.invoices.for_order(order.id)
    assert {i.order_item_id for i in fulfillment.items} == {i.id for i in order.items}
    assert [i.quantity_ordered for i in fulfillment.items] == [2, 1]
    assert invoice is not None
    assert invoice.status is InvoiceStatus.PAID
    assert invoice.number == "INV-000001"
    assert invoice.total == order.total


async def test_happy_path_completes_after_delivery_and_automation(demo: Demo) -> None:
    """Delivery queues one step per item with a scenario; their success completes fulfillment."""
    order = await happy_path(demo)
    fulfillment = await demo.fulfillment(order)
    async with demo.deps.uow() as uow:
        steps = await uow.automation_steps.for_fulfillment_order(fulfillment.id)
    assert fulfillment.status is FulfillmentStatus.COMPLETED
    assert sorted(s.scenario for s in steps) == [
        "sensor_partner_first_time",
        "sensor_vendor_first_time",
    ]  # the mounting kit has no scenario
    assert all(s.status is StepStatus.SUCCEEDED for s in steps)
    assert len(demo.deps.legacy_fake.applied) == 2


async def test_split_shipment_completes_only_after_the_last_delivery(demo: Demo) -> None:
    """With one of two parcels delivered the fulfillment order is still in transit."""
    order = await demo.draft([("PRB-200", 10)])
    await demo.pay(order)
    first = await demo.ship(order, {"PRB-200": 6})
    second = await demo.ship(order, {"PRB-200": 4})
    await demo.deliver(first)
    assert (await demo.fulfillment(order)).status is not FulfillmentStatus.COMPLETED
    await demo.deliver(second)
    assert (await demo.fulfillment(order)).status is FulfillmentStatus.COMPLETED


async def test_split_shipment_scenario_completes(demo: Demo) -> None:
    """The demo's split-shipment scenario ends completed."""
    order = await split_shipment(demo)
    assert (await demo.fulfillment(order)).status is FulfillmentStatus.COMPLETED


async def test_failed_automation_waits_for_the_fallback(demo: Demo) -> None:
    """A step failed past max attempts blocks completion until Ops triggers the fallback."""
    order = await demo.draft([("GW-100", 1)])
    await demo.pay(order)
    shipment = await demo.ship(order)
    # Down for every attempt (the bridge's own retries included) until it is back.
    demo.deps.legacy_fake.fail_next(100)
    await demo.deliver(shipment)
    for _ in range(2):
        demo.clock.advance(timedelta(minutes=10))
        await demo.platform.settle()
    demo.deps.legacy_fake.clear_faults()
    async with demo.deps.uow() as uow:
        (step,) = await uow.automation_steps.for_shipment(shipment.id)
        tasks = await uow.manual_tasks.for_step(step.id)
    assert step.status is StepStatus.FAILED
    assert step.attempts == 3
    assert len(tasks) == 1
    assert (await demo.fulfillment(order)).status is FulfillmentStatus.IN_TRANSIT
    assert any("failed" in n.subject.lower() for n in demo.notifications.sent)


async def test_automation_fallback_scenario_completes(demo: Demo) -> None:
    """After the fallback the fulfillment order completes."""
    order = await automation_fallback(demo)
    assert (await demo.fulfillment(order)).status is FulfillmentStatus.COMPLETED


async def test_duplicate_webhook_has_one_effect(demo: Demo) -> None:
    """The same Stripe event delivered twice pays once: one invoice, one fulfillment."""
    order = await demo.draft([("GW-100", 1)])
    session = await demo.checkout(order)
    signed = demo.deps.payments.complete(session)
    note = demo.deps.payments.parse_webhook(*signed)
    first = await handle_payment_notification(demo.deps, note)
    second = await handle_payment_notification(demo.deps, note)
    await demo.platform.settle()
    assert (first.outcome, second.outcome) == ("applied", "duplicate")
    async with demo.deps.uow() as uow:
        paid_events = [
            e
            for e in await uow.events.for_aggregate("order", order.id)
            if e.event.type == "order.paid"
        ]
        invoices = await uow.invoices.search(InvoiceQuery(company_id=order.company_id))
        payments = await uow.payments.allocated_to_invoice(invoices[0].id)
    assert len(paid_events) == 1
    assert [i.order_id for i in invoices] == [order.id]
    assert len(payments) == 1


async def test_late_expiry_after_payment_is_ignored(demo: Demo) -> None:
    """An expired event arriving after paid changes nothing and is acknowledged."""
    order = await demo.draft([("GW-100", 1)])
    session = await demo.checkout(order)
    expired = demo.deps.payments.expire(session)
    paid = demo.deps.payments.complete(session)
    await demo.stripe_webhook(paid)
    result = await handle_payment_notification(
        demo.deps, demo.deps.payments.parse_webhook(*expired)
    )
    assert result.outcome == "ignored"
    assert (await get_order(demo.deps, order.id)).status is OrderStatus.PAID


async def test_paid_order_cancelled_before_shipping_is_refunded(demo: Demo) -> None:
    """Cancelling a paid, unshipped order refunds it in full and re-opens nothing else."""
    order = await demo.draft([("GW-100", 1)])
    await demo.pay(order)
    await demo.ship(order)  # ready, not yet with the courier
    cancelled = await cancel_order(demo.deps, CancelOrder(order.id, "ordered by mistake"))
    again = await cancel_order(demo.deps, CancelOrder(order.id, "ordered by mistake"))
    async with demo.deps.uow() as uow:
        invoice = await uow.invoices.for_order(order.id)
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.refunded == order.total
    assert again.status is OrderStatus.CANCELLED
    assert len(demo.deps.payments.refunds) == 1
    assert (await demo.fulfillment(order)).status is FulfillmentStatus.CANCELLED
    assert invoice is not None
    assert invoice.status is not InvoiceStatus.PAID


async def test_shipped_order_cannot_be_cancelled(demo: Demo) -> None:
    """Once a shipment is with the courier, cancelling is a conflict and refunds nothing."""
    order = await demo.draft([("GW-100", 1)])
    await demo.pay(order)
    await demo.deliver(await demo.ship(order))
    with pytest.raises(ConflictError):
        await cancel_order(demo.deps, CancelOrder(order.id, "too late"))
    assert demo.deps.payments.refunds == {}
    assert (await get_order(demo.deps, order.id)).status is OrderStatus.PAID


async def test_timeline_has_business_and_courier_lanes_in_order(demo: Demo) -> None:
    """The order timeline merges every context's events in recording order, in two lanes."""
    order = await happy_path(demo)
    timeline = await order_timeline(demo.deps, order.id)
    types = [entry.type for entry in timeline]
    assert types[0] == "order.created"
    assert types[-1] == "fulfillment.completed"
    assert types.index("order.paid") < types.index("invoice.issued")
    assert types.index("shipment.delivered") < types.index("automation.step_queued")
    assert {e.lane for e in timeline} == {Lane.BUSINESS, Lane.COURIER}
    assert [e.position for e in timeline] == sorted(e.position for e in timeline)


async def test_unpaid_order_is_cancelled_without_a_refund(demo: Demo) -> None:
    """cancel_order on a draft simply cancels it (no refund, no fulfillment involved)."""
    order = await demo.draft([("GW-100", 1)])
    cancelled = await cancel_order(demo.deps, CancelOrder(order.id, "changed our mind"))
    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.refunded is None
