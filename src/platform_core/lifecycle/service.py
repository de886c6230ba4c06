"""Use cases that span contexts: cancelling a paid order with its refund, and timelines."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import attrs

from platform_core.billing.service import RefundOrderPayment, refund_order_payment
from platform_core.fulfillment.model import FulfillmentStatus, ShipmentStatus
from platform_core.fulfillment.service import CancelFulfillment, cancel_fulfillment
from platform_core.lifecycle.metrics import OperationsMetrics, OrdersMetrics
from platform_core.lifecycle.ports import LifecycleDeps, LifecycleUnitOfWork
from platform_core.orders.model import Order, OrderStatus, PaymentProvider
from platform_core.orders.service import CancelUnpaidOrder, cancel_unpaid_order
from platform_core.shared.errors import ConflictError
from platform_core.shared.events import Payload, StoredEvent

SHIPPED = {ShipmentStatus.IN_TRANSIT, ShipmentStatus.DELIVERED}


@attrs.frozen
class CancelOrder:
    order_id: str
    reason: str
    correlation_id: str | None = None


async def cancel_order(deps: LifecycleDeps, command: CancelOrder) -> Order:
    """Cancel an order; a paid one together with its full refund.

    Rules: an unpaid order is simply cancelled; a paid order only before anything has
    shipped (no shipment in transit or delivered) and only once its payment has been
    processed (fulfillment order and invoice exist). The steps run in this order, each
    idempotent, so re-running after a crash finishes the job without a second refund:
    cancel the fulfillment order and its open shipments, refund through the provider (key
    derived from the order), record the refund on the invoice, cancel the order.
    """
    async with deps.uow() as uow:
        order = await uow.orders.get(command.order_id)
        if order.status is OrderStatus.CANCELLED and order.refunded is not None:
            return order  # a repeated request after the whole cancellation went through
        fulfillment_id = None
        if order.status is OrderStatus.PAID:
            fulfillment_id = await _unshipped_fulfillment(uow, order)
    # Each step opens its own unit of work after this one has closed: on a database with a
    # single writer (SQLite) a nested one would wait for the outer one forever.
    if fulfillment_id is None:
        return await cancel_unpaid_order(
            deps, CancelUnpaidOrder(order.id, command.reason, command.correlation_id)
        )
    await cancel_fulfillment(
        deps, CancelFulfillment(fulfillment_id, command.reason, command.correlation_id)
    )
    reference = await _refund_with_provider(deps, order)
    await refund_order_payment(
        deps, RefundOrderPayment(order.id, None, reference, command.correlation_id)
    )
    async with deps.uow() as uow:
        current = await uow.orders.get(order.id)
        cancelled, events = current.cancel(command.reason, deps.clock.now(), current.total)
        cancelled = await uow.orders.update(cancelled)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return cancelled


async def _unshipped_fulfillment(uow: LifecycleUnitOfWork, order: Order) -> str:
    fulfillment = await uow.fulfillment_orders.find_by_order(order.id)
    if fulfillment is None or await uow.invoices.for_order(order.id) is None:
        raise ConflictError(
            "the order's payment is still being processed; try again shortly",
            {"order_id": order.id},
        )
    shipments = await uow.shipments.for_fulfillment(fulfillment.id)
    shipped = [s.id for s in shipments if s.status in SHIPPED]
    if shipped or fulfillment.status is FulfillmentStatus.COMPLETED:
        raise ConflictError(
            "the order has shipped; cancel is no longer possible, start a return instead",
            {"order_id": order.id, "shipped_shipments": shipped},
        )
    return fulfillment.id


async def _refund_with_provider(deps: LifecycleDeps, order: Order) -> str:
    payment = order.payment
    if payment is None or payment.provider is PaymentProvider.MANUAL:
        return f"order-cancel:{order.id}"
    intent = payment.payment_intent_id or payment.reference
    result = await deps.payments.refund(intent, order.total, f"refund:order-cancel:{order.id}")
    return result.refund_id


class Lane(StrEnum):
    BUSINESS = "business"
    COURIER = "courier"


COURIER_EVENTS = frozenset({"shipment.event_recorded"})


@attrs.frozen
class TimelineEntry:
    """One line of an order's timeline, in the order events were recorded."""

    position: int
    event_id: str
    lane: Lane
    type: str
    aggregate_type: str
    aggregate_id: str
    occurred_at: datetime
    payload: Payload
    correlation_id: str | None

    @classmethod
    def of(cls, stored: StoredEvent) -> TimelineEntry:
        event = stored.event
        lane = Lane.COURIER if event.type in COURIER_EVENTS else Lane.BUSINESS
        return cls(
            stored.position, stored.event_id, lane, event.type, event.aggregate_type,
            event.aggregate_id, event.occurred_at, event.payload, event.correlation_id,
        )  # fmt: skip


async def order_timeline(deps: LifecycleDeps, order_id: str) -> list[TimelineEntry]:
    """Everything that happened to an order, its invoice, payments, fulfillment, shipments
    and automation steps, read from the stored events (business and courier lanes)."""
    async with deps.uow() as uow:
        await uow.orders.get(order_id)
        aggregates = await _order_aggregates(uow, order_id)
        stored: dict[str, StoredEvent] = {}
        for aggregate_type, aggregate_id in aggregates:
            for event in await uow.events.for_aggregate(aggregate_type, aggregate_id):
                stored[event.event_id] = event
    return [TimelineEntry.of(s) for s in sorted(stored.values(), key=lambda s: s.position)]


async def shipment_timeline(deps: LifecycleDeps, shipment_id: str) -> list[TimelineEntry]:
    """A shipment's own events and those of its automation steps."""
    async with deps.uow() as uow:
        await uow.shipments.get(shipment_id)
        aggregates = [("shipment", shipment_id)]
        steps = await uow.automation_steps.for_shipment(shipment_id)
        aggregates += [("automation_step", step.id) for step in steps]
        stored = [e for kind, i in aggregates for e in await uow.events.for_aggregate(kind, i)]
    return [TimelineEntry.of(s) for s in sorted(stored, key=lambda s: s.position)]


async def _order_aggregates(uow: LifecycleUnitOfWork, order_id: str) -> list[tuple[str, str]]:
    aggregates = [("order", order_id)]
    invoice = await uow.invoices.for_order(order_id)
    if invoice is not None:
        aggregates.append(("invoice", invoice.id))
        payments = await uow.payments.allocated_to_invoice(invoice.id)
        aggregates += [("payment", payment.id) for payment in payments]
    fulfillment = await uow.fulfillment_orders.find_by_order(order_id)
    if fulfillment is not None:
        aggregates.append(("fulfillment_order", fulfillment.id))
        for shipment in await uow.shipments.for_fulfillment(fulfillment.id):
            aggregates.append(("shipment", shipment.id))
        steps = await uow.automation_steps.for_fulfillment_order(fulfillment.id)
        for step in steps:
            aggregates.append(("automation_step", step.id))
            tasks = await uow.manual_tasks.for_step(step.id)
            aggregates += [("manual_task", task.id) for task in tasks]
    return aggregates


async def orders_metrics(deps: LifecycleDeps) -> OrdersMetrics:
    """Outstanding orders, active fulfillments, shipments in flight, returns pending and
    payment failures, counted now."""
    async with deps.uow() as uow:
        return await uow.metrics.orders_metrics(deps.clock.now())


async def operations_metrics(deps: LifecycleDeps) -> OperationsMetrics:
    """Outbox backlog and dead letters, the oldest undelivered event, automation steps failed
    for good, open Ops tasks and failed job runs, counted now."""
    async with deps.uow() as uow:
        return await uow.metrics.operations_metrics(deps.clock.now())
