"""Example data and wiring for the fulfillment tests: real in-memory adapters, no mocks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import attrs

from adapters.clock import FixedClock
from adapters.couriers.simulator import SIMULATOR_COURIER_CODE, SimulatorCourierGateway
from adapters.ids import SequentialIdGenerator
from adapters.persistence.memory.fulfillment import FulfillmentTables
from adapters.persistence.memory.store import InMemoryDatabase
from adapters.persistence.memory.uow import InMemoryUnitOfWorkBase
from platform_core.fulfillment.couriers import RegisterCourier
from platform_core.fulfillment.model import (
    AddressSnapshot,
    Allocation,
    Courier,
    FulfillmentItem,
    FulfillmentOrder,
    Shipment,
    TrackingEvent,
    TrackingStatus,
)
from platform_core.fulfillment.service import FulfillmentLineSpec
from platform_core.shared.scenarios import AutomationScenario

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
COURIER = SIMULATOR_COURIER_CODE
SECRET = "whsec-simulator-test"


class FulfillmentUnitOfWorkForTests(FulfillmentTables, InMemoryUnitOfWorkBase):
    """The fulfillment mixin composed the way the application's in-memory unit of work is."""


class SlowCommitUnitOfWork(FulfillmentUnitOfWorkForTests):
    """Yields to the event loop before committing, as a database round trip would, so
    concurrent use cases really interleave between their reads and their commits."""

    async def commit(self) -> None:
        await asyncio.sleep(0)
        await super().commit()


@attrs.define
class FulfillmentDepsForTests:
    """Satisfies FulfillmentDeps with real in-memory adapters and the simulated courier."""

    clock: FixedClock
    ids: SequentialIdGenerator
    db: InMemoryDatabase
    couriers: SimulatorCourierGateway
    slow_commits: bool = False

    def uow(self) -> FulfillmentUnitOfWorkForTests:
        kind = SlowCommitUnitOfWork if self.slow_commits else FulfillmentUnitOfWorkForTests
        return kind(self.db, self.ids)


def make_deps() -> FulfillmentDepsForTests:
    clock = FixedClock(START)
    simulator = SimulatorCourierGateway(secret=SECRET, clock=clock)
    db = InMemoryDatabase()
    register_directly(db, simulator.registration())
    return FulfillmentDepsForTests(
        clock=clock, ids=SequentialIdGenerator(), db=db, couriers=simulator
    )


def register_directly(db: InMemoryDatabase, registration: RegisterCourier) -> Courier:
    """Put a courier in the registry without a use case (the deps are built synchronously)."""
    fields = attrs.asdict(registration, recurse=False)
    del fields["correlation_id"]
    courier, _ = Courier.register(courier_id=f"cou-{registration.code}", at=START, **fields)
    db.table("couriers")[courier.id] = courier
    return courier


def destination(name: str = "Northwind Sensors") -> AddressSnapshot:
    return AddressSnapshot(
        name=name,
        lines=("100 King Street West",),
        city="Toronto",
        region="ON",
        postal_code="M5X 1A9",
        country="CA",
    )


def line_specs(*quantities: int) -> tuple[FulfillmentLineSpec, ...]:
    """One order item per quantity; the first one provisions a sensor once delivered."""
    return tuple(
        FulfillmentLineSpec(
            order_item_id=f"oit_{index}",
            product_id=f"prd_{index}",
            description=f"Sensor model {index}",
            quantity=quantity,
            automation_scenario=AutomationScenario.SENSOR_VENDOR_FIRST_TIME if index == 1 else None,
        )
        for index, quantity in enumerate(quantities, start=1)
    )


def new_fulfillment(*quantities: int) -> FulfillmentOrder:
    """A fresh fulfillment order whose items ``fli_1``, ``fli_2``... have these quantities."""
    items = [
        FulfillmentItem(
            id=f"fli_{spec.order_item_id[4:]}",
            order_item_id=spec.order_item_id,
            product_id=spec.product_id,
            description=spec.description,
            quantity_ordered=spec.quantity,
            automation_scenario=spec.automation_scenario,
        )
        for spec in line_specs(*quantities)
    ]
    fulfillment, _ = FulfillmentOrder.create(
        fulfillment_order_id="ful_1", order_id="ord_1", company_id="cmp_1", items=items, at=START
    )
    return fulfillment


def draft(
    fulfillment: FulfillmentOrder,
    *lines: tuple[str, int],
    shipment_id: str = "shp_1",
    tracking_number: str | None = "TRK0001",
) -> tuple[FulfillmentOrder, Shipment]:
    """Draft a shipment of (fulfillment item id, quantity) lines with the simulated courier."""
    fulfillment, shipment, _ = fulfillment.draft_shipment(
        shipment_id=shipment_id,
        item_ids=[f"{shipment_id}_item_{index}" for index in range(len(lines))],
        allocations=[Allocation(item_id, quantity) for item_id, quantity in lines],
        destination=destination(),
        courier_code=COURIER if tracking_number else None,
        tracking_number=tracking_number,
        at=START,
    )
    return fulfillment, shipment


def scan(
    status: TrackingStatus,
    minutes: int,
    *,
    tracking_number: str = "TRK0001",
    raw_code: str | None = None,
) -> TrackingEvent:
    """A simulated courier event `minutes` after START."""
    return TrackingEvent(
        courier_code=COURIER,
        tracking_number=tracking_number,
        status=status,
        raw_code=raw_code or status.value.upper(),
        raw_text=status.value.replace("_", " "),
        occurred_at=START + timedelta(minutes=minutes),
    )
