"""Contract of the fulfillment repositories (fulfillment orders, shipments, tracking events) on
every adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import attrs
import pytest
from hypothesis import given
from tests.contract.conftest import Backend
from tests.support.contract import ROUND_TRIP, add_all, assert_round_trip, unique, update

from platform_core.fulfillment.model import (
    AddressSnapshot,
    Allocation,
    FulfillmentItem,
    FulfillmentOrder,
    FulfillmentStatus,
    Shipment,
    ShipmentItem,
    ShipmentTrackingEvent,
    TrackingEvent,
    TrackingStatus,
)
from platform_core.fulfillment.ports import FulfillmentFilter
from platform_core.shared.errors import ConflictError
from platform_core.testing.fulfillment import fulfillment_orders, shipments, tracking_events

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DESTINATION = AddressSnapshot(
    name="Acme Sensors Inc", lines=("1 King Street",), city="Toronto", country="CA"
)


def _fulfillments(uow: Any) -> Any:
    return uow.fulfillment_orders


def _shipments(uow: Any) -> Any:
    return uow.shipments


def _tracking(uow: Any) -> Any:
    return uow.tracking_events


def fulfillment(order_id: str, fulfillment_id: str | None = None) -> FulfillmentOrder:
    item = FulfillmentItem(
        id=unique("fli"),
        order_item_id=unique("oit"),
        product_id="prd_1",
        description="Vibration sensor",
        quantity_ordered=3,
    )
    created, _ = FulfillmentOrder.create(
        fulfillment_order_id=fulfillment_id or unique("ful"),
        order_id=order_id,
        company_id="cmp_1",
        items=[item],
        at=AT,
    )
    return created


def shipment(
    shipment_id: str,
    courier_code: str | None = "simulator",
    tracking_number: str | None = None,
    *,
    fulfillment_id: str = "ful_1",
    minutes: int = 0,
) -> Shipment:
    item = ShipmentItem(
        id=unique("shi"), fulfillment_item_id="fli_1", order_item_id="oit_1", product_id="prd_1",
        quantity=1,
    )  # fmt: skip
    drafted, _ = Shipment.draft(
        shipment_id=shipment_id,
        fulfillment_order_id=fulfillment_id,
        order_id="ord_1",
        company_id="cmp_1",
        items=[item],
        destination=DESTINATION,
        courier_code=courier_code,
        tracking_number=tracking_number,
        at=AT + timedelta(minutes=minutes),
    )
    return drafted


def ready(drafted: Shipment) -> Shipment:
    done, _ = drafted.mark_ready(at=AT)
    return done


def in_transit(drafted: Shipment) -> Shipment:
    done, _ = ready(drafted).mark_in_transit(at=AT)
    return done


def scan(
    shipment_id: str, raw_code: str, minutes: int, recorded_minutes: int = 0, record_id: str = ""
) -> ShipmentTrackingEvent:
    event = TrackingEvent(
        courier_code="simulator",
        tracking_number="TRK1",
        status=TrackingStatus.IN_TRANSIT,
        raw_code=raw_code,
        occurred_at=AT + timedelta(minutes=minutes),
    )
    return ShipmentTrackingEvent(
        id=record_id or unique("ste"),
        shipment_id=shipment_id,
        event=event,
        recorded_at=AT + timedelta(minutes=recorded_minutes),
    )


def fresh_fulfillment(drawn: FulfillmentOrder) -> FulfillmentOrder:
    items = tuple(attrs.evolve(item, id=unique("fli")) for item in drawn.items)
    return attrs.evolve(drawn, id=unique("ful"), order_id=unique("ord"), items=items)


def fresh_shipment(drawn: Shipment) -> Shipment:
    items = tuple(attrs.evolve(item, id=unique("shi")) for item in drawn.items)
    number = f"TRK{uuid4().hex[:16].upper()}"
    return attrs.evolve(drawn, id=unique("shp"), items=items, tracking_number=number)


def scanned(stored: Shipment) -> Shipment:
    """The shipment after a courier scan (which may also move it forward)."""
    assert stored.courier_code is not None
    assert stored.tracking_number is not None
    event = TrackingEvent(
        courier_code=stored.courier_code,
        tracking_number=stored.tracking_number,
        status=TrackingStatus.OUT_FOR_DELIVERY,
        raw_code="OFD",
        occurred_at=AT + timedelta(days=60),
        location="Toronto",
    )
    return stored.record_tracking_event(
        event, record_id="ste_1", recorded_keys=set(), at=AT + timedelta(days=60)
    ).shipment


class TestRoundTrip:
    @ROUND_TRIP
    @given(drawn=fulfillment_orders())
    async def test_fulfillment_order(self, backend: Backend, drawn: FulfillmentOrder) -> None:
        """A fulfillment order and its items are stored and read back; allocations update."""
        stored = fresh_fulfillment(drawn)
        changed, _ = stored.allocate([Allocation(stored.items[-1].id, 1)], at=AT)
        await assert_round_trip(backend, _fulfillments, stored, changed)

    @ROUND_TRIP
    @given(drawn=shipments())
    async def test_shipment(self, backend: Backend, drawn: Shipment) -> None:
        """A shipment in any status, with its items and destination, is stored and read back;
        a courier scan is stored by update."""
        stored = fresh_shipment(drawn)
        await assert_round_trip(backend, _shipments, stored, scanned(stored))

    @ROUND_TRIP
    @given(drawn=tracking_events())
    async def test_tracking_event(self, backend: Backend, drawn: TrackingEvent) -> None:
        """A recorded courier event is stored and read back whole."""
        stored = ShipmentTrackingEvent(
            id=unique("ste"), shipment_id=unique("shp"), event=drawn, recorded_at=AT
        )
        changed = attrs.evolve(stored, recorded_at=AT + timedelta(hours=1))
        await assert_round_trip(backend, _tracking, stored, changed)


class TestFulfillmentOrders:
    async def test_find_by_order_and_one_per_order(self, backend: Backend) -> None:
        """find_by_order finds the order's fulfillment order (None without one); a second one
        for the same order is a conflict."""
        first = fulfillment("ord_1")
        await add_all(backend, _fulfillments, first, fulfillment("ord_2"))
        with pytest.raises(ConflictError):
            await add_all(backend, _fulfillments, fulfillment("ord_1"))
        with pytest.raises(ConflictError):
            await add_all(backend, _fulfillments, fulfillment("ord_3"), fulfillment("ord_3"))
        async with backend.uow() as uow:
            assert await uow.fulfillment_orders.find_by_order("ord_1") == first
            assert await uow.fulfillment_orders.find_by_order("ord_3") is None

    async def test_list_filters_and_pages_newest_first(self, backend: Backend) -> None:
        """list keeps the orders matching every filter (order, company, status), newest first
        (ties by id, also newest first), and pages with limit and offset."""

        def made(order_id: str, company_id: str, minutes: int, fulfillment_id: str) -> Any:
            return attrs.evolve(
                fulfillment(order_id, fulfillment_id),
                company_id=company_id,
                created_at=AT + timedelta(minutes=minutes),
            )

        oldest = made("ord_1", "cmp_1", 0, "ful_a")
        tie_low = made("ord_2", "cmp_1", 5, "ful_b")
        tie_high = made("ord_3", "cmp_1", 5, "ful_c")
        elsewhere = made("ord_4", "cmp_2", 9, "ful_d")
        cancelled, _, _ = made("ord_5", "cmp_1", 7, "ful_e").cancel([], at=AT)
        await add_all(backend, _fulfillments, oldest, tie_low, tie_high, elsewhere, cancelled)
        async with backend.uow() as uow:
            repo = uow.fulfillment_orders
            everything = await repo.list(FulfillmentFilter(), 50, 0)
            company = await repo.list(FulfillmentFilter(company_id="cmp_1"), 50, 0)
            by_order = await repo.list(FulfillmentFilter(order_id="ord_3"), 50, 0)
            open_ones = await repo.list(
                FulfillmentFilter(company_id="cmp_1", status=FulfillmentStatus.READY_TO_PREPARE),
                50,
                0,
            )
            page = await repo.list(FulfillmentFilter(company_id="cmp_1"), 2, 1)
            nobody = await repo.list(FulfillmentFilter(order_id="ord_4", company_id="cmp_1"), 50, 0)
        assert [f.id for f in everything] == ["ful_d", "ful_e", "ful_c", "ful_b", "ful_a"]
        assert [f.id for f in company] == ["ful_e", "ful_c", "ful_b", "ful_a"]
        assert by_order == [tie_high]
        assert [f.id for f in open_ones] == ["ful_c", "ful_b", "ful_a"]
        assert [f.id for f in page] == ["ful_c", "ful_b"]
        assert nobody == []


class TestShipments:
    async def test_queries(self, backend: Backend) -> None:
        """for_fulfillment lists the order's shipments; find_by_tracking needs courier and
        number; in_flight lists the courier's ready or in-transit shipments with a number."""
        drafted = shipment("shp_1", tracking_number="TRK1", minutes=1)
        on_the_way = in_transit(shipment("shp_2", tracking_number="TRK2", minutes=2))
        packed = ready(shipment("shp_3", tracking_number="TRK3", minutes=3))
        unnumbered = ready(shipment("shp_4", tracking_number=None))
        delivered, _ = in_transit(shipment("shp_5", tracking_number="TRK5")).mark_delivered(at=AT)
        cancelled, _ = shipment("shp_6", tracking_number="TRK6").cancel(at=AT)
        elsewhere = in_transit(shipment("shp_7", "usps", "TRK1", fulfillment_id="ful_2"))
        await add_all(backend, _shipments, drafted, on_the_way, packed, unnumbered, delivered,
                      cancelled, elsewhere)  # fmt: skip
        async with backend.uow() as uow:
            mine = await uow.shipments.for_fulfillment("ful_1")
            assert await uow.shipments.for_fulfillment("ful_unknown") == []
            assert await uow.shipments.find_by_tracking("simulator", "TRK1") == drafted
            assert await uow.shipments.find_by_tracking("usps", "TRK1") == elsewhere
            assert await uow.shipments.find_by_tracking("usps", "TRK2") is None
            flying = await uow.shipments.in_flight("simulator")
            assert await uow.shipments.in_flight("usps") == [elsewhere]
            assert await uow.shipments.in_flight("dhl_express") == []
        assert sorted(s.id for s in mine) == [f"shp_{n}" for n in range(1, 7)]
        assert sorted(s.id for s in flying) == ["shp_2", "shp_3"]

    async def test_a_tracking_number_identifies_one_shipment_ever(self, backend: Backend) -> None:
        """A courier's tracking number is refused for a second shipment, at add or update,
        even when the first was cancelled; another courier may use the same number."""
        cancelled, _ = shipment("shp_1", tracking_number="TRK1").cancel(at=AT)
        await add_all(backend, _shipments, cancelled, shipment("shp_2"))
        with pytest.raises(ConflictError):
            await add_all(backend, _shipments, shipment("shp_3", tracking_number="TRK1"))
        numbered, _ = shipment("shp_2").update_details(
            destination=DESTINATION, courier_code="simulator", tracking_number="TRK1",
            tracking_url=None, at=AT,
        )  # fmt: skip
        with pytest.raises(ConflictError):
            await update(backend, _shipments, numbered)
        await add_all(backend, _shipments, shipment("shp_4", "usps", "TRK1"))
        async with backend.uow() as uow:
            assert (await uow.shipments.get("shp_2")).tracking_number is None


class TestTrackingEvents:
    async def test_recorded_keys_and_timeline(self, backend: Backend) -> None:
        """recorded_keys returns those of the keys the shipment holds; for_shipment is the
        shipment's timeline, oldest event first (then by recording time, then id)."""
        late = scan("shp_1", "IT-1", minutes=30, record_id="ste_d")
        early = scan("shp_1", "IT-2", minutes=10, recorded_minutes=50, record_id="ste_c")
        tie_b = scan("shp_1", "IT-3", minutes=20, recorded_minutes=5, record_id="ste_b")
        tie_a = scan("shp_1", "IT-4", minutes=20, recorded_minutes=5, record_id="ste_a")
        first_recorded = scan("shp_1", "IT-5", minutes=20, recorded_minutes=1, record_id="ste_e")
        other = scan("shp_2", "IT-6", minutes=0)
        await add_all(backend, _tracking, late, early, tie_b, tie_a, first_recorded, other)
        asked = {late.dedupe_key, other.dedupe_key, "UNKNOWN@2026"}
        async with backend.uow() as uow:
            assert await uow.tracking_events.recorded_keys("shp_1", asked) == {late.dedupe_key}
            assert await uow.tracking_events.recorded_keys("shp_1", []) == set()
            timeline = await uow.tracking_events.for_shipment("shp_1")
            assert await uow.tracking_events.for_shipment("shp_unknown") == []
        assert [r.id for r in timeline] == ["ste_c", "ste_e", "ste_a", "ste_b", "ste_d"]

    async def test_a_shipment_holds_each_dedupe_key_once(self, backend: Backend) -> None:
        """The same scan recorded twice for a shipment is a conflict; for another it is not."""
        await add_all(backend, _tracking, scan("shp_1", "IT-1", minutes=5))
        with pytest.raises(ConflictError):
            await add_all(backend, _tracking, scan("shp_1", "IT-1", minutes=5))
        await add_all(backend, _tracking, scan("shp_2", "IT-1", minutes=5))
        async with backend.uow() as uow:
            assert len(await uow.tracking_events.for_shipment("shp_1")) == 1
