"""In-memory repositories of fulfillment orders, shipments and their tracking events."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from adapters.persistence.memory.store import InMemoryRepository, Transaction
from platform_core.fulfillment.model import (
    Courier,
    CourierWebhook,
    FulfillmentOrder,
    Shipment,
    ShipmentStatus,
    ShipmentTrackingEvent,
    WebhookStatus,
)
from platform_core.fulfillment.ports import FulfillmentFilter

_IN_FLIGHT = frozenset({ShipmentStatus.READY, ShipmentStatus.IN_TRANSIT})


class InMemoryFulfillmentOrderRepository(InMemoryRepository[FulfillmentOrder]):
    table = "fulfillment_orders"
    kind = "fulfillment_order"

    async def add(self, aggregate: FulfillmentOrder) -> FulfillmentOrder:
        added = await super().add(aggregate)
        # One per order, checked again at commit: two concurrent creations cannot both land.
        self._tx.claim_unique("fulfillment_order.order_id", aggregate.order_id, aggregate.id)
        return added

    async def find_by_order(self, order_id: str) -> FulfillmentOrder | None:
        found = self._where(lambda fulfillment: fulfillment.order_id == order_id)
        return found[0] if found else None

    async def list(
        self, filters: FulfillmentFilter, limit: int, offset: int
    ) -> list[FulfillmentOrder]:
        rows = self._where(lambda fulfillment: _matches(fulfillment, filters))
        rows.sort(key=lambda fulfillment: (fulfillment.created_at, fulfillment.id), reverse=True)
        return rows[offset : offset + limit]


def _matches(fulfillment: FulfillmentOrder, filters: FulfillmentFilter) -> bool:
    return (
        (filters.order_id is None or fulfillment.order_id == filters.order_id)
        and (filters.company_id is None or fulfillment.company_id == filters.company_id)
        and (filters.status is None or fulfillment.status is filters.status)
    )


class InMemoryShipmentRepository(InMemoryRepository[Shipment]):
    table = "shipments"
    kind = "shipment"

    async def add(self, aggregate: Shipment) -> Shipment:
        added = await super().add(aggregate)
        self._claim_tracking(aggregate)
        return added

    async def update(self, aggregate: Shipment) -> Shipment:
        stored = await super().update(aggregate)
        self._claim_tracking(aggregate)
        return stored

    async def for_fulfillment(self, fulfillment_order_id: str) -> list[Shipment]:
        rows = self._where(lambda shipment: shipment.fulfillment_order_id == fulfillment_order_id)
        return sorted(rows, key=lambda shipment: (shipment.created_at, shipment.id))

    async def find_by_tracking(self, courier_code: str, tracking_number: str) -> Shipment | None:
        found = self._where(
            lambda shipment: (
                shipment.courier_code == courier_code
                and shipment.tracking_number == tracking_number
            )
        )
        return found[0] if found else None

    async def in_flight(
        self, courier_code: str, *, active_since: datetime | None = None
    ) -> list[Shipment]:
        rows = self._where(
            lambda shipment: (
                shipment.courier_code == courier_code
                and shipment.tracking_number is not None
                and shipment.status in _IN_FLIGHT
                and (active_since is None or last_news(shipment) >= active_since)
            )
        )
        return sorted(rows, key=lambda shipment: (shipment.created_at, shipment.id))

    async def in_flight_couriers(self) -> list[str]:
        rows = self._where(
            lambda shipment: shipment.tracking_number is not None and shipment.status in _IN_FLIGHT
        )
        return sorted({shipment.courier_code for shipment in rows if shipment.courier_code})

    def _claim_tracking(self, shipment: Shipment) -> None:
        if shipment.courier_code is not None and shipment.tracking_number is not None:
            self._tx.claim_unique(
                "shipment.tracking_number",
                f"{shipment.courier_code}:{shipment.tracking_number}",
                shipment.id,
            )


class InMemoryTrackingEventRepository(InMemoryRepository[ShipmentTrackingEvent]):
    table = "shipment_tracking_events"
    kind = "shipment_tracking_event"

    async def add(self, aggregate: ShipmentTrackingEvent) -> ShipmentTrackingEvent:
        added = await super().add(aggregate)
        # Two deliveries of one webhook racing each other record the scan once.
        self._tx.claim_unique(
            "shipment_tracking_event.dedupe_key",
            f"{aggregate.shipment_id}:{aggregate.dedupe_key}",
            aggregate.id,
        )
        return added

    async def recorded_keys(self, shipment_id: str, keys: Collection[str]) -> set[str]:
        wanted = set(keys)
        return {
            row.dedupe_key
            for row in self._where(lambda row: row.shipment_id == shipment_id)
            if row.dedupe_key in wanted
        }

    async def for_shipment(self, shipment_id: str) -> list[ShipmentTrackingEvent]:
        rows = self._where(lambda row: row.shipment_id == shipment_id)
        return sorted(rows, key=lambda row: (row.event.occurred_at, row.recorded_at, row.id))


def last_news(shipment: Shipment) -> datetime:
    """When the shipment last showed a sign of life: its latest scan, else when it left or
    was made ready, else when it was drafted."""
    return (
        shipment.last_tracking_at
        or shipment.in_transit_at
        or shipment.ready_at
        or shipment.created_at
    )


class InMemoryCourierRepository(InMemoryRepository[Courier]):
    table = "couriers"
    kind = "courier"

    async def add(self, aggregate: Courier) -> Courier:
        added = await super().add(aggregate)
        self._tx.claim_unique("courier.code", aggregate.code, aggregate.id)
        return added

    async def by_code(self, code: str) -> Courier | None:
        found = self._where(lambda courier: courier.code == code)
        return found[0] if found else None

    async def all(self) -> list[Courier]:
        return sorted(self._where(lambda _: True), key=lambda courier: courier.code)


class InMemoryCourierWebhookRepository(InMemoryRepository[CourierWebhook]):
    table = "courier_webhooks"
    kind = "courier_webhook"

    async def unprocessed(self, received_before: datetime, limit: int) -> list[CourierWebhook]:
        rows = self._where(
            lambda hook: (
                hook.status is WebhookStatus.RECEIVED and hook.received_at < received_before
            )
        )
        rows.sort(key=lambda hook: (hook.received_at, hook.id))
        return rows[:limit]


class FulfillmentTables:
    """The fulfillment context's repositories, mixed into the in-memory unit of work."""

    _tx: Transaction

    @property
    def fulfillment_orders(self) -> InMemoryFulfillmentOrderRepository:
        return InMemoryFulfillmentOrderRepository(self._tx)

    @property
    def shipments(self) -> InMemoryShipmentRepository:
        return InMemoryShipmentRepository(self._tx)

    @property
    def tracking_events(self) -> InMemoryTrackingEventRepository:
        return InMemoryTrackingEventRepository(self._tx)

    @property
    def couriers(self) -> InMemoryCourierRepository:
        return InMemoryCourierRepository(self._tx)

    @property
    def courier_webhooks(self) -> InMemoryCourierWebhookRepository:
        return InMemoryCourierWebhookRepository(self._tx)
