"""Tables, mappers and repositories of fulfillment orders, shipments and tracking events.

Allocation limits hold in the schema too: a fulfillment item's allocated quantity never
exceeds its ordered quantity, whatever a concurrent writer does.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
)

from adapters.persistence.sql.mapper import ChildMapper, RowMapper
from adapters.persistence.sql.metadata import metadata
from adapters.persistence.sql.repository import SqlRepository
from adapters.persistence.sql.session import SqlSession
from adapters.persistence.sql.types import Instant, Json
from platform_core.fulfillment.model import (
    Courier,
    CourierWebhook,
    FulfillmentItem,
    FulfillmentOrder,
    Shipment,
    ShipmentItem,
    ShipmentStatus,
    ShipmentTrackingEvent,
    WebhookStatus,
)
from platform_core.fulfillment.ports import FulfillmentFilter

fulfillment_orders = Table(
    "fulfillment_orders",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("order_id", String(64), nullable=False, unique=True),
    Column("company_id", String(64), nullable=False),
    Column("origin", String(20), nullable=False),
    Column("status", String(30), nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("completed_at", Instant),
    Column("cancelled_at", Instant),
    Column("cancellation_reason", Text),
    Column("version", Integer, nullable=False),
    Index(None, "status"),
    Index(None, "company_id", "created_at"),
)

fulfillment_items = Table(
    "fulfillment_items",
    metadata,
    Column(
        "fulfillment_order_id",
        String(64),
        ForeignKey("fulfillment_orders.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("position", Integer, nullable=False),
    Column("id", String(64), primary_key=True),
    Column("order_item_id", String(64), nullable=False),
    Column("product_id", String(64), nullable=False),
    Column("description", Text, nullable=False),
    Column("quantity_ordered", Integer, nullable=False),
    Column("quantity_allocated", Integer, nullable=False),
    Column("automation_scenario", String(50)),
    CheckConstraint(
        "quantity_allocated >= 0 AND quantity_allocated <= quantity_ordered",
        name="allocated_within_ordered",
    ),
    Index(None, "fulfillment_order_id", "position"),
)

shipments = Table(
    "shipments",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("fulfillment_order_id", String(64), nullable=False),
    Column("order_id", String(64), nullable=False),
    Column("company_id", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("destination", Json, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("courier_code", String(40)),
    Column("tracking_number", String(64)),
    Column("tracking_url", Text),
    Column("ready_at", Instant),
    Column("in_transit_at", Instant),
    Column("delivered_at", Instant),
    Column("cancelled_at", Instant),
    Column("cancellation_reason", Text),
    Column("returned_at", Instant),
    Column("last_tracking_status", String(30)),
    Column("last_tracking_at", Instant),
    Column("version", Integer, nullable=False),
    UniqueConstraint("courier_code", "tracking_number"),
    Index(None, "fulfillment_order_id", "created_at"),
    Index(None, "order_id"),
    Index(None, "status", "courier_code"),
)

shipment_items = Table(
    "shipment_items",
    metadata,
    Column(
        "shipment_id", String(64), ForeignKey("shipments.id", ondelete="CASCADE"), nullable=False
    ),
    Column("position", Integer, nullable=False),
    Column("id", String(64), primary_key=True),
    Column("fulfillment_item_id", String(64), nullable=False),
    Column("order_item_id", String(64), nullable=False),
    Column("product_id", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("automation_scenario", String(50)),
    CheckConstraint("quantity > 0", name="positive_quantity"),
    Index(None, "shipment_id", "position"),
)

shipment_tracking_events = Table(
    "shipment_tracking_events",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("shipment_id", String(64), nullable=False),
    # The carrier's event whole, its time with the offset the carrier reported.
    Column("event", Json, nullable=False),
    Column("dedupe_key", String(255), nullable=False),
    Column("status", String(30), nullable=False),
    Column("occurred_at", Instant, nullable=False),
    Column("recorded_at", Instant, nullable=False),
    Column("version", Integer, nullable=False),
    UniqueConstraint("shipment_id", "dedupe_key"),
    Index(None, "shipment_id", "occurred_at", "recorded_at"),
)

couriers = Table(
    "couriers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("code", String(40), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("adapter", String(40), nullable=False),
    Column("tracking_url_template", Text, nullable=False),
    Column("ingestion_mode", String(20), nullable=False),
    Column("polling_interval_seconds", Integer, nullable=False),
    Column("poll_batch_size", Integer, nullable=False),
    Column("requests_per_minute", Integer),
    Column("stale_after_days", Integer, nullable=False),
    Column("webhook_auth", String(20), nullable=False),
    Column("webhook_header", String(64), nullable=False),
    # Credentials and webhook secrets; the API shows only their names.
    Column("metadata", Json, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("updated_at", Instant, nullable=False),
    Column("next_poll_at", Instant),
    Column("last_polled_at", Instant),
    Column("poll_failures", Integer, nullable=False),
    Column("last_poll_error", Text),
    Column("version", Integer, nullable=False),
)

courier_webhooks = Table(
    "courier_webhooks",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("courier_code", String(40), nullable=False),
    # The body exactly as received, so a delivery can be processed again after a fix.
    Column("body", Text, nullable=False),
    Column("content_type", String(200)),
    Column("received_at", Instant, nullable=False),
    Column("correlation_id", String(128)),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("processed_at", Instant),
    Column("error", Text),
    Column("recorded", Integer, nullable=False),
    Column("duplicates", Integer, nullable=False),
    Column("unmatched", Json, nullable=False),
    Column("version", Integer, nullable=False),
    Index(None, "status", "received_at"),
    Index(None, "courier_code", "received_at"),
)

IN_FLIGHT = (ShipmentStatus.READY.value, ShipmentStatus.IN_TRANSIT.value)


def _tracking_columns(record: ShipmentTrackingEvent) -> dict[str, Any]:
    return {
        "dedupe_key": record.dedupe_key,
        "status": record.event.status.value,
        "occurred_at": record.event.occurred_at,
    }


class SqlFulfillmentOrderRepository(SqlRepository[FulfillmentOrder]):
    mapper = RowMapper(
        FulfillmentOrder,
        fulfillment_orders,
        children={"items": ChildMapper(FulfillmentItem, fulfillment_items, "fulfillment_order_id")},
    )
    kind = "fulfillment_order"

    def unique_details(self, aggregate: FulfillmentOrder) -> dict[str, Any]:
        return {"order_id": aggregate.order_id}

    async def find_by_order(self, order_id: str) -> FulfillmentOrder | None:
        return await self._first(fulfillment_orders.c.order_id == order_id)

    async def list(
        self, filters: FulfillmentFilter, limit: int, offset: int
    ) -> list[FulfillmentOrder]:
        c = fulfillment_orders.c
        conditions = []
        if filters.order_id is not None:
            conditions.append(c.order_id == filters.order_id)
        if filters.company_id is not None:
            conditions.append(c.company_id == filters.company_id)
        if filters.status is not None:
            conditions.append(c.status == filters.status.value)
        return await self._where(
            *conditions,
            order_by=(c.created_at.desc(), c.id.desc()),
            limit=limit,
            offset=offset,
        )


class SqlShipmentRepository(SqlRepository[Shipment]):
    mapper = RowMapper(
        Shipment,
        shipments,
        children={"items": ChildMapper(ShipmentItem, shipment_items, "shipment_id")},
    )
    kind = "shipment"

    def unique_details(self, aggregate: Shipment) -> dict[str, Any]:
        return {
            "courier_code": aggregate.courier_code,
            "tracking_number": aggregate.tracking_number,
        }

    async def for_fulfillment(self, fulfillment_order_id: str) -> list[Shipment]:
        return await self._where(
            shipments.c.fulfillment_order_id == fulfillment_order_id,
            order_by=(shipments.c.created_at, shipments.c.id),
        )

    async def find_by_tracking(self, courier_code: str, tracking_number: str) -> Shipment | None:
        return await self._first(
            shipments.c.courier_code == courier_code,
            shipments.c.tracking_number == tracking_number,
        )

    async def in_flight(
        self, courier_code: str, *, active_since: datetime | None = None
    ) -> list[Shipment]:
        c = shipments.c
        conditions = [
            c.courier_code == courier_code,
            c.tracking_number.is_not(None),
            c.status.in_(IN_FLIGHT),
        ]
        if active_since is not None:
            last_news = func.coalesce(c.last_tracking_at, c.in_transit_at, c.ready_at, c.created_at)
            conditions.append(last_news >= active_since)
        return await self._where(*conditions, order_by=(c.created_at, c.id))

    async def in_flight_couriers(self) -> list[str]:
        statement = (
            select(shipments.c.courier_code)
            .where(
                shipments.c.courier_code.is_not(None),
                shipments.c.tracking_number.is_not(None),
                shipments.c.status.in_(IN_FLIGHT),
            )
            .distinct()
            .order_by(shipments.c.courier_code)
        )
        result = await self._session.execute(statement)
        return [str(code) for code in result.scalars()]


class SqlTrackingEventRepository(SqlRepository[ShipmentTrackingEvent]):
    mapper = RowMapper(ShipmentTrackingEvent, shipment_tracking_events, derived=_tracking_columns)
    kind = "shipment_tracking_event"

    def unique_details(self, aggregate: ShipmentTrackingEvent) -> dict[str, Any]:
        return {"shipment_id": aggregate.shipment_id, "dedupe_key": aggregate.dedupe_key}

    async def recorded_keys(self, shipment_id: str, keys: Collection[str]) -> set[str]:
        if not keys:
            return set()
        statement = select(shipment_tracking_events.c.dedupe_key).where(
            shipment_tracking_events.c.shipment_id == shipment_id,
            shipment_tracking_events.c.dedupe_key.in_(list(keys)),
        )
        return set((await self._session.execute(statement)).scalars())

    async def for_shipment(self, shipment_id: str) -> list[ShipmentTrackingEvent]:
        c = shipment_tracking_events.c
        return await self._where(
            c.shipment_id == shipment_id, order_by=(c.occurred_at, c.recorded_at, c.id)
        )


class SqlCourierRepository(SqlRepository[Courier]):
    mapper = RowMapper(Courier, couriers)
    kind = "courier"

    def unique_details(self, aggregate: Courier) -> dict[str, Any]:
        return {"code": aggregate.code}

    async def by_code(self, code: str) -> Courier | None:
        return await self._first(couriers.c.code == code)

    async def all(self) -> list[Courier]:
        return await self._where(order_by=(couriers.c.code,))


class SqlCourierWebhookRepository(SqlRepository[CourierWebhook]):
    mapper = RowMapper(CourierWebhook, courier_webhooks)
    kind = "courier_webhook"

    async def unprocessed(self, received_before: datetime, limit: int) -> list[CourierWebhook]:
        c = courier_webhooks.c
        return await self._where(
            c.status == WebhookStatus.RECEIVED.value,
            c.received_at < received_before,
            order_by=(c.received_at, c.id),
            limit=limit,
        )


class FulfillmentTables:
    """The fulfillment repositories over the unit of work's session."""

    _session: SqlSession

    @property
    def fulfillment_orders(self) -> SqlFulfillmentOrderRepository:
        return SqlFulfillmentOrderRepository(self._session)

    @property
    def shipments(self) -> SqlShipmentRepository:
        return SqlShipmentRepository(self._session)

    @property
    def tracking_events(self) -> SqlTrackingEventRepository:
        return SqlTrackingEventRepository(self._session)

    @property
    def couriers(self) -> SqlCourierRepository:
        return SqlCourierRepository(self._session)

    @property
    def courier_webhooks(self) -> SqlCourierWebhookRepository:
        return SqlCourierWebhookRepository(self._session)
