"""Chit Chats shipment and public tracking JSON -> normalised tracking events (pure, no I/O).

The tracking number is the Chit Chats shipment id (``8ERNJ8SCQ9``), not the carrier's
number under it (``carrier_tracking_code``): Chit Chats answers for the whole journey.

Raw codes: the event ``type`` (``receive_shipment``); events without one (the public JSON) use
their non-null ``status`` as ``status:<value>``, else their title (at most 64 characters).

Chit Chats often resolves a shipment (delivered, exception, voided, canceled) without a
tracking event saying so. Then one synthetic event is added, raw code
``status:<status>``, at ``resolved_at`` when the document has it, else at the newest event's
time (else the shipment's ``created_at``), so that repeated polls yield the same event.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from adapters.couriers.base import CourierPayloadError
from adapters.couriers.chit_chats.mapping import (
    RESOLUTION_STATUSES,
    SHIPMENT_STATUS,
    StatusMeaning,
    meaning_of_event,
    meaning_of_status,
)

# Re-exported: callers of `parse_shipment` decode a body with it (the client, tests, bench).
from adapters.couriers.documents import load_json as load_json
from platform_core.fulfillment.model import TrackingEvent
from platform_core.shared.errors import ValidationError

MAX_RAW_CODE_LENGTH = 64


def _shipment(courier_code: str, document: object) -> Mapping[str, Any]:
    shipment = document.get("shipment") if isinstance(document, Mapping) else None
    if not isinstance(shipment, Mapping):
        raise CourierPayloadError(courier_code, 'expected a {"shipment": {...}} document')
    return shipment


def _string(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _instant(courier_code: str, value: object) -> datetime:
    try:
        moment = datetime.fromisoformat(_string(value))
    except ValueError:
        raise CourierPayloadError(courier_code, f"unreadable time {value!r:.40}") from None
    if moment.tzinfo is None:
        raise CourierPayloadError(courier_code, f"time without an offset {value!r:.40}")
    return moment


def _raw_code(event: Mapping[str, Any]) -> str:
    status = _string(event.get("status"))
    code = _string(event.get("type")) or (f"status:{status}" if status else "")
    return (code or _string(event.get("title")) or "event")[:MAX_RAW_CODE_LENGTH]


def _meaning(event: Mapping[str, Any]) -> StatusMeaning:
    event_type = _string(event.get("type"))
    status = _string(event.get("status"))
    if not event_type and status in SHIPMENT_STATUS:
        return SHIPMENT_STATUS[status]
    return meaning_of_event(event_type, _string(event.get("title")))


def _raw_text(event: Mapping[str, Any]) -> str:
    parts = [_string(event.get("title")), _string(event.get("subtitle"))]
    return ": ".join(part for part in parts if part)


def _event(
    courier_code: str,
    tracking_number: str,
    *,
    raw_code: str,
    raw_text: str,
    meaning: StatusMeaning,
    occurred_at: datetime,
    location: str | None = None,
) -> TrackingEvent:
    try:
        return TrackingEvent(
            courier_code=courier_code,
            tracking_number=tracking_number,
            status=meaning.status,
            raw_code=raw_code,
            raw_text=raw_text,
            occurred_at=occurred_at,
            location=location,
            exception_reason=meaning.exception_reason,
        )
    except ValidationError as error:
        raise CourierPayloadError(courier_code, f"{courier_code} event: {error.message}") from None


def _tracking_events(
    courier_code: str, tracking_number: str, shipment: Mapping[str, Any]
) -> list[TrackingEvent]:
    raw_events = shipment.get("tracking_events") or []
    if not isinstance(raw_events, Sequence) or not all(
        isinstance(event, Mapping) for event in raw_events
    ):
        raise CourierPayloadError(courier_code, "tracking_events is not a list of objects")
    return [
        _event(
            courier_code,
            tracking_number,
            raw_code=_raw_code(event),
            raw_text=_raw_text(event),
            meaning=_meaning(event),
            occurred_at=_instant(courier_code, event.get("created_at")),
            location=_string(event.get("location_description")) or None,
        )
        for event in raw_events
    ]


def _resolution_event(
    courier_code: str,
    tracking_number: str,
    shipment: Mapping[str, Any],
    status: str,
    events: list[TrackingEvent],
) -> TrackingEvent | None:
    meaning = meaning_of_status(status)
    if status not in RESOLUTION_STATUSES or any(e.status is meaning.status for e in events):
        return None
    if shipment.get("resolved_at"):
        occurred_at = _instant(courier_code, shipment["resolved_at"])
    elif events:
        occurred_at = max(event.occurred_at for event in events)
    else:
        occurred_at = _instant(courier_code, shipment.get("created_at"))
    return _event(
        courier_code,
        tracking_number,
        raw_code=f"status:{status}",
        raw_text=f"Chit Chats status: {status}",
        meaning=meaning,
        occurred_at=occurred_at,
    )


def _parse(
    courier_code: str, shipment: Mapping[str, Any], id_key: str, status_key: str
) -> list[TrackingEvent]:
    tracking_number = _string(shipment.get(id_key))
    if not tracking_number:
        raise CourierPayloadError(courier_code, f"shipment without an {id_key!r}")
    events = _tracking_events(courier_code, tracking_number, shipment)
    status = _string(shipment.get(status_key))
    resolution = _resolution_event(courier_code, tracking_number, shipment, status, events)
    # Chit Chats lists events newest first; the resolution is the newest fact.
    return [resolution, *events] if resolution is not None else events


def parse_shipment(courier_code: str, document: object) -> list[TrackingEvent]:
    """Events of ``GET /api/v1/clients/{client_id}/shipments/{id}`` (``{"shipment": ...}``)."""
    return _parse(courier_code, _shipment(courier_code, document), "id", "status")


def parse_public_tracking(courier_code: str, document: object) -> list[TrackingEvent]:
    """Events of the public ``https://chitchats.com/tracking/{id}.json`` document."""
    return _parse(courier_code, _shipment(courier_code, document), "shipment_id", "resolution")
