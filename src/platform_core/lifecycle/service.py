"""Use cases that span contexts: refunding a paid order, cancelling one with its refund, and
timelines."""

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
from platform_core.orders.ports import PaymentNotification, PaymentOutcome
from platform_core.orders.service import (
    CancelUnpaidOrder,
    cancel_unpaid_order,
    handle_payment_notification,
)
from platform_core.shared.errors import ConflictError, ValidationError
from platform_core.shared.events import Payload, StoredEvent
from platform_core.shared.money import Money

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
    # Refunds made earlier through `refund_order` are not refunded a second time.
    if not order.refundable.is_zero:
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
    key = f"refund:order-cancel:{order.id}"
    await deps.payments.refund(intent, order.refundable, key)
    # What is refunded once this refund is through is the whole order.
    return refund_reference(intent, order.total)


def refund_reference(payment_intent_id: str, refunded_total: Money) -> str:
    """The billing reference of a provider refund: the payment intent and the running total
    refunded on it once the refund is through. The refund use cases here and the provider's
    own notice (charge.refunded, which reports that running total) derive the same reference
    for the same refund, whichever records it first, so it is recorded once."""
    return f"{payment_intent_id}:refunded:{refunded_total.amount}"


@attrs.frozen
class RefundOrder:
    """Refund `amount` of a paid order (None: everything still refundable). `request_key` is
    the caller's idempotency key for this refund, if it has one."""

    order_id: str
    amount: Money | None
    reason: str
    request_key: str | None = None
    correlation_id: str | None = None


async def refund_order(deps: LifecycleDeps, command: RefundOrder) -> Order:
    """Refund all or part of a paid order through its payment provider.

    Rules:
    - Only a paid order whose payment has been processed (its invoice exists) is refunded;
      otherwise ConflictError. A cancelled order was refunded by its cancellation.
    - The amount is in the order's currency, positive and at most what is still refundable
      (ValidationError otherwise); no amount refunds all of it.
    - A card payment is refunded through the provider with an idempotency key derived from
      the order and the request: the caller's key when given, else the amount and the number
      of refunds already recorded, so a call retried after a failure (the provider refunded,
      nothing was recorded yet) gets the provider's first refund back instead of a second
      one. A manual payment (wire, cheque) is refunded outside the platform: only recorded.
    - The refund is recorded on the order's payments, which re-opens the invoice balance,
      under `refund_reference` (the payment intent and the running refunded total), so the
      provider's own charge.refunded notice finds it recorded whichever comes first; the
      order's refunded total follows (order.refunded, with the provider's refund id).
    """
    if not command.reason.strip():
        raise ValidationError("a refund needs a reason", {"field": "reason"})
    async with deps.uow() as uow:
        order = await uow.orders.get(command.order_id)
        if order.status is not OrderStatus.PAID:
            raise ConflictError(
                f"only a paid order can be refunded; order {order.id} is {order.status}",
                {"status": str(order.status)},
            )
        invoice = await uow.invoices.for_order(order.id)
        if invoice is None:
            raise ConflictError(
                "the order's payment is still being processed; try again shortly",
                {"order_id": order.id},
            )
        payments = await uow.payments.allocated_to_invoice(invoice.id)
    refunds_recorded = sum(len(payment.refunds) for payment in payments)
    refunded = Money.total((p.refunded for p in payments), order.currency)
    refundable = Money.total((p.refundable for p in payments), order.currency)
    amount = refundable if command.amount is None else command.amount
    _check_refund(order, amount, refundable)
    key = _refund_key(order, amount, command, refunds_recorded)
    payment = order.payment
    if payment is None or payment.provider is PaymentProvider.MANUAL:
        reference = provider_refund_id = key  # refunded outside the platform: only recorded
    else:
        intent = payment.payment_intent_id or payment.reference
        provider_refund_id = (await deps.payments.refund(intent, amount, key)).refund_id
        reference = refund_reference(intent, refunded + amount)
    await refund_order_payment(
        deps, RefundOrderPayment(order.id, amount, reference, command.correlation_id)
    )
    return await _reflect_refunds(
        deps, order.id, provider_refund_id, command.reason, command.correlation_id
    )


def _check_refund(order: Order, amount: Money, refundable: Money) -> None:
    if amount.currency != order.currency:
        raise ValidationError(
            f"the refund is in {amount.currency}, the order in {order.currency}",
            {"field": "amount.currency"},
        )
    if amount.amount <= 0 or amount > refundable:
        raise ValidationError(
            f"order {order.id} has {refundable} left to refund; cannot refund {amount}",
            {"field": "amount", "refundable": refundable.to_payload()},
        )


def _refund_key(order: Order, amount: Money, command: RefundOrder, recorded: int) -> str:
    """The provider's idempotency key: from the caller's key, else from what is refunded and
    how many refunds came before (a retry after a failure sends the same key)."""
    if command.request_key is not None:
        return f"refund:{order.id}:request:{command.request_key}"
    return f"refund:{order.id}:{amount.amount}{amount.currency}:{recorded + 1}"


async def _reflect_refunds(
    deps: LifecycleDeps, order_id: str, reference: str, reason: str, correlation_id: str | None
) -> Order:
    """Bring the order's refunded total in line with what billing recorded for it."""
    async with deps.uow() as uow:
        order = await uow.orders.get(order_id)
        invoice = await uow.invoices.for_order(order_id)
        payments = [] if invoice is None else await uow.payments.allocated_to_invoice(invoice.id)
        refunded = Money.total((p.refunded for p in payments), order.currency)
        updated, events = order.record_refund(refunded, deps.clock.now(), reference, reason)
        if not events:
            return order
        updated = await uow.orders.update(updated)
        await uow.events.record(events, correlation_id)
        await uow.commit()
    return updated


# Provider events that carry the running total refunded on a charge. Per-refund events
# (`refund.created`, `refund.updated`) are not acted on: Stripe sends `charge.refunded` for
# every refund too, and a running total is safe to apply twice or out of order.
REFUND_TOTAL_EVENTS = frozenset({"charge.refunded"})


async def handle_provider_notification(
    deps: LifecycleDeps, notification: PaymentNotification
) -> str:
    """Apply a verified payment-provider webhook; returns what became of it.

    Rules: a refund total (`charge.refunded`) goes to `record_provider_refund`, which records
    only what is new, so a repeat is harmless ("applied"; "ignored" when the event names no
    payment of ours); every other notification
    goes to the order's payment machine (`handle_payment_notification`: applied, duplicate
    or ignored).
    """
    if notification.outcome is PaymentOutcome.REFUNDED:
        recorded = await record_provider_refund(deps, notification)
        return "ignored" if recorded is None else "applied"
    result = await handle_payment_notification(deps, notification)
    return result.outcome


async def record_provider_refund(
    deps: LifecycleDeps, notification: PaymentNotification
) -> Order | None:
    """Record a refund the payment provider reports (made through `refund_order`, or by hand
    on the provider's dashboard), once. Returns the order, or None when the event is not a
    refund total this platform can place.

    Rules:
    - Only REFUNDED notifications of REFUND_TOTAL_EVENTS with an amount count; that amount is
      everything refunded on the charge so far.
    - The order is the one the event names (payment intent metadata) or the one whose
      payment has the event's payment intent as its reference.
    - What the provider refunded beyond what billing has recorded is recorded (reference:
      `refund_reference` of the payment intent and the running total), re-opening the
      invoice, and the order's refunded total follows. A refund already recorded (made
      through `refund_order`), a repeat delivery, or an older total arriving late records
      nothing.
    """
    reported = notification.amount
    if (
        notification.outcome is not PaymentOutcome.REFUNDED
        or notification.event_type not in REFUND_TOTAL_EVENTS
        or reported is None
    ):
        return None
    async with deps.uow() as uow:
        order_id = await _order_of_refund(uow, notification)
        if order_id is None:
            return None
        invoice = await uow.invoices.for_order(order_id)
        if invoice is None:
            return None
        payments = await uow.payments.allocated_to_invoice(invoice.id)
    recorded = Money.total((p.refunded for p in payments), invoice.currency)
    if reported.currency != recorded.currency or reported <= recorded:
        return await _reflect_refunds(
            deps, order_id, notification.event_id, "refunded at the provider", notification.event_id
        )
    intent = notification.payment_intent_id or notification.charge_id or notification.event_id
    reference = refund_reference(intent, reported)
    await refund_order_payment(
        deps, RefundOrderPayment(order_id, reported - recorded, reference, notification.event_id)
    )
    return await _reflect_refunds(
        deps, order_id, reference, "refunded at the provider", notification.event_id
    )


async def _order_of_refund(
    uow: LifecycleUnitOfWork, notification: PaymentNotification
) -> str | None:
    if notification.order_id and await uow.orders.find(notification.order_id) is not None:
        return notification.order_id
    if notification.payment_intent_id is None:
        return None
    payment = await uow.payments.by_external_reference(notification.payment_intent_id)
    if payment is None or not payment.allocations:
        return None
    invoice = await uow.invoices.get(payment.allocations[0].invoice_id)
    return invoice.order_id


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
