"""DHL Shipment Tracking - Unified documents -> normalised tracking events. Pure: no I/O.

The polling answer (``GET /track/shipments``) and the push webhook share one shape,
``{"shipments": [{"id", "status", "events": [...]}]}``. `id` may be a JSON number. Event
timestamps often carry no zone: they are taken as UTC (docs/couriers.md says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.couriers.base import CourierPayloadError
from adapters.couriers.dhl.documents import clean, parse_instant, shipments_of
from adapters.couriers.dhl.mapping import classify_unified
from adapters.couriers.documents import JsonDocument, load_json
from platform_core.fulfillment.model import TrackingEvent, TrackingStatus
from platform_core.shared.errors import ValidationError

UNIFIED = "DHL Unified"


def parse_unified(
    courier_code: str, document: JsonDocument, *, requested: str | None = None
) -> list[TrackingEvent]:
    """Events of every shipment, in DHL's order (newest first). A shipment without events
    yields its current `status` as one event. A problem-details 404 raises
    TrackingNumberNotFound (naming `requested` when given), 401/403 CourierAuthError."""
    shipments = shipments_of(courier_code, document, requested, UNIFIED)
    try:
        return [event for item in shipments for event in _shipment(courier_code, item)]
    except ValidationError as error:
        raise CourierPayloadError(
            courier_code, f"DHL Unified event unusable: {error.message}"
        ) from None


def parse_webhook(courier_code: str, body: bytes) -> list[TrackingEvent]:
    """Events of a push notification: the same ``{"shipments": [...]}`` document."""
    data = load_json(courier_code, body, UNIFIED)
    if not isinstance(data, Mapping) or not isinstance(data.get("shipments"), list):
        raise CourierPayloadError(courier_code, "DHL push notification has no shipments list")
    return parse_unified(courier_code, data)


def _shipment(courier_code: str, shipment: object) -> list[TrackingEvent]:
    if not isinstance(shipment, Mapping):
        raise CourierPayloadError(courier_code, "DHL Unified shipment is not an object")
    number = shipment.get("id")
    if isinstance(number, bool) or not isinstance(number, str | int) or not str(number).strip():
        raise CourierPayloadError(courier_code, "DHL Unified shipment has no id")
    raw_events = shipment.get("events") or []
    if not isinstance(raw_events, list):
        raise CourierPayloadError(courier_code, "DHL Unified events is not a list")
    if not raw_events and isinstance(shipment.get("status"), Mapping):
        raw_events = [shipment["status"]]
    return [_event(courier_code, str(number).strip(), raw) for raw in raw_events]


def _event(courier_code: str, number: str, raw: object) -> TrackingEvent:
    if not isinstance(raw, Mapping):
        raise CourierPayloadError(courier_code, "DHL Unified event is not an object")
    timestamp = raw.get("timestamp")
    if not isinstance(timestamp, str) or not timestamp:
        raise CourierPayloadError(courier_code, "DHL Unified event has no timestamp")
    status_code = _text(raw.get("statusCode"))
    status_word = _text(raw.get("status"))
    raw_code = status_code or status_word
    if not raw_code:
        raise CourierPayloadError(
            courier_code, "DHL Unified event has neither statusCode nor status"
        )
    status = classify_unified(status_code, status_word)
    description = _text(raw.get("description"))
    return TrackingEvent(
        courier_code=courier_code,
        tracking_number=number,
        status=status,
        raw_code=raw_code,
        raw_text=_raw_text(status_word, description, raw_code),
        occurred_at=parse_instant(courier_code, timestamp, None, UNIFIED),
        location=_location(raw.get("location")),
        exception_reason=_reason(status, raw, description),
    )


def _raw_text(status_word: str, description: str, raw_code: str) -> str:
    """DHL's `status` word and its `description`, both kept: the code alone loses the word
    (``pre-transit`` next to ``DELIVERED`` in DHL's own sample)."""
    word = status_word if status_word and status_word != raw_code else ""
    return " - ".join(part for part in (word, description) if part)


def _reason(status: TrackingStatus, raw: Mapping[str, Any], description: str) -> str | None:
    if status is not TrackingStatus.EXCEPTION:
        return None
    return _text(raw.get("remark")) or description or "DHL reports a delivery failure"


def _location(location: object) -> str | None:
    """``locality, postal code, country`` of the event's address, what DHL gave of it."""
    if not isinstance(location, Mapping) or not isinstance(location.get("address"), Mapping):
        return None
    address: Mapping[str, Any] = location["address"]
    parts = (_text(address.get(key)) for key in ("addressLocality", "postalCode", "countryCode"))
    return ", ".join(part for part in parts if part) or None


def _text(value: object) -> str:
    return clean(str(value)) if value is not None else ""
