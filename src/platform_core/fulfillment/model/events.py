"""Event types of the fulfillment context and the one way its events are built."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum

from platform_core.shared.events import DomainEvent, JsonValue

SOURCE_MODULE = "fulfillment"
FULFILLMENT_ORDER = "fulfillment_order"
SHIPMENT = "shipment"


class FulfillmentEvent(StrEnum):
    FULFILLMENT_CREATED = "fulfillment.created"
    FULFILLMENT_STATUS_CHANGED = "fulfillment.status_changed"
    FULFILLMENT_COMPLETED = "fulfillment.completed"
    SHIPMENT_DRAFTED = "shipment.drafted"
    SHIPMENT_UPDATED = "shipment.updated"
    SHIPMENT_READY = "shipment.ready"
    SHIPMENT_IN_TRANSIT = "shipment.in_transit"
    SHIPMENT_DELIVERED = "shipment.delivered"
    SHIPMENT_EVENT_RECORDED = "shipment.event_recorded"
    SHIPMENT_CANCELLED = "shipment.cancelled"
    COURIER_REGISTERED = "courier.registered"
    COURIER_UPDATED = "courier.updated"


def fulfillment_event(
    kind: FulfillmentEvent,
    aggregate_type: str,
    aggregate_id: str,
    at: datetime,
    payload: Mapping[str, JsonValue],
) -> DomainEvent:
    return DomainEvent(
        type=kind.value,
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        payload=payload,
        occurred_at=at,
        source_module=SOURCE_MODULE,
    )
