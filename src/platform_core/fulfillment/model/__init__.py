"""The fulfillment model: fulfillment orders, shipments, tracking, their machines and events.

Pure: attrs classes whose commands return the new aggregate and the events it caused.
"""

from platform_core.fulfillment.model.address import AddressSnapshot
from platform_core.fulfillment.model.courier import (
    Courier,
    CourierChanges,
    CourierWebhook,
    IngestionMode,
    WebhookAuth,
    WebhookStatus,
)
from platform_core.fulfillment.model.events import (
    FULFILLMENT_ORDER,
    SHIPMENT,
    SOURCE_MODULE,
    FulfillmentEvent,
)
from platform_core.fulfillment.model.fulfillment_order import (
    Allocation,
    FulfillmentItem,
    FulfillmentOrder,
    FulfillmentOrigin,
)
from platform_core.fulfillment.model.machines import (
    DEPARTED_SHIPMENT_STATUSES,
    FULFILLMENT_MACHINE,
    OPEN_SHIPMENT_STATUSES,
    SHIPMENT_MACHINE,
    FulfillmentStatus,
    FulfillmentTrigger,
    ShipmentStatus,
    ShipmentTrigger,
)
from platform_core.fulfillment.model.shipment import Shipment, ShipmentItem, TrackingUpdate
from platform_core.fulfillment.model.tracking import (
    ShipmentTrackingEvent,
    TrackingEvent,
    TrackingStatus,
    check_courier_code,
    check_tracking_number,
)

__all__ = [
    "DEPARTED_SHIPMENT_STATUSES",
    "FULFILLMENT_MACHINE",
    "FULFILLMENT_ORDER",
    "OPEN_SHIPMENT_STATUSES",
    "SHIPMENT",
    "SHIPMENT_MACHINE",
    "SOURCE_MODULE",
    "AddressSnapshot",
    "Allocation",
    "Courier",
    "CourierChanges",
    "CourierWebhook",
    "FulfillmentEvent",
    "FulfillmentItem",
    "FulfillmentOrder",
    "FulfillmentOrigin",
    "FulfillmentStatus",
    "FulfillmentTrigger",
    "IngestionMode",
    "Shipment",
    "ShipmentItem",
    "ShipmentStatus",
    "ShipmentTrackingEvent",
    "ShipmentTrigger",
    "TrackingEvent",
    "TrackingStatus",
    "TrackingUpdate",
    "WebhookAuth",
    "WebhookStatus",
    "check_courier_code",
    "check_tracking_number",
]
