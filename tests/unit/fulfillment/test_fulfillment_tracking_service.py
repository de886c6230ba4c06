"""Courier tracking use cases: recording webhook events and polling, idempotently."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fulfillment_examples import (
    COURIER,
    START,
    FulfillmentDepsForTests,
    destination,
    line_specs,
    scan,
)

from platform_core.fulfillment.couriers import get_courier
from platform_core.fulfillment.model import (
    Allocation,
    FulfillmentStatus,
    Shipment,
    ShipmentStatus,
    TrackingStatus,
)
from platform_core.fulfillment.service import (
    CreateFulfillmentForPaidOrder,
    CreateShipment,
    MarkShipmentReady,
    PollTracking,
    RecordTrackingEvents,
    TrackingReport,
    create_fulfillment_for_paid_order,
    create_shipment,
    mark_shipment_ready,
    poll_tracking,
    record_tracking_events,
)
from platform_core.shared.errors import ValidationError

S = TrackingStatus


async def _ready_shipment(
    deps: FulfillmentDepsForTests, tracking_number: str = "TRK0001", order_id: str = "ord_1"
) -> Shipment:
    fulfillment = await create_fulfillment_for_paid_order(
        deps, CreateFulfillmentForPaidOrder(order_id, "cmp_1", line_specs(2))
    )
    shipment = await create_shipment(
        deps,
        CreateShipment(
            fulfillment.id,
            destination(),
            (Allocation(fulfillment.items[0].id, 2),),
            courier_code=COURIER,
            tracking_number=tracking_number,
        ),
    )
    return await mark_shipment_ready(deps, MarkShipmentReady(shipment.id))


async def _reload(deps: FulfillmentDepsForTests, shipment: Shipment) -> Shipment:
    async with deps.uow() as uow:
        return await uow.shipments.get(shipment.id)


def _types(deps: FulfillmentDepsForTests) -> list[str]:
    return [stored.event.type for stored in deps.db.events]


async def test_webhook_events_are_recorded_and_move_the_shipment(
    deps: FulfillmentDepsForTests,
) -> None:
    """A signed webhook parsed by the gateway records its scans and delivers the shipment."""
    shipment = await _ready_shipment(deps)
    planned = deps.couriers.script("TRK0001", [S.PRE_TRANSIT, S.IN_TRANSIT, S.DELIVERED])
    headers, body = deps.couriers.signed_webhook(planned)
    courier = await get_courier(deps, COURIER)
    deps.couriers.verify_webhook(courier, headers, body)
    events = deps.couriers.parse_webhook(courier, body)
    report = await record_tracking_events(
        deps, RecordTrackingEvents(COURIER, tuple(events), correlation_id="hook-1")
    )
    assert report == TrackingReport(recorded=3)
    stored = await _reload(deps, shipment)
    assert stored.status is ShipmentStatus.DELIVERED
    assert stored.delivered_at == planned[-1].occurred_at
    async with deps.uow() as uow:
        fulfillment = await uow.fulfillment_orders.get(shipment.fulfillment_order_id)
        timeline = await uow.tracking_events.for_shipment(shipment.id)
    assert fulfillment.status is FulfillmentStatus.IN_TRANSIT
    assert [row.event for row in timeline] == planned
    assert _types(deps)[-6:] == [
        "shipment.event_recorded",
        "shipment.event_recorded",
        "shipment.in_transit",
        "shipment.event_recorded",
        "shipment.delivered",
        "fulfillment.status_changed",
    ]
    assert {stored.event.correlation_id for stored in deps.db.events[-6:]} == {"hook-1"}


async def test_the_same_webhook_twice_records_once(deps: FulfillmentDepsForTests) -> None:
    """Replaying a batch reports duplicates and records no row and no event."""
    await _ready_shipment(deps)
    command = RecordTrackingEvents(COURIER, (scan(S.IN_TRANSIT, 10), scan(S.IN_TRANSIT, 10)))
    first = await record_tracking_events(deps, command)
    events_after_first = len(deps.db.events)
    second = await record_tracking_events(deps, command)
    assert first == TrackingReport(recorded=1, duplicates=1)
    assert second == TrackingReport(duplicates=2)
    assert len(deps.db.events) == events_after_first
    assert len(deps.db.table("shipment_tracking_events")) == 1


async def test_events_are_applied_oldest_first(deps: FulfillmentDepsForTests) -> None:
    """A batch given newest first still ends delivered with the newest scan as latest."""
    shipment = await _ready_shipment(deps)
    events = (scan(S.DELIVERED, 90), scan(S.OUT_FOR_DELIVERY, 60), scan(S.IN_TRANSIT, 30))
    await record_tracking_events(deps, RecordTrackingEvents(COURIER, events))
    stored = await _reload(deps, shipment)
    assert stored.status is ShipmentStatus.DELIVERED
    assert stored.in_transit_at == START + timedelta(minutes=30)
    assert stored.last_tracking_status is S.DELIVERED


async def test_a_late_lower_event_never_moves_a_delivered_shipment_back(
    deps: FulfillmentDepsForTests,
) -> None:
    """An in-transit scan after delivery joins the timeline only."""
    shipment = await _ready_shipment(deps)
    await record_tracking_events(deps, RecordTrackingEvents(COURIER, (scan(S.DELIVERED, 90),)))
    report = await record_tracking_events(
        deps, RecordTrackingEvents(COURIER, (scan(S.IN_TRANSIT, 30),))
    )
    assert report.recorded == 1
    assert (await _reload(deps, shipment)).status is ShipmentStatus.DELIVERED
    assert _types(deps)[-1] == "shipment.event_recorded"


async def test_unknown_tracking_numbers_are_reported_not_refused(
    deps: FulfillmentDepsForTests,
) -> None:
    """Events for numbers no shipment carries are listed as unmatched; the rest is recorded."""
    await _ready_shipment(deps)
    report = await record_tracking_events(
        deps,
        RecordTrackingEvents(
            COURIER, (scan(S.IN_TRANSIT, 5), scan(S.IN_TRANSIT, 5, tracking_number="NOPE1"))
        ),
    )
    assert report == TrackingReport(recorded=1, unmatched=("NOPE1",))


async def test_a_batch_mixing_couriers_is_refused(deps: FulfillmentDepsForTests) -> None:
    """Every event of a batch belongs to the batch's courier."""
    await _ready_shipment(deps)
    with pytest.raises(ValidationError) as caught:
        await record_tracking_events(deps, RecordTrackingEvents("usps", (scan(S.IN_TRANSIT, 5),)))
    assert caught.value.details["field"] == "events.courier_code"
    assert deps.db.table("shipment_tracking_events") == {}


async def test_poll_records_what_is_due_and_only_once(deps: FulfillmentDepsForTests) -> None:
    """Polling records the scans due by the clock; a later poll adds only the new ones."""
    shipment = await _ready_shipment(deps)
    deps.couriers.script(
        "TRK0001", [S.PRE_TRANSIT, S.IN_TRANSIT, S.DELIVERED], every=timedelta(hours=6)
    )
    first = await poll_tracking(deps, PollTracking(COURIER))
    assert first == TrackingReport(recorded=1)
    deps.clock.advance(timedelta(hours=6))
    second = await poll_tracking(deps, PollTracking(COURIER))
    assert second == TrackingReport(recorded=1, duplicates=1)
    assert (await _reload(deps, shipment)).status is ShipmentStatus.IN_TRANSIT
    deps.clock.advance(timedelta(hours=6))
    await poll_tracking(deps, PollTracking(COURIER))
    assert (await _reload(deps, shipment)).status is ShipmentStatus.DELIVERED
    deps.clock.advance(timedelta(hours=6))
    assert await poll_tracking(deps, PollTracking(COURIER)) == TrackingReport()


async def test_poll_asks_only_about_shipments_in_flight(deps: FulfillmentDepsForTests) -> None:
    """Draft shipments are not polled; with nothing in flight the courier is not asked."""
    fulfillment = await create_fulfillment_for_paid_order(
        deps, CreateFulfillmentForPaidOrder("ord_1", "cmp_1", line_specs(1))
    )
    await create_shipment(
        deps,
        CreateShipment(
            fulfillment.id,
            destination(),
            (Allocation(fulfillment.items[0].id, 1),),
            courier_code=COURIER,
            tracking_number="DRAFT1",
        ),
    )
    deps.couriers.script("DRAFT1", [S.IN_TRANSIT])
    assert await poll_tracking(deps, PollTracking(COURIER)) == TrackingReport()
    assert deps.db.table("shipment_tracking_events") == {}


async def test_a_second_departure_leaves_a_travelling_order_alone(
    deps: FulfillmentDepsForTests,
) -> None:
    """The first shipment to leave puts the order in transit; the next one does not write
    the order again, so shipments of one order do not contend for its version."""
    fulfillment = await create_fulfillment_for_paid_order(
        deps, CreateFulfillmentForPaidOrder("ord_1", "cmp_1", line_specs(2))
    )
    for number in ("TRK0001", "TRK0002"):
        shipment = await create_shipment(
            deps,
            CreateShipment(
                fulfillment.id,
                destination(),
                (Allocation(fulfillment.items[0].id, 1),),
                courier_code=COURIER,
                tracking_number=number,
            ),
        )
        await mark_shipment_ready(deps, MarkShipmentReady(shipment.id))
    await record_tracking_events(deps, RecordTrackingEvents(COURIER, (scan(S.IN_TRANSIT, 5),)))
    async with deps.uow() as uow:
        in_transit = await uow.fulfillment_orders.get(fulfillment.id)
    await record_tracking_events(
        deps, RecordTrackingEvents(COURIER, (scan(S.IN_TRANSIT, 6, tracking_number="TRK0002"),))
    )
    async with deps.uow() as uow:
        assert await uow.fulfillment_orders.get(fulfillment.id) == in_transit
    assert in_transit.status is FulfillmentStatus.IN_TRANSIT
