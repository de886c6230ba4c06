"""Ports of the fulfillment context: its repositories, unit of work, deps and couriers."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol

import attrs

from platform_core.fulfillment.model import (
    Courier,
    CourierWebhook,
    FulfillmentOrder,
    FulfillmentStatus,
    Shipment,
    ShipmentTrackingEvent,
    TrackingEvent,
)
from platform_core.orders.ports import OrderRepository
from platform_core.ports.core import JobQueue, Repository, ServiceDeps, UnitOfWork


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

    async def in_flight(
        self, courier_code: str, *, active_since: datetime | None = None
    ) -> list[Shipment]:
        """Ready or in-transit shipments of the courier that have a tracking number: the
        ones worth polling; with `active_since`, only those with news (a scan, or being made
        ready) since then, so long-silent parcels stop being polled. Oldest first."""
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


class CourierRepository(Repository[Courier], Protocol):
    """The courier registry; a code names at most one courier."""

    async def by_code(self, code: str) -> Courier | None: ...

    async def all(self) -> list[Courier]:
        """Every courier, by code."""
        ...


class CourierWebhookRepository(Repository[CourierWebhook], Protocol):
    """Raw courier webhook deliveries."""

    async def unprocessed(self, received_before: datetime, limit: int) -> list[CourierWebhook]:
        """Deliveries still `received` that arrived before the instant, oldest first: those
        whose processing job seems lost."""
        ...


class FulfillmentUnitOfWork(UnitOfWork, Protocol):
    """One transaction over fulfillment orders, shipments, their tracking events, and the
    courier registry."""

    @property
    def fulfillment_orders(self) -> FulfillmentOrderRepository: ...

    @property
    def shipments(self) -> ShipmentRepository: ...

    @property
    def tracking_events(self) -> TrackingEventRepository: ...

    @property
    def couriers(self) -> CourierRepository: ...

    @property
    def courier_webhooks(self) -> CourierWebhookRepository: ...


class ManualFulfillmentUnitOfWork(FulfillmentUnitOfWork, Protocol):
    """A fulfillment transaction that can also read orders: a fulfillment order made by hand
    must be for an existing order of its company."""

    @property
    def orders(self) -> OrderRepository: ...


@attrs.frozen
class CourierPoll:
    """What one poll of a courier gave: the events it returned and the tracking numbers it
    did not know."""

    events: tuple[TrackingEvent, ...] = ()
    not_found: tuple[str, ...] = ()


class CourierGateway(Protocol):
    """Talks to couriers through the integration each registry entry names (`adapter`).

    `verify_webhook` raises AuthenticationError unless the request proves it comes from the
    courier (checked in constant time); `parse_webhook` raises ValidationError for a body it
    cannot read; `poll` raises ExternalServiceError (`retryable` as the failure allows) and
    RateLimited-like errors carry `retry_after` in their details; `check_tracking_number`
    raises ValidationError for a number the courier cannot have issued.
    """

    def supports(self, adapter: str) -> bool: ...

    def verify_webhook(self, courier: Courier, headers: Mapping[str, str], body: bytes) -> None: ...

    def parse_webhook(self, courier: Courier, body: bytes) -> list[TrackingEvent]: ...

    async def poll(self, courier: Courier, tracking_numbers: Sequence[str]) -> CourierPoll: ...

    def check_tracking_number(self, courier: Courier, tracking_number: str) -> None: ...


class FulfillmentDeps(ServiceDeps, Protocol):
    """What fulfillment use cases need: clock, ids, a unit of work and the couriers."""

    def uow(self) -> FulfillmentUnitOfWork: ...

    @property
    def couriers(self) -> CourierGateway: ...


class CourierIngestDeps(FulfillmentDeps, Protocol):
    """What taking in courier webhooks and polls needs: the fulfillment deps and the queue
    that processes them."""

    @property
    def queue(self) -> JobQueue: ...


class ManualFulfillmentDeps(FulfillmentDeps, Protocol):
    """What creating a fulfillment order by hand needs: the fulfillment deps, with orders."""

    def uow(self) -> ManualFulfillmentUnitOfWork: ...
