"""The fulfillment context's two state machines, declared once as transition tables."""

from __future__ import annotations

from enum import StrEnum

from platform_core.shared.state_machine import StateMachine


class FulfillmentStatus(StrEnum):
    READY_TO_PREPARE = "ready_to_prepare"
    AWAITING_SHIPMENT = "awaiting_shipment"
    IN_TRANSIT = "in_transit"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class FulfillmentTrigger(StrEnum):
    SHIPMENT_DRAFTED = "shipment_drafted"
    SHIPMENT_CANCELLED = "shipment_cancelled"
    ALL_SHIPMENTS_CANCELLED = "all_shipments_cancelled"
    SHIPMENT_IN_TRANSIT = "shipment_in_transit"
    COMPLETE = "complete"
    CANCEL = "cancel"


_F, _FT = FulfillmentStatus, FulfillmentTrigger

# A fulfillment order's status follows its shipments: it awaits shipment as soon as one is
# drafted (its units are then spoken for), goes back to ready_to_prepare when every shipment
# is cancelled, and is in transit once any shipment has left. The self-loops say which
# shipment changes an order in that status accepts without moving.
FULFILLMENT_MACHINE: StateMachine[FulfillmentStatus, FulfillmentTrigger] = StateMachine(
    name="fulfillment_order",
    initial=_F.READY_TO_PREPARE,
    transitions={
        (_F.READY_TO_PREPARE, _FT.SHIPMENT_DRAFTED): _F.AWAITING_SHIPMENT,
        (_F.AWAITING_SHIPMENT, _FT.SHIPMENT_DRAFTED): _F.AWAITING_SHIPMENT,
        (_F.IN_TRANSIT, _FT.SHIPMENT_DRAFTED): _F.IN_TRANSIT,
        (_F.AWAITING_SHIPMENT, _FT.SHIPMENT_CANCELLED): _F.AWAITING_SHIPMENT,
        (_F.IN_TRANSIT, _FT.SHIPMENT_CANCELLED): _F.IN_TRANSIT,
        (_F.AWAITING_SHIPMENT, _FT.ALL_SHIPMENTS_CANCELLED): _F.READY_TO_PREPARE,
        (_F.AWAITING_SHIPMENT, _FT.SHIPMENT_IN_TRANSIT): _F.IN_TRANSIT,
        (_F.IN_TRANSIT, _FT.SHIPMENT_IN_TRANSIT): _F.IN_TRANSIT,
        (_F.IN_TRANSIT, _FT.COMPLETE): _F.COMPLETED,
        (_F.READY_TO_PREPARE, _FT.CANCEL): _F.CANCELLED,
        (_F.AWAITING_SHIPMENT, _FT.CANCEL): _F.CANCELLED,
    },
    terminal=frozenset({_F.COMPLETED, _F.CANCELLED}),
)


class ShipmentStatus(StrEnum):
    DRAFT = "draft"
    READY = "ready"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class ShipmentTrigger(StrEnum):
    UPDATE_DETAILS = "update_details"
    MARK_READY = "mark_ready"
    DISPATCH = "dispatch"
    DELIVER = "deliver"
    CANCEL = "cancel"


_S, _ST = ShipmentStatus, ShipmentTrigger

# Only forward moves exist, so no command and no courier event can move a shipment back.
# A parcel the courier reports delivered straight from `ready` (no in-transit scan) is
# delivered; a shipment can be cancelled or edited only while it is still with us.
SHIPMENT_MACHINE: StateMachine[ShipmentStatus, ShipmentTrigger] = StateMachine(
    name="shipment",
    initial=_S.DRAFT,
    transitions={
        (_S.DRAFT, _ST.UPDATE_DETAILS): _S.DRAFT,
        (_S.READY, _ST.UPDATE_DETAILS): _S.READY,
        (_S.DRAFT, _ST.MARK_READY): _S.READY,
        (_S.READY, _ST.DISPATCH): _S.IN_TRANSIT,
        (_S.READY, _ST.DELIVER): _S.DELIVERED,
        (_S.IN_TRANSIT, _ST.DELIVER): _S.DELIVERED,
        (_S.DRAFT, _ST.CANCEL): _S.CANCELLED,
        (_S.READY, _ST.CANCEL): _S.CANCELLED,
    },
    terminal=frozenset({_S.DELIVERED, _S.CANCELLED}),
)

# Shipments that still hold their allocation and may yet be cancelled.
OPEN_SHIPMENT_STATUSES: frozenset[ShipmentStatus] = frozenset({_S.DRAFT, _S.READY})
# Shipments that have left: their fulfillment order is in transit.
DEPARTED_SHIPMENT_STATUSES: frozenset[ShipmentStatus] = frozenset({_S.IN_TRANSIT, _S.DELIVERED})
