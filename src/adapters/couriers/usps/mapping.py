"""USPS Tracking v3 event codes and status categories, as the core's tracking statuses.

The codes are USPS's product-tracking event codes (the same ones Web Tools used). A code not
listed here is `unknown`; the parser keeps the raw code and text either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from platform_core.fulfillment.model import TrackingStatus

_PRE = TrackingStatus.PRE_TRANSIT
_TRANSIT = TrackingStatus.IN_TRANSIT
_OUT = TrackingStatus.OUT_FOR_DELIVERY
_DELIVERED = TrackingStatus.DELIVERED
_EXCEPTION = TrackingStatus.EXCEPTION
_RETURNED = TrackingStatus.RETURNED

EVENT_CODES: Mapping[str, TrackingStatus] = MappingProxyType(
    {
        # Before USPS holds the item.
        "GX": _PRE,  # Shipping label created, USPS awaiting item
        "MA": _PRE,  # Manifest acknowledgement (electronic shipping info received)
        # Accepted and moving.
        "03": _TRANSIT,  # Accepted or picked up (USPS in possession of item)
        "PA": _TRANSIT,  # Passive acceptance ("Shipment acceptance")
        "TM": _TRANSIT,  # Truck manifest ("Shipment acceptance")
        "06": _TRANSIT,  # Forwarded
        "07": _TRANSIT,  # Arrival at unit (arrived at post office)
        "08": _TRANSIT,  # Missent: USPS reroutes it without anyone's help
        "10": _TRANSIT,  # Processed (arrived at regional origin facility)
        "14": _TRANSIT,  # Arrival at pickup point
        "16": _TRANSIT,  # Available for pickup
        "19": _TRANSIT,  # Destination centre eVS arrival
        "41": _TRANSIT,  # Received at opening unit
        "42": _TRANSIT,  # USPS handoff to shipping partner
        "71": _TRANSIT,  # Rescheduled to next delivery day
        "80": _TRANSIT,  # Picked up by shipping partner
        "81": _TRANSIT,  # Arrived at shipping partner facility
        "82": _TRANSIT,  # Departed shipping partner facility
        "A1": _TRANSIT,  # Arrived at USPS regional facility
        "T1": _TRANSIT,  # Departed USPS regional facility
        "TL": _TRANSIT,  # In transit to next facility
        "L1": _TRANSIT,  # Departed USPS facility
        "EF": _TRANSIT,  # Departed sort facility
        "SF": _TRANSIT,  # Departed post office
        "PC": _TRANSIT,  # Sorting / processing complete
        "OF": _OUT,  # Out for delivery
        "01": _DELIVERED,  # Delivered
        "17": _DELIVERED,  # Picked up by agent
        "43": _DELIVERED,  # Picked up (by the addressee, at the post office)
        # Delivery could not happen: someone has to act.
        "02": _EXCEPTION,
        "04": _EXCEPTION,
        "05": _EXCEPTION,
        "11": _EXCEPTION,
        "15": _EXCEPTION,
        "30": _EXCEPTION,
        "51": _EXCEPTION,
        "52": _EXCEPTION,
        "53": _EXCEPTION,
        "54": _EXCEPTION,
        "55": _EXCEPTION,
        "56": _EXCEPTION,
        # Return to sender, with USPS's reason when it gives one.
        "09": _RETURNED,
        "21": _RETURNED,
        "22": _RETURNED,
        "23": _RETURNED,
        "24": _RETURNED,
        "25": _RETURNED,
        "26": _RETURNED,
        "27": _RETURNED,
        "28": _RETURNED,
        "29": _RETURNED,
        "31": _RETURNED,
        "44": _RETURNED,  # Customer (sender) recall
    }
)

# Why an exception or return happened, in words an ops person can act on.
EXCEPTION_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "02": "Delivery attempted, notice left",
        "04": "Refused by the recipient",
        "05": "Undeliverable as addressed",
        "11": "Dead letter: neither deliverable nor returnable",
        "15": "Mis-shipped",
        "30": "Delivery attempted: no access to the delivery location",
        "51": "Business closed",
        "52": "Delivery attempted, notice left",
        "53": "Delivery attempted: receptacle blocked",
        "54": "Delivery attempted: receptacle full or item oversized",
        "55": "Delivery attempted: no secure location available",
        "56": "Delivery attempted: no authorized recipient available",
        "09": "Returned to sender",
        "21": "Returned to sender: no such number",
        "22": "Returned to sender: insufficient address",
        "23": "Returned to sender: moved, left no address",
        "24": "Returned to sender: forwarding expired",
        "25": "Returned to sender: addressee unknown",
        "26": "Returned to sender: vacant",
        "27": "Returned to sender: unclaimed",
        "28": "Returned to sender: addressee deceased",
        "29": "Returned to sender",
        "31": "Returned to sender: not picked up",
        "44": "Recalled by the sender",
    }
)

# The tracking object's `statusCategory`, lower-cased: used only for the newest event when
# its code is not in EVENT_CODES (USPS adds codes faster than its documents list them).
STATUS_CATEGORIES: Mapping[str, TrackingStatus] = MappingProxyType(
    {
        "pre-shipment": _PRE,
        "pre shipment": _PRE,
        "label created": _PRE,
        "accepted": _TRANSIT,
        "in transit": _TRANSIT,
        "in-transit": _TRANSIT,
        "available for pickup": _TRANSIT,
        "out for delivery": _OUT,
        "delivered": _DELIVERED,
        "alert": _EXCEPTION,
        "delivery attempt": _EXCEPTION,
        "return to sender": _RETURNED,
        "returned": _RETURNED,
    }
)


def classify(event_code: str) -> tuple[TrackingStatus, str | None]:
    """The status of one USPS event code and, for exceptions and returns, the reason."""
    status = EVENT_CODES.get(event_code.strip().upper(), TrackingStatus.UNKNOWN)
    return status, EXCEPTION_REASONS.get(event_code.strip().upper())


def classify_category(status_category: str | None) -> TrackingStatus:
    """The status a tracking object's `statusCategory` names, `unknown` if none."""
    if not status_category:
        return TrackingStatus.UNKNOWN
    return STATUS_CATEGORIES.get(status_category.strip().lower(), TrackingStatus.UNKNOWN)
