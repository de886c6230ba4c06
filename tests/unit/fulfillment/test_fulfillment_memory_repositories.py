"""The in-memory fulfillment repositories: queries and the uniqueness they guarantee."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from fulfillment_examples import START, FulfillmentDepsForTests, draft, new_fulfillment, scan

from platform_core.fulfillment.model import ShipmentTrackingEvent, TrackingStatus
from platform_core.shared.errors import ConflictError


def _row(row_id: str, minutes: int, shipment_id: str = "shp_1") -> ShipmentTrackingEvent:
    return ShipmentTrackingEvent(
        id=row_id,
        shipment_id=shipment_id,
        event=scan(TrackingStatus.IN_TRANSIT, minutes),
        recorded_at=START,
    )


async def test_a_fulfillment_order_is_found_by_its_order(deps: FulfillmentDepsForTests) -> None:
    """find_by_order returns the order's fulfillment, or None for another order."""
    fulfillment = new_fulfillment(1)
    async with deps.uow() as uow:
        await uow.fulfillment_orders.add(fulfillment)
        await uow.commit()
    async with deps.uow() as uow:
        assert await uow.fulfillment_orders.find_by_order("ord_1") == fulfillment
        assert await uow.fulfillment_orders.find_by_order("ord_2") is None


async def test_two_fulfillment_orders_for_one_order_cannot_both_commit(
    deps: FulfillmentDepsForTests,
) -> None:
    """The second transaction adding a fulfillment for the same order fails at commit."""
    first, second = deps.uow(), deps.uow()
    async with first, second:
        await first.fulfillment_orders.add(new_fulfillment(1))
        await second.fulfillment_orders.add(attrs.evolve(new_fulfillment(1), id="ful_2"))
        await first.commit()
        with pytest.raises(ConflictError):
            await second.commit()


async def test_shipments_are_found_by_order_tracking_and_flight(
    deps: FulfillmentDepsForTests,
) -> None:
    """for_fulfillment lists in creation order; find_by_tracking and in_flight filter."""
    fulfillment, draft_one = draft(new_fulfillment(4), ("fli_1", 1), tracking_number="T1")
    fulfillment, ready = draft(fulfillment, ("fli_1", 1), shipment_id="shp_2", tracking_number="T2")
    fulfillment, untracked = draft(
        fulfillment, ("fli_1", 1), shipment_id="shp_3", tracking_number=None
    )
    ready, _ = ready.mark_ready(at=START)
    untracked, _ = untracked.mark_ready(at=START)
    async with deps.uow() as uow:
        for shipment in (draft_one, ready, untracked):
            await uow.shipments.add(shipment)
        await uow.commit()
    async with deps.uow() as uow:
        listed = await uow.shipments.for_fulfillment(fulfillment.id)
        assert [shipment.id for shipment in listed] == ["shp_1", "shp_2", "shp_3"]
        assert await uow.shipments.find_by_tracking("simulator", "T2") == ready
        assert await uow.shipments.find_by_tracking("usps", "T2") is None
        assert [shipment.id for shipment in await uow.shipments.in_flight("simulator")] == ["shp_2"]


async def test_a_tracking_number_cannot_move_to_another_shipment(
    deps: FulfillmentDepsForTests,
) -> None:
    """Updating a shipment onto a number another shipment holds is a conflict."""
    fulfillment, first = draft(new_fulfillment(2), ("fli_1", 1), tracking_number="T1")
    _, second = draft(fulfillment, ("fli_1", 1), shipment_id="shp_2", tracking_number="T2")
    async with deps.uow() as uow:
        await uow.shipments.add(first)
        await uow.shipments.add(second)
        await uow.commit()
    async with deps.uow() as uow:
        with pytest.raises(ConflictError):
            await uow.shipments.update(attrs.evolve(second, tracking_number="T1"))


async def test_recorded_keys_answers_for_one_shipment(deps: FulfillmentDepsForTests) -> None:
    """Only the asked keys recorded for that shipment come back."""
    rows = [_row("trk_1", 1), _row("trk_2", 2), _row("trk_3", 1, shipment_id="shp_2")]
    async with deps.uow() as uow:
        for row in rows:
            await uow.tracking_events.add(row)
        await uow.commit()
    asked = {rows[0].dedupe_key, scan(TrackingStatus.IN_TRANSIT, 9).dedupe_key}
    async with deps.uow() as uow:
        assert await uow.tracking_events.recorded_keys("shp_1", asked) == {rows[0].dedupe_key}


async def test_the_timeline_is_ordered_by_event_time(deps: FulfillmentDepsForTests) -> None:
    """for_shipment lists a shipment's events oldest first, whatever the recording order."""
    async with deps.uow() as uow:
        await uow.tracking_events.add(_row("trk_1", 30))
        await uow.tracking_events.add(_row("trk_2", 10))
        await uow.commit()
    async with deps.uow() as uow:
        timeline = await uow.tracking_events.for_shipment("shp_1")
    assert [row.event.occurred_at for row in timeline] == [
        START + timedelta(minutes=10),
        START + timedelta(minutes=30),
    ]


async def test_one_scan_recorded_by_two_transactions_lands_once(
    deps: FulfillmentDepsForTests,
) -> None:
    """The dedupe key is unique per shipment: the second commit is refused."""
    first, second = deps.uow(), deps.uow()
    async with first, second:
        await first.tracking_events.add(_row("trk_1", 5))
        await second.tracking_events.add(_row("trk_2", 5))
        await first.commit()
        with pytest.raises(ConflictError):
            await second.commit()
    assert list(deps.db.table("shipment_tracking_events")) == ["trk_1"]
