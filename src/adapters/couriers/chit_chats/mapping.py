"""Chit Chats tracking data as tables: shipment statuses, tracking-event types, and the event
titles that stand in for a type where the public tracking JSON leaves it out.

Anything not in these tables maps to ``unknown``, its raw code and text kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import attrs

from platform_core.fulfillment.model import TrackingStatus


@attrs.frozen
class StatusMeaning:
    status: TrackingStatus
    exception_reason: str | None = None


_PRE = StatusMeaning(TrackingStatus.PRE_TRANSIT)
_TRANSIT = StatusMeaning(TrackingStatus.IN_TRANSIT)

# The shipment `status` (and the public tracking `resolution`). `in_transit` and `resolved`
# are filter groupings; a shipment normally carries one of their sub-statuses.
SHIPMENT_STATUS: Mapping[str, StatusMeaning] = MappingProxyType(
    {
        "pending": _PRE,
        "ready": _PRE,
        "postage_requested": _PRE,
        "postage_purchase_failed": StatusMeaning(
            TrackingStatus.EXCEPTION, "postage purchase failed"
        ),
        "in_transit": _TRANSIT,
        "received": _TRANSIT,
        "released": _TRANSIT,
        "inducted": _TRANSIT,
        "delivered": StatusMeaning(TrackingStatus.DELIVERED),
        "exception": StatusMeaning(
            TrackingStatus.EXCEPTION,
            "Chit Chats resolved the shipment as an exception (it may still have been delivered)",
        ),
        "voided": StatusMeaning(TrackingStatus.EXCEPTION, "voided: a postage refund was requested"),
        "canceled": StatusMeaning(
            TrackingStatus.EXCEPTION,
            "canceled: held at a Chit Chats branch or returned to the sender",
        ),
        "resolved": StatusMeaning(TrackingStatus.UNKNOWN),
        "unknown": StatusMeaning(TrackingStatus.UNKNOWN),
    }
)

# Statuses that close a shipment without a tracking event of their own saying so: the parser
# adds one synthetic event for them (see parser.py).
RESOLUTION_STATUSES = frozenset(
    {"delivered", "exception", "voided", "canceled", "postage_purchase_failed"}
)

# Tracking-event `type`s of GET /shipments/{id}.
EVENT_TYPE: Mapping[str, StatusMeaning] = MappingProxyType(
    {
        "create_shipment": _PRE,
        "buy_shipment_postage": _PRE,
        # Chit Chats has the parcel: from the merchant's side it has left.
        "receive_shipment": _TRANSIT,
    }
)

# Lower-case title fragments -> meaning, first match wins, for events without a `type`
# (the public tracking JSON). Titles are prose, so only unambiguous phrases are listed.
EVENT_TITLE: tuple[tuple[str, StatusMeaning], ...] = (
    ("shipment created", _PRE),
    ("postage purchased", _PRE),
    ("received by chit chats", _TRANSIT),
    ("out for delivery", StatusMeaning(TrackingStatus.OUT_FOR_DELIVERY)),
    ("delivered", StatusMeaning(TrackingStatus.DELIVERED)),
)

UNKNOWN = StatusMeaning(TrackingStatus.UNKNOWN)


def meaning_of_status(status: str) -> StatusMeaning:
    return SHIPMENT_STATUS.get(status, UNKNOWN)


def meaning_of_event(event_type: str, title: str) -> StatusMeaning:
    """An event's meaning from its `type`, else from its title."""
    if event_type:
        return EVENT_TYPE.get(event_type, UNKNOWN)
    lowered = title.lower()
    return next((meaning for phrase, meaning in EVENT_TITLE if phrase in lowered), UNKNOWN)
