"""Ports of the fulfillment context: its repositories, unit of work, deps and couriers."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Protocol

import attrs

from platform_core.fulfillment.model import (
    FulfillmentOrder,
    FulfillmentStatus,
    Shipment,
    ShipmentTrackingEvent,
    TrackingEvent,
)
from platform_core.orders.ports import OrderRepository
from platform_core.ports.core import Repository, ServiceDeps, UnitOfWork


@attrs.frozen
class FulfillmentFilter:
    """Filters of the fulfillment order list; `None` means any."""

    order_id: str | None = None
    company_id: str | None = None
    status: FulfillmentStatus | None = None


class FulfillmentOrderRepository(Repository[FulfillmentOrder], Protocol):
    """Fulfillment orders; an order has at most one (adding a second for it is a conflict)."""

    async def find_by_order(self, order_id: str) -> FulfillmentOrder | None: ...

    async def list(
        self, filters: FulfillmentFilter, limit: int, offset: int
    ) -> list[FulfillmentOrder]:
        """Those matching every filter, newest first (ties by id, also newest first)."""
        ...


class ShipmentRepository(Repository[Shipment], Protocol):
    """Shipments; a courier code and tracking number identify at most one shipment, ever."""

    async def for_fulfillment(self, fulfillment_order_id: str) -> list[Shipment]: ...

    async def find_by_tracking(
        self, courier_code: str, tracking_number: str
    ) -> Shipment | None: ...

    async def in_flight(self, courier_code: str) -> list[Shipment]:
        """Ready or in-transit shipments of the courier that have a tracking number: the
        ones worth polling."""
        ...

    async def in_flight_couriers(self) -> list[str]:
        """The courier codes (sorted, each once) of every shipment `in_flight` would list:
        the couriers a tracking refresh has to ask."""
        ...


class TrackingEventRepository(Repository[ShipmentTrackingEvent], Protocol):
    """Courier events recorded per shipment; a shipment holds each dedupe key at most once."""

    async def recorded_keys(self, shipment_id: str, keys: Collection[str]) -> set[str]:
        """Those of `keys` already recorded for the shipment."""
        ...

    async def for_shipment(self, shipment_id: str) -> list[ShipmentTrackingEvent]:
        """The shipment's courier timeline, oldest event first."""
        ...


class FulfillmentUnitOfWork(UnitOfWork, Protocol):
    """One transaction over fulfillment orders, shipments and their tracking events."""

    @property
    def fulfillment_orders(self) -> FulfillmentOrderRepository: ...

    @property
    def shipments(self) -> ShipmentRepository: ...

    @property
    def tracking_events(self) -> TrackingEventRepository: ...


class ManualFulfillmentUnitOfWork(FulfillmentUnitOfWork, Protocol):
    """A fulfillment transaction that can also read orders: a fulfillment order made by hand
    must be for an existing order of its company."""

    @property
    def orders(self) -> OrderRepository: ...


class CourierGateway(Protocol):
    """Talks to couriers: turns their webhooks and tracking APIs into normalised events.

    `parse_webhook` raises AuthenticationError on a bad signature and ValidationError on a
    payload it cannot read; an unknown courier code is a ValidationError everywhere.
    """

    def parse_webhook(
        self, courier_code: str, headers: Mapping[str, str], body: bytes
    ) -> list[TrackingEvent]: ...

    async def poll(
        self, courier_code: str, tracking_numbers: Sequence[str]
    ) -> list[TrackingEvent]: ...

    def tracking_url(self, courier_code: str, tracking_number: str) -> str: ...


class FulfillmentDeps(ServiceDeps, Protocol):
    """What fulfillment use cases need: clock, ids, a unit of work and the couriers."""

    def uow(self) -> FulfillmentUnitOfWork: ...

    @property
    def couriers(self) -> CourierGateway: ...


class ManualFulfillmentDeps(FulfillmentDeps, Protocol):
    """What creating a fulfillment order by hand needs: the fulfillment deps, with orders."""

    def uow(self) -> ManualFulfillmentUnitOfWork: ...
