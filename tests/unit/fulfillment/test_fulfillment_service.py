"""Fulfillment use cases on the in-memory adapters: creation, shipments, completion."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from fulfillment_examples import COURIER, FulfillmentDepsForTests, destination, line_specs

from platform_core.fulfillment.model import (
    Allocation,
    FulfillmentOrder,
    FulfillmentOrigin,
    FulfillmentStatus,
    Shipment,
    ShipmentStatus,
)
from platform_core.fulfillment.service import (
    CancelFulfillment,
    CancelShipment,
    CompleteFulfillment,
    CreateFulfillmentForPaidOrder,
    CreateShipment,
    MarkShipmentDelivered,
    MarkShipmentInTransit,
    MarkShipmentReady,
    UpdateShipment,
    cancel_fulfillment,
    cancel_shipment,
    complete_fulfillment,
    create_fulfillment_for_paid_order,
    create_shipment,
    mark_shipment_delivered,
    mark_shipment_in_transit,
    mark_shipment_ready,
    update_shipment,
)
from platform_core.shared.errors import (
    ConflictError,
    IllegalTransition,
    NotFoundError,
    ValidationError,
)


def _event_types(deps: FulfillmentDepsForTests) -> list[str]:
    return [stored.event.type for stored in deps.db.events]


async def _fulfillment(deps: FulfillmentDepsForTests, *quantities: int) -> FulfillmentOrder:
    return await create_fulfillment_for_paid_order(
        deps, CreateFulfillmentForPaidOrder("ord_1", "cmp_1", line_specs(*quantities))
    )


async def _ship(
    deps: FulfillmentDepsForTests,
    fulfillment: FulfillmentOrder,
    *lines: tuple[int, int],
    tracking_number: str | None = None,
) -> Shipment:
    """Create a shipment of (item position, quantity) lines of `fulfillment`."""
    allocations = tuple(Allocation(fulfillment.items[pos].id, qty) for pos, qty in lines)
    return await create_shipment(
        deps,
        CreateShipment(
            fulfillment.id,
            destination(),
            allocations,
            courier_code=COURIER if tracking_number else None,
            tracking_number=tracking_number,
        ),
    )


async def _stored(deps: FulfillmentDepsForTests, fulfillment_id: str) -> FulfillmentOrder:
    async with deps.uow() as uow:
        return await uow.fulfillment_orders.get(fulfillment_id)


# -- creating fulfillment orders --------------------------------------------------------------


async def test_a_paid_order_gets_one_fulfillment_item_per_order_item(
    deps: FulfillmentDepsForTests,
) -> None:
    """Each order item becomes a fulfillment item with everything remaining."""
    fulfillment = await create_fulfillment_for_paid_order(
        deps,
        CreateFulfillmentForPaidOrder("ord_1", "cmp_1", line_specs(3, 1), correlation_id="corr-1"),
    )
    assert fulfillment.id == "ful_000001"
    assert fulfillment.origin is FulfillmentOrigin.PAID_ORDER
    assert [(item.order_item_id, item.quantity_remaining) for item in fulfillment.items] == [
        ("oit_1", 3),
        ("oit_2", 1),
    ]
    assert await _stored(deps, fulfillment.id) == fulfillment
    assert _event_types(deps) == ["fulfillment.created"]
    assert deps.db.events[0].event.correlation_id == "corr-1"


async def test_a_repeated_paid_order_returns_the_existing_fulfillment(
    deps: FulfillmentDepsForTests,
) -> None:
    """Handling order.paid twice gives one fulfillment order and one event."""
    command = CreateFulfillmentForPaidOrder("ord_1", "cmp_1", line_specs(2))
    first = await create_fulfillment_for_paid_order(deps, command)
    second = await create_fulfillment_for_paid_order(deps, command)
    assert second == first
    assert _event_types(deps) == ["fulfillment.created"]


async def test_concurrent_deliveries_of_one_paid_order_make_one_fulfillment(
    deps: FulfillmentDepsForTests,
) -> None:
    """Two interleaved creations for one order: one commits, the other returns its result."""
    deps.slow_commits = True
    command = CreateFulfillmentForPaidOrder("ord_1", "cmp_1", line_specs(2))
    first, second = await asyncio.gather(
        create_fulfillment_for_paid_order(deps, command),
        create_fulfillment_for_paid_order(deps, command),
    )
    assert first.id == second.id
    assert len(deps.db.table("fulfillment_orders")) == 1
    assert _event_types(deps) == ["fulfillment.created"]


async def test_a_fulfillment_with_a_bad_line_records_nothing(deps: FulfillmentDepsForTests) -> None:
    """A non-positive quantity is refused and nothing is stored."""
    with pytest.raises(ValidationError):
        await _fulfillment(deps, 2, 0)
    assert deps.db.table("fulfillment_orders") == {}
    assert deps.db.events == []


# -- shipments --------------------------------------------------------------------------------


async def test_create_shipment_allocates_and_takes_the_tracking_url_from_the_courier(
    deps: FulfillmentDepsForTests,
) -> None:
    """The shipment and the order's allocation commit together; the url is the courier's."""
    fulfillment = await _fulfillment(deps, 3, 2)
    shipment = await _ship(deps, fulfillment, (0, 2), (1, 2), tracking_number="SIM0001")
    stored = await _stored(deps, fulfillment.id)
    assert [item.quantity_allocated for item in stored.items] == [2, 2]
    assert stored.status is FulfillmentStatus.AWAITING_SHIPMENT
    assert shipment.tracking_url == "https://tracking.simulator.invalid/track/SIM0001"
    assert _event_types(deps)[1:] == ["shipment.drafted", "fulfillment.status_changed"]


async def test_over_allocation_is_refused_and_nothing_is_stored(
    deps: FulfillmentDepsForTests,
) -> None:
    """Asking for more than remains names the item and its remaining units; nothing changes."""
    fulfillment = await _fulfillment(deps, 3)
    await _ship(deps, fulfillment, (0, 2))
    with pytest.raises(ValidationError) as caught:
        await _ship(deps, fulfillment, (0, 2))
    assert caught.value.details["remaining"] == 1
    assert (await _stored(deps, fulfillment.id)).items[0].quantity_allocated == 2
    assert len(deps.db.table("shipments")) == 1


async def test_a_shipment_of_an_unknown_fulfillment_is_not_found(
    deps: FulfillmentDepsForTests,
) -> None:
    """Creating a shipment for a missing fulfillment order raises NotFoundError."""
    with pytest.raises(NotFoundError):
        await create_shipment(
            deps, CreateShipment("ful_missing", destination(), (Allocation("fli_1", 1),))
        )


async def test_a_tracking_number_identifies_one_shipment(deps: FulfillmentDepsForTests) -> None:
    """A second shipment with the same courier and tracking number is a conflict."""
    fulfillment = await _fulfillment(deps, 3)
    await _ship(deps, fulfillment, (0, 1), tracking_number="SIM0001")
    with pytest.raises(ConflictError):
        await _ship(deps, fulfillment, (0, 1), tracking_number="SIM0001")
    assert (await _stored(deps, fulfillment.id)).items[0].quantity_allocated == 1


async def test_an_unknown_courier_is_refused_before_anything_is_stored(
    deps: FulfillmentDepsForTests,
) -> None:
    """The courier gateway refuses couriers it does not serve."""
    fulfillment = await _fulfillment(deps, 1)
    with pytest.raises(ValidationError) as caught:
        await create_shipment(
            deps,
            CreateShipment(
                fulfillment.id,
                destination(),
                (Allocation(fulfillment.items[0].id, 1),),
                courier_code="pigeon_post",
                tracking_number="P1",
            ),
        )
    assert caught.value.details["field"] == "courier_code"
    assert deps.db.table("shipments") == {}


@pytest.mark.parametrize("interleaved", [False, True])
async def test_concurrent_shipments_never_over_allocate(
    deps: FulfillmentDepsForTests, interleaved: bool
) -> None:
    """Two concurrent requests for the last units: one wins, the other is refused (stale
    version when both read before either committed, over-allocation otherwise)."""
    fulfillment = await _fulfillment(deps, 3)
    deps.slow_commits = interleaved
    results = await asyncio.gather(
        _ship(deps, fulfillment, (0, 2)),
        _ship(deps, fulfillment, (0, 2)),
        return_exceptions=True,
    )
    shipments = [result for result in results if isinstance(result, Shipment)]
    refusals = [result for result in results if isinstance(result, Exception)]
    assert len(shipments) == 1
    assert len(refusals) == 1
    assert isinstance(refusals[0], ConflictError if interleaved else ValidationError)
    stored = await _stored(deps, fulfillment.id)
    assert stored.items[0].quantity_allocated == 2 <= stored.items[0].quantity_ordered
    assert len(deps.db.table("shipments")) == 1


async def test_update_shipment_sets_tracking_and_its_url(deps: FulfillmentDepsForTests) -> None:
    """Giving a courier and number sets the url from the courier gateway."""
    fulfillment = await _fulfillment(deps, 1)
    shipment = await _ship(deps, fulfillment, (0, 1))
    updated = await update_shipment(
        deps, UpdateShipment(shipment.id, courier_code=COURIER, tracking_number="SIM42")
    )
    assert (updated.courier_code, updated.tracking_number) == (COURIER, "SIM42")
    assert updated.tracking_url == "https://tracking.simulator.invalid/track/SIM42"
    assert updated.version == 2
    assert _event_types(deps)[-1] == "shipment.updated"


async def test_update_shipment_without_changes_records_nothing(
    deps: FulfillmentDepsForTests,
) -> None:
    """An update that changes nothing stores and records nothing."""
    fulfillment = await _fulfillment(deps, 1)
    shipment = await _ship(deps, fulfillment, (0, 1), tracking_number="SIM1")
    events_before = len(deps.db.events)
    same = await update_shipment(deps, UpdateShipment(shipment.id, destination=destination()))
    assert same.version == shipment.version
    assert len(deps.db.events) == events_before


async def test_update_shipment_is_refused_once_in_transit(deps: FulfillmentDepsForTests) -> None:
    """Details cannot change after the parcel left."""
    fulfillment = await _fulfillment(deps, 1)
    shipment = await _ship(deps, fulfillment, (0, 1), tracking_number="SIM1")
    await mark_shipment_ready(deps, MarkShipmentReady(shipment.id))
    await mark_shipment_in_transit(deps, MarkShipmentInTransit(shipment.id))
    with pytest.raises(IllegalTransition):
        await update_shipment(deps, UpdateShipment(shipment.id, tracking_number="SIM2"))


async def test_shipping_by_hand_moves_the_order_in_transit(deps: FulfillmentDepsForTests) -> None:
    """Ready then in transit: the shipment moves and its order is in transit."""
    fulfillment = await _fulfillment(deps, 2)
    shipment = await _ship(deps, fulfillment, (0, 2))
    await mark_shipment_ready(deps, MarkShipmentReady(shipment.id))
    shipment = await mark_shipment_in_transit(deps, MarkShipmentInTransit(shipment.id))
    assert shipment.status is ShipmentStatus.IN_TRANSIT
    assert (await _stored(deps, fulfillment.id)).status is FulfillmentStatus.IN_TRANSIT


async def test_in_transit_needs_a_ready_shipment(deps: FulfillmentDepsForTests) -> None:
    """A draft shipment cannot go in transit; the order is not touched."""
    fulfillment = await _fulfillment(deps, 2)
    shipment = await _ship(deps, fulfillment, (0, 2))
    with pytest.raises(IllegalTransition):
        await mark_shipment_in_transit(deps, MarkShipmentInTransit(shipment.id))
    assert (await _stored(deps, fulfillment.id)).status is FulfillmentStatus.AWAITING_SHIPMENT


async def test_cancel_shipment_releases_its_units(deps: FulfillmentDepsForTests) -> None:
    """Cancelling the only shipment frees its units and the order is ready again."""
    fulfillment = await _fulfillment(deps, 3)
    shipment = await _ship(deps, fulfillment, (0, 3))
    cancelled = await cancel_shipment(deps, CancelShipment(shipment.id, reason="wrong box"))
    stored = await _stored(deps, fulfillment.id)
    assert cancelled.status is ShipmentStatus.CANCELLED
    assert stored.items[0].quantity_remaining == 3
    assert stored.status is FulfillmentStatus.READY_TO_PREPARE
    await _ship(deps, fulfillment, (0, 3))


async def test_cancel_shipment_is_refused_in_transit(deps: FulfillmentDepsForTests) -> None:
    """A shipment with the courier cannot be cancelled; its units stay allocated."""
    fulfillment = await _fulfillment(deps, 1)
    shipment = await _ship(deps, fulfillment, (0, 1))
    await mark_shipment_ready(deps, MarkShipmentReady(shipment.id))
    await mark_shipment_in_transit(deps, MarkShipmentInTransit(shipment.id))
    with pytest.raises(IllegalTransition):
        await cancel_shipment(deps, CancelShipment(shipment.id))
    assert (await _stored(deps, fulfillment.id)).items[0].quantity_allocated == 1


# -- completion and cancellation --------------------------------------------------------------


async def _delivered_everything(deps: FulfillmentDepsForTests) -> FulfillmentOrder:
    fulfillment = await _fulfillment(deps, 2)
    shipment = await _ship(deps, fulfillment, (0, 2))
    await mark_shipment_ready(deps, MarkShipmentReady(shipment.id))
    await mark_shipment_delivered(deps, MarkShipmentDelivered(shipment.id))
    return fulfillment


async def test_delivery_by_hand_emits_shipment_delivered(deps: FulfillmentDepsForTests) -> None:
    """A hand-confirmed delivery emits shipment.delivered and puts the order in transit."""
    fulfillment = await _delivered_everything(deps)
    assert "shipment.delivered" in _event_types(deps)
    assert (await _stored(deps, fulfillment.id)).status is FulfillmentStatus.IN_TRANSIT


async def test_complete_fulfillment_when_everything_settled(
    deps: FulfillmentDepsForTests,
) -> None:
    """Delivered and automation settled: completed; asking again returns it unchanged."""
    fulfillment = await _delivered_everything(deps)
    deps.clock.advance(timedelta(days=1))
    command = CompleteFulfillment(fulfillment.id, automation_settled=True, correlation_id="c-9")
    completed = await complete_fulfillment(deps, command)
    again = await complete_fulfillment(deps, command)
    assert completed.status is FulfillmentStatus.COMPLETED
    assert completed.completed_at == deps.clock.now()
    assert again == completed
    assert _event_types(deps).count("fulfillment.completed") == 1
    assert deps.db.events[-1].event.correlation_id == "c-9"


async def test_complete_fulfillment_says_what_is_missing(deps: FulfillmentDepsForTests) -> None:
    """Automation not settled: ConflictError saying so, the order stays in transit."""
    fulfillment = await _delivered_everything(deps)
    with pytest.raises(ConflictError) as caught:
        await complete_fulfillment(deps, CompleteFulfillment(fulfillment.id, False))
    assert caught.value.details["automation_pending"] is True
    assert (await _stored(deps, fulfillment.id)).status is FulfillmentStatus.IN_TRANSIT


async def test_cancel_fulfillment_cancels_open_shipments(deps: FulfillmentDepsForTests) -> None:
    """Cancelling the order cancels its draft and ready shipments in one transaction."""
    fulfillment = await _fulfillment(deps, 3)
    first = await _ship(deps, fulfillment, (0, 1))
    second = await _ship(deps, fulfillment, (0, 1))
    await mark_shipment_ready(deps, MarkShipmentReady(second.id))
    command = CancelFulfillment(fulfillment.id, reason="order cancelled")
    cancelled = await cancel_fulfillment(deps, command)
    assert await cancel_fulfillment(deps, command) == cancelled
    assert cancelled.status is FulfillmentStatus.CANCELLED
    assert cancelled.quantity_allocated == 0
    async with deps.uow() as uow:
        shipments = await uow.shipments.for_fulfillment(fulfillment.id)
    assert [(s.id, s.status) for s in shipments] == [
        (first.id, ShipmentStatus.CANCELLED),
        (second.id, ShipmentStatus.CANCELLED),
    ]
    assert _event_types(deps).count("fulfillment.status_changed") == 2


async def test_cancel_fulfillment_is_refused_once_something_left(
    deps: FulfillmentDepsForTests,
) -> None:
    """An order with a shipment on its way cannot be cancelled."""
    fulfillment = await _delivered_everything(deps)
    with pytest.raises(IllegalTransition):
        await cancel_fulfillment(deps, CancelFulfillment(fulfillment.id))
