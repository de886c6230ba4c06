"""Fulfillment use cases: fulfillment orders, shipments and their allocations, courier
tracking (webhooks and polling), completion and cancellation, and reading them back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

import attrs

from platform_core.fulfillment.model import (
    DEPARTED_SHIPMENT_STATUSES,
    AddressSnapshot,
    Allocation,
    Courier,
    FulfillmentItem,
    FulfillmentOrder,
    FulfillmentOrigin,
    FulfillmentStatus,
    Shipment,
    ShipmentTrackingEvent,
    TrackingEvent,
    check_courier_code,
    check_tracking_number,
)
from platform_core.fulfillment.ports import (
    FulfillmentDeps,
    FulfillmentFilter,
    FulfillmentUnitOfWork,
    ManualFulfillmentDeps,
)
from platform_core.shared.errors import ConflictError, NotFoundError, ValidationError
from platform_core.shared.events import DomainEvent
from platform_core.shared.scenarios import AutomationScenario

T = TypeVar("T")
MAX_LIST_LIMIT = 500
# Tries of one shipment's tracking transaction when concurrent deliveries race.
RECORD_ATTEMPTS = 3

# -- commands -----------------------------------------------------------------------------


@attrs.frozen
class FulfillmentLineSpec:
    """One order item to fulfil, as the order.paid event carries it."""

    order_item_id: str
    product_id: str
    description: str
    quantity: int
    automation_scenario: AutomationScenario | None = None


@attrs.frozen
class CreateFulfillmentForPaidOrder:
    order_id: str
    company_id: str
    items: tuple[FulfillmentLineSpec, ...]
    correlation_id: str | None = None


@attrs.frozen
class CreateManualFulfillment:
    order_id: str
    company_id: str
    items: tuple[FulfillmentLineSpec, ...]
    correlation_id: str | None = None


@attrs.frozen
class CreateShipment:
    fulfillment_order_id: str
    destination: AddressSnapshot
    items: tuple[Allocation, ...]
    courier_code: str | None = None
    tracking_number: str | None = None
    correlation_id: str | None = None
    # Ops' override for a number in a format the courier's rules do not know (yet).
    accept_unrecognised_tracking_number: bool = False


@attrs.frozen
class UpdateShipment:
    """Change what is given; None leaves a detail as it is."""

    shipment_id: str
    destination: AddressSnapshot | None = None
    courier_code: str | None = None
    tracking_number: str | None = None
    correlation_id: str | None = None
    accept_unrecognised_tracking_number: bool = False


@attrs.frozen
class MarkShipmentReady:
    shipment_id: str
    correlation_id: str | None = None


@attrs.frozen
class MarkShipmentInTransit:
    shipment_id: str
    correlation_id: str | None = None


@attrs.frozen
class MarkShipmentDelivered:
    shipment_id: str
    correlation_id: str | None = None


@attrs.frozen
class CancelShipment:
    shipment_id: str
    reason: str | None = None
    correlation_id: str | None = None


@attrs.frozen
class RecordTrackingEvents:
    courier_code: str
    events: tuple[TrackingEvent, ...]
    correlation_id: str | None = None


@attrs.frozen
class PollTracking:
    """Ask the courier about `tracking_numbers` (None: every in-flight shipment of it)."""

    courier_code: str
    tracking_numbers: tuple[str, ...] | None = None
    correlation_id: str | None = None


@attrs.frozen
class CompleteFulfillment:
    fulfillment_order_id: str
    automation_settled: bool
    correlation_id: str | None = None


@attrs.frozen
class CancelFulfillment:
    fulfillment_order_id: str
    reason: str | None = None
    correlation_id: str | None = None


@attrs.frozen
class TrackingReport:
    """What a batch of courier events did: new events recorded, repeats ignored, and the
    tracking numbers no shipment of that courier carries."""

    recorded: int = 0
    duplicates: int = 0
    unmatched: tuple[str, ...] = ()

    def __add__(self, other: TrackingReport) -> TrackingReport:
        return TrackingReport(
            self.recorded + other.recorded,
            self.duplicates + other.duplicates,
            self.unmatched + other.unmatched,
        )


# -- reading ------------------------------------------------------------------------------


@attrs.frozen
class FulfillmentDetails:
    """A fulfillment order with all its shipments (cancelled ones too)."""

    fulfillment: FulfillmentOrder
    shipments: tuple[Shipment, ...]


@attrs.frozen
class ShipmentTracking:
    """A shipment with the courier events recorded for it, oldest first."""

    shipment: Shipment
    events: tuple[ShipmentTrackingEvent, ...]


async def get_fulfillment(deps: FulfillmentDeps, fulfillment_order_id: str) -> FulfillmentOrder:
    async with deps.uow() as uow:
        return await uow.fulfillment_orders.get(fulfillment_order_id)


async def list_fulfillments(
    deps: FulfillmentDeps, filters: FulfillmentFilter, limit: int = 50, offset: int = 0
) -> list[FulfillmentOrder]:
    """Fulfillment orders matching the filters, newest first; an order's own is found with
    `order_id`. Rules: limit 1..500 and offset >= 0."""
    if not 1 <= limit <= MAX_LIST_LIMIT or offset < 0:
        raise ValidationError(
            f"limit must be 1..{MAX_LIST_LIMIT} and offset >= 0",
            {"field": "limit" if offset >= 0 else "offset"},
        )
    async with deps.uow() as uow:
        return await uow.fulfillment_orders.list(filters, limit, offset)


async def get_fulfillment_details(
    deps: FulfillmentDeps, fulfillment_order_id: str
) -> FulfillmentDetails:
    """A fulfillment order and its shipments, read in one transaction so they agree."""
    async with deps.uow() as uow:
        fulfillment = await uow.fulfillment_orders.get(fulfillment_order_id)
        shipments = await uow.shipments.for_fulfillment(fulfillment.id)
    return FulfillmentDetails(fulfillment, tuple(shipments))


async def get_shipment(deps: FulfillmentDeps, shipment_id: str) -> Shipment:
    async with deps.uow() as uow:
        return await uow.shipments.get(shipment_id)


async def get_shipment_tracking(deps: FulfillmentDeps, shipment_id: str) -> ShipmentTracking:
    """A shipment and its courier events; an unknown shipment is NOT_FOUND, not empty."""
    async with deps.uow() as uow:
        shipment = await uow.shipments.get(shipment_id)
        events = await uow.tracking_events.for_shipment(shipment_id)
    return ShipmentTracking(shipment, tuple(events))


# -- fulfillment orders -------------------------------------------------------------------


async def create_fulfillment_for_paid_order(
    deps: FulfillmentDeps, command: CreateFulfillmentForPaidOrder
) -> FulfillmentOrder:
    """Create the fulfillment order of a paid order: one fulfillment item per order item,
    nothing allocated.

    Rules: one fulfillment order per order. It reacts to order.paid, which may arrive more
    than once: when the order already has one, that one is returned and nothing is
    recorded, also when a concurrent delivery of the same event won the race.
    """
    try:
        return await _create_fulfillment(
            deps, command, FulfillmentOrigin.PAID_ORDER, existing_ok=True
        )
    except ConflictError:
        # The order-id claim refused our commit: a concurrent delivery created it first.
        async with deps.uow() as uow:
            existing = await uow.fulfillment_orders.find_by_order(command.order_id)
        if existing is None:
            raise
        return existing


async def create_manual_fulfillment(
    deps: ManualFulfillmentDeps, command: CreateManualFulfillment
) -> FulfillmentOrder:
    """Create a fulfillment order by hand (Ops), e.g. for an order paid outside checkout.

    Rules: the order exists and belongs to `company_id`, otherwise NotFoundError (another
    company's order is answered like a missing one, so no caller learns which order ids
    exist elsewhere); every line names an item of that order, with the item's product and at
    most its ordered quantity (ValidationError naming the line); one fulfillment order per
    order; when the order has one already the request is refused with ConflictError naming
    it, since a person asked for a second one.
    """
    async with deps.uow() as uow:
        order = await uow.orders.find(command.order_id)
    if order is None or order.company_id != command.company_id:
        raise NotFoundError(
            f"order {command.order_id} of company {command.company_id} not found",
            {"kind": "order", "id": command.order_id, "company_id": command.company_id},
        )
    _check_lines_of_order(
        order.id, {i.id: (i.product_id, i.quantity) for i in order.items}, command.items
    )
    return await _create_fulfillment(deps, command, FulfillmentOrigin.MANUAL, existing_ok=False)


def _check_lines_of_order(
    order_id: str, ordered: dict[str, tuple[str, int]], lines: Sequence[FulfillmentLineSpec]
) -> None:
    for index, line in enumerate(lines):
        product_id, quantity = ordered.get(line.order_item_id, (None, 0))
        if product_id != line.product_id:
            raise ValidationError(
                f"order {order_id} has no item {line.order_item_id} of product {line.product_id}",
                {"field": f"items[{index}].order_item_id", "order_id": order_id},
            )
        if line.quantity > quantity:
            raise ValidationError(
                f"item {line.order_item_id} was ordered {quantity} times, not {line.quantity}",
                {"field": f"items[{index}].quantity", "ordered": quantity},
            )


async def _create_fulfillment(
    deps: FulfillmentDeps,
    command: CreateFulfillmentForPaidOrder | CreateManualFulfillment,
    origin: FulfillmentOrigin,
    *,
    existing_ok: bool,
) -> FulfillmentOrder:
    async with deps.uow() as uow:
        existing = await uow.fulfillment_orders.find_by_order(command.order_id)
        if existing is not None:
            if existing_ok:
                return existing
            raise ConflictError(
                f"order {command.order_id} already has fulfillment order {existing.id}",
                {"field": "order_id", "fulfillment_order_id": existing.id},
            )
        fulfillment, events = FulfillmentOrder.create(
            fulfillment_order_id=deps.ids.new_id("ful"),
            order_id=command.order_id,
            company_id=command.company_id,
            items=[_fulfillment_item(deps, spec) for spec in command.items],
            origin=origin,
            at=deps.clock.now(),
        )
        fulfillment = await uow.fulfillment_orders.add(fulfillment)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return fulfillment


def _fulfillment_item(deps: FulfillmentDeps, spec: FulfillmentLineSpec) -> FulfillmentItem:
    return FulfillmentItem(
        id=deps.ids.new_id("fli"),
        order_item_id=spec.order_item_id,
        product_id=spec.product_id,
        description=spec.description,
        quantity_ordered=spec.quantity,
        automation_scenario=spec.automation_scenario,
    )


async def complete_fulfillment(
    deps: FulfillmentDeps, command: CompleteFulfillment
) -> FulfillmentOrder:
    """Complete a fulfillment order.

    Rules: every ordered unit is on a delivered shipment, no shipment is open or travelling,
    and `automation_settled` (every automation step succeeded or had its fallback handled,
    the caller's verdict) holds; otherwise ConflictError whose details say what is missing.
    An already completed order is returned as it is, so reacting twice is harmless.
    """
    async with deps.uow() as uow:
        fulfillment = await uow.fulfillment_orders.get(command.fulfillment_order_id)
        if fulfillment.status is FulfillmentStatus.COMPLETED:
            return fulfillment
        shipments = await uow.shipments.for_fulfillment(fulfillment.id)
        fulfillment, events = fulfillment.complete(
            shipments, automation_settled=command.automation_settled, at=deps.clock.now()
        )
        fulfillment = await uow.fulfillment_orders.update(fulfillment)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return fulfillment


async def cancel_fulfillment(deps: FulfillmentDeps, command: CancelFulfillment) -> FulfillmentOrder:
    """Cancel a fulfillment order and its open shipments, e.g. when its order is cancelled.

    Rules: only while nothing has left the warehouse (ready_to_prepare or
    awaiting_shipment); its draft and ready shipments are cancelled with it and their units
    released, in the same transaction. An already cancelled order is returned as it is.
    """
    async with deps.uow() as uow:
        fulfillment = await uow.fulfillment_orders.get(command.fulfillment_order_id)
        if fulfillment.status is FulfillmentStatus.CANCELLED:
            return fulfillment
        shipments = await uow.shipments.for_fulfillment(fulfillment.id)
        fulfillment, cancelled, events = fulfillment.cancel(
            shipments, at=deps.clock.now(), reason=command.reason
        )
        for shipment in cancelled:
            await uow.shipments.update(shipment)
        fulfillment = await uow.fulfillment_orders.update(fulfillment)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return fulfillment


# -- shipments ----------------------------------------------------------------------------


async def create_shipment(deps: FulfillmentDeps, command: CreateShipment) -> Shipment:
    """Draft a shipment of some of a fulfillment order's units to one destination.

    Rules: each line names an item of the order once, with a positive quantity, and the
    units allocated to non-cancelled shipments never exceed those ordered, also under
    concurrent requests (the order and the shipment are written in one transaction, guarded
    by the order's version); the order must still be open; a tracking number needs its
    courier, which must be in the registry; the number must fit the courier's formats unless
    `accept_unrecognised_tracking_number`; the tracking url comes from the courier's template.
    """
    async with deps.uow() as uow:
        tracking_url = await _tracking_url(
            deps,
            uow,
            command.courier_code,
            command.tracking_number,
            command.accept_unrecognised_tracking_number,
        )
        fulfillment = await uow.fulfillment_orders.get(command.fulfillment_order_id)
        fulfillment, shipment, events = fulfillment.draft_shipment(
            shipment_id=deps.ids.new_id("shp"),
            item_ids=[deps.ids.new_id("shi") for _ in command.items],
            allocations=command.items,
            destination=command.destination,
            courier_code=command.courier_code,
            tracking_number=command.tracking_number,
            tracking_url=tracking_url,
            at=deps.clock.now(),
        )
        await uow.fulfillment_orders.update(fulfillment)
        shipment = await uow.shipments.add(shipment)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return shipment


async def update_shipment(deps: FulfillmentDeps, command: UpdateShipment) -> Shipment:
    """Change a shipment's destination, courier or tracking number.

    Rules: only draft and ready shipments; a tracking number needs a courier; the tracking
    url follows the courier and number; a courier and tracking number identify one shipment;
    a request that changes nothing records nothing.
    """
    async with deps.uow() as uow:
        shipment = await uow.shipments.get(command.shipment_id)
        courier_code = _given_or(command.courier_code, shipment.courier_code)
        tracking_number = _given_or(command.tracking_number, shipment.tracking_number)
        unchanged = (courier_code, tracking_number) == (
            shipment.courier_code,
            shipment.tracking_number,
        )
        # A number already attached was checked (or overridden) then: keep accepting it.
        tracking_url = await _tracking_url(
            deps,
            uow,
            courier_code,
            tracking_number,
            command.accept_unrecognised_tracking_number or unchanged,
        )
        shipment, events = shipment.update_details(
            destination=_given_or(command.destination, shipment.destination),
            courier_code=courier_code,
            tracking_number=tracking_number,
            tracking_url=tracking_url,
            at=deps.clock.now(),
        )
        if not events:
            return shipment
        shipment = await uow.shipments.update(shipment)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return shipment


async def mark_shipment_ready(deps: FulfillmentDeps, command: MarkShipmentReady) -> Shipment:
    """Mark a draft shipment packed and waiting for its courier."""
    async with deps.uow() as uow:
        shipment = await uow.shipments.get(command.shipment_id)
        shipment, events = shipment.mark_ready(at=deps.clock.now())
        shipment = await uow.shipments.update(shipment)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return shipment


async def mark_shipment_in_transit(
    deps: FulfillmentDeps, command: MarkShipmentInTransit
) -> Shipment:
    """Mark a ready shipment handed to its courier; its fulfillment order is then in transit.

    Courier scans do the same by themselves (`record_tracking_events`).
    """
    async with deps.uow() as uow:
        now = deps.clock.now()
        shipment = await uow.shipments.get(command.shipment_id)
        shipment, events = shipment.mark_in_transit(at=now)
        shipment = await uow.shipments.update(shipment)
        events += await _note_departure(uow, shipment, now)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return shipment


async def mark_shipment_delivered(
    deps: FulfillmentDeps, command: MarkShipmentDelivered
) -> Shipment:
    """Confirm by hand that a ready or in-transit shipment was delivered (e.g. handed over
    without a courier). Delivery is terminal and emits shipment.delivered."""
    async with deps.uow() as uow:
        now = deps.clock.now()
        shipment = await uow.shipments.get(command.shipment_id)
        shipment, events = shipment.mark_delivered(at=now)
        shipment = await uow.shipments.update(shipment)
        events += await _note_departure(uow, shipment, now)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return shipment


async def cancel_shipment(deps: FulfillmentDeps, command: CancelShipment) -> Shipment:
    """Cancel a shipment that has not left and release its units to its fulfillment order.

    Rules: only draft and ready shipments (a parcel with the courier cannot be cancelled
    here); the release and the cancellation commit together; when no shipment holds units
    any more, the order is ready_to_prepare again.
    """
    async with deps.uow() as uow:
        shipment = await uow.shipments.get(command.shipment_id)
        fulfillment = await uow.fulfillment_orders.get(shipment.fulfillment_order_id)
        fulfillment, shipment, events = fulfillment.cancel_shipment(
            shipment, at=deps.clock.now(), reason=command.reason
        )
        # Shipment first, then its fulfillment order: the order every other shipment change
        # writes them in, so two of them on one shipment wait for each other, never deadlock.
        shipment = await uow.shipments.update(shipment)
        await uow.fulfillment_orders.update(fulfillment)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return shipment


# -- tracking -----------------------------------------------------------------------------


async def record_tracking_events(
    deps: FulfillmentDeps, command: RecordTrackingEvents
) -> TrackingReport:
    """Record normalised courier events (from a webhook or a poll) on their shipments.

    Rules: events are matched to a shipment by courier code and tracking number; numbers no
    shipment carries are reported, not refused (couriers would retry forever); an event
    already recorded for its shipment (same raw code and time) changes nothing, so a
    repeated webhook is harmless; events are applied oldest first and move a shipment only
    forward; a shipment that leaves puts its fulfillment order in transit. Each shipment's
    events commit in their own transaction.
    """
    check_courier_code(command.courier_code)
    by_number: dict[str, list[TrackingEvent]] = {}
    for event in command.events:
        if event.courier_code != command.courier_code:
            raise ValidationError(
                f"event of {event.courier_code} in a batch of {command.courier_code}",
                {"field": "events.courier_code", "value": event.courier_code},
            )
        by_number.setdefault(event.tracking_number, []).append(event)
    report = TrackingReport()
    for tracking_number, events in by_number.items():
        report += await _record_despite_races(deps, command, tracking_number, events)
    return report


async def _record_despite_races(
    deps: FulfillmentDeps,
    command: RecordTrackingEvents,
    tracking_number: str,
    events: Sequence[TrackingEvent],
) -> TrackingReport:
    """Two deliveries of the same scans (a duplicate webhook, a poll) racing each other: the
    loser's insert or update conflicts. Reading again then finds the winner's scans, which
    are duplicates, so the loser finishes at once instead of waiting for a job retry."""
    for _ in range(RECORD_ATTEMPTS - 1):
        try:
            return await _record_for_shipment(deps, command, tracking_number, events)
        except ConflictError:
            continue
    return await _record_for_shipment(deps, command, tracking_number, events)


async def poll_tracking(deps: FulfillmentDeps, command: PollTracking) -> TrackingReport:
    """Ask the courier about tracking numbers (by default its in-flight shipments: ready or
    in transit, with a tracking number) and record what it says, as `record_tracking_events`
    does. Numbers the courier does not know are reported as unmatched.

    The courier is asked outside any transaction, so a slow courier holds no lock.
    """
    async with deps.uow() as uow:
        courier = await registered_courier(uow, command.courier_code)
        numbers = command.tracking_numbers
        if numbers is None:
            shipments = await uow.shipments.in_flight(courier.code)
            numbers = tuple(s.tracking_number for s in shipments if s.tracking_number)
    if not numbers:
        return TrackingReport()
    polled = await deps.couriers.poll(courier, numbers)
    report = await record_tracking_events(
        deps, RecordTrackingEvents(courier.code, polled.events, command.correlation_id)
    )
    return report + TrackingReport(unmatched=polled.not_found)


async def registered_courier(uow: FulfillmentUnitOfWork, courier_code: str) -> Courier:
    """The registry's courier for the code; an unknown code is a ValidationError (the
    caller named it as a value, not as a resource to find)."""
    courier = await uow.couriers.by_code(check_courier_code(courier_code))
    if courier is None:
        raise ValidationError(
            f"unknown courier {courier_code!r}: register it first",
            {"field": "courier_code", "value": courier_code},
        )
    return courier


async def _record_for_shipment(
    deps: FulfillmentDeps,
    command: RecordTrackingEvents,
    tracking_number: str,
    events: Sequence[TrackingEvent],
) -> TrackingReport:
    async with deps.uow() as uow:
        shipment = await uow.shipments.find_by_tracking(command.courier_code, tracking_number)
        if shipment is None:
            return TrackingReport(unmatched=(tracking_number,))
        now = deps.clock.now()
        seen = await uow.tracking_events.recorded_keys(
            shipment.id, {event.dedupe_key for event in events}
        )
        had_left = shipment.status in DEPARTED_SHIPMENT_STATUSES
        domain_events: list[DomainEvent] = []
        recorded = 0
        for event in sorted(events, key=lambda event: event.occurred_at):
            update = shipment.record_tracking_event(
                event, record_id=deps.ids.new_id("trk"), recorded_keys=seen, at=now
            )
            if update.record is None:
                continue
            seen.add(update.record.dedupe_key)
            await uow.tracking_events.add(update.record)
            shipment = update.shipment
            domain_events += update.events
            recorded += 1
        report = TrackingReport(recorded=recorded, duplicates=len(events) - recorded)
        if not recorded:
            return report
        shipment = await uow.shipments.update(shipment)
        if not had_left and shipment.status in DEPARTED_SHIPMENT_STATUSES:
            domain_events += await _note_departure(uow, shipment, now)
        await uow.events.record(domain_events, command.correlation_id)
        await uow.commit()
    return report


# -- shared steps -------------------------------------------------------------------------


async def _note_departure(
    uow: FulfillmentUnitOfWork, shipment: Shipment, at: datetime
) -> list[DomainEvent]:
    """Put the shipment's fulfillment order in transit; untouched when it already is, so
    later shipments do not contend for its version."""
    fulfillment = await uow.fulfillment_orders.get(shipment.fulfillment_order_id)
    fulfillment, events = fulfillment.note_shipment_in_transit(at=at)
    if events:
        await uow.fulfillment_orders.update(fulfillment)
    return events


async def _tracking_url(
    deps: FulfillmentDeps,
    uow: FulfillmentUnitOfWork,
    courier_code: str | None,
    tracking_number: str | None,
    accept_unrecognised: bool,
) -> str | None:
    if courier_code is None:
        return None
    courier = await registered_courier(uow, courier_code)
    if tracking_number is None:
        return None
    check_tracking_number(tracking_number)
    if not accept_unrecognised:
        deps.couriers.check_tracking_number(courier, tracking_number)
    return courier.tracking_url(tracking_number)


def _given_or(given: T | None, current: T) -> T:
    return current if given is None else given
