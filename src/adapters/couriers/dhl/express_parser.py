"""DHL Express tracking documents -> normalised tracking events. Pure: no I/O, no clock.

Two formats carry the same checkpoint codes: the MyDHL REST API (JSON, ``{"shipments": [...]}``,
events newest first) and the legacy XML-PI ``TrackingResponse`` (events oldest first, one
``AWBInfo`` per waybill). XML is read by `adapters.couriers.documents.parse_xml`, which refuses
entity bombs and external entities before anything is expanded.

Time zones: MyDHL events give `date`, `time` and, in newer versions, `GMTOffset`; XML-PI
`Date` and `Time` have no zone at all. Without an offset the time is taken as UTC (DHL sends
no other hint; docs/couriers.md says so).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree.ElementTree import Element

from adapters.couriers.base import (
    CourierAdapterError,
    CourierAuthError,
    CourierPayloadError,
    TrackingNumberNotFound,
    TrackingResult,
)
from adapters.couriers.dhl.documents import clean, parse_instant, shipments_of
from adapters.couriers.dhl.mapping import classify_express
from adapters.couriers.documents import (
    JsonDocument,
    child,
    child_text,
    children,
    local_name,
    offset_zone,
    parse_xml,
)
from platform_core.fulfillment.model import TrackingEvent
from platform_core.shared.errors import ValidationError

MYDHL = "MyDHL"
XMLPI = "DHL XML-PI"
_NOT_FOUND_CODE = "103"
_NOT_FOUND_NUMBER = re.compile(r"AWB\s*Number\s*:?\s*(\S+)", re.IGNORECASE)
# XML-PI reports bad credentials as a failed request naming the field that was wrong.
_AUTH_WORDS = ("password", "siteid", "site id", "authentication", "unauthori", "login")


# --- MyDHL (JSON) ---------------------------------------------------------------------------


def parse_mydhl(
    courier_code: str, document: JsonDocument, *, requested: str | None = None
) -> list[TrackingEvent]:
    """Events of every shipment in a MyDHL tracking answer, newest first as DHL sends them.

    A problem-details 404 raises TrackingNumberNotFound (naming `requested` when given),
    401/403 CourierAuthError, other problems CourierAdapterError."""
    shipments = shipments_of(courier_code, document, requested, MYDHL)
    try:
        return [event for item in shipments for event in _mydhl_shipment(courier_code, item)]
    except ValidationError as error:
        raise CourierPayloadError(courier_code, f"MyDHL event unusable: {error.message}") from None


def _mydhl_shipment(courier_code: str, shipment: object) -> list[TrackingEvent]:
    if not isinstance(shipment, Mapping):
        raise CourierPayloadError(courier_code, "MyDHL shipment is not an object")
    number = str(shipment.get("shipmentTrackingNumber") or "").strip()
    if not number:
        raise CourierPayloadError(courier_code, "MyDHL shipment has no shipmentTrackingNumber")
    # Shipment-level events only: piece events repeat them per parcel.
    events = shipment.get("events") or []
    if not isinstance(events, list):
        raise CourierPayloadError(courier_code, "MyDHL events is not a list")
    return [_mydhl_event(courier_code, number, raw) for raw in events]


def _mydhl_event(courier_code: str, number: str, raw: object) -> TrackingEvent:
    if not isinstance(raw, Mapping):
        raise CourierPayloadError(courier_code, "MyDHL event is not an object")
    code = clean(str(raw.get("typeCode") or ""))
    day, clock_time = str(raw.get("date") or ""), str(raw.get("time") or "00:00:00")
    if not code or not day:
        raise CourierPayloadError(courier_code, "MyDHL event lacks typeCode or date")
    status, reason = classify_express(code)
    zone = offset_zone(raw.get("GMTOffset"))
    return TrackingEvent(
        courier_code=courier_code,
        tracking_number=number,
        status=status,
        raw_code=code,
        raw_text=clean(str(raw.get("description") or "")),
        occurred_at=parse_instant(courier_code, f"{day}T{clock_time}", zone, MYDHL),
        location=_mydhl_location(raw.get("serviceArea")),
        exception_reason=reason,
    )


def _mydhl_location(areas: object) -> str | None:
    if isinstance(areas, list) and areas and isinstance(areas[0], Mapping):
        area: Mapping[str, Any] = areas[0]
        return clean(str(area.get("description") or area.get("code") or "")) or None
    return None


# --- XML-PI ---------------------------------------------------------------------------------


def parse_xmlpi(courier_code: str, body: bytes) -> list[TrackingEvent]:
    """Events of every waybill in an XML-PI TrackingResponse, oldest first as DHL sends them.

    Raises TrackingNumberNotFound when no waybill was found, CourierAuthError or
    CourierAdapterError for a ShipmentTrackingErrorResponse, CourierPayloadError for hostile
    or unreadable XML."""
    result = parse_xmlpi_result(courier_code, body)
    if not result.events and result.not_found:
        raise TrackingNumberNotFound(courier_code, result.not_found[0])
    return list(result.events)


def parse_xmlpi_result(
    courier_code: str, body: bytes, requested: Sequence[str] = ()
) -> TrackingResult:
    """Events and unknown waybills of a multi-waybill XML-PI answer: a `requested` number
    without a successful AWBInfo is not found (DHL may leave AWBNumber empty on those)."""
    root = parse_xml(courier_code, body, XMLPI)
    name = local_name(root)
    if name == "ShipmentTrackingErrorResponse":
        _raise_error_response(courier_code, root)
    if name != "TrackingResponse":
        raise CourierPayloadError(courier_code, f"XML-PI answer is a <{name}>, not tracking")
    events: list[TrackingEvent] = []
    found: list[str] = []
    missing: list[str] = []
    for info in children(root, "AWBInfo"):
        number, info_events = _awb_info(courier_code, info)
        if info_events is None:
            missing.append(number)
        else:
            found.append(number)
            events += info_events
    if requested:
        not_found = [number for number in requested if number not in found]
    else:
        not_found = [number or "unknown" for number in missing]
    return TrackingResult(tuple(events), tuple(not_found))


def _raise_error_response(courier_code: str, root: Element) -> None:
    conditions = [
        (child_text(condition, "ConditionCode"), clean(child_text(condition, "ConditionData")))
        for status in root.iter()
        if local_name(status) == "Status"
        for condition in children(status, "Condition")
    ]
    message = "; ".join(f"{code} {data}".strip() for code, data in conditions) or "failure"
    if any(word in message.lower() for word in _AUTH_WORDS):
        # Only the condition codes: DHL's text quotes the refused SiteID or password.
        codes = ", ".join(code for code, _ in conditions) or "none"
        raise CourierAuthError(
            courier_code, f"DHL XML-PI refused our credentials (condition {codes})"
        )
    raise CourierAdapterError(
        f"DHL XML-PI answered an error: {message}",
        {"courier_code": courier_code, "conditions": [code for code, _ in conditions]},
        retryable=False,
    )


def _awb_info(courier_code: str, info: Element) -> tuple[str, list[TrackingEvent] | None]:
    """The waybill number and its events, or None for events when DHL did not find it."""
    number = child_text(info, "AWBNumber")
    status = child(info, "Status")
    action = child_text(status, "ActionStatus").lower()
    if action != "success":
        conditions = children(status, "Condition")
        data = clean(" ".join(child_text(condition, "ConditionData") for condition in conditions))
        codes = {child_text(condition, "ConditionCode") for condition in conditions}
        if "no shipment" not in action and _NOT_FOUND_CODE not in codes:
            raise CourierAdapterError(
                f"DHL XML-PI could not track {number or 'a waybill'}: {action} {data}".strip(),
                {"courier_code": courier_code, "conditions": sorted(codes)},
                retryable=False,
            )
        match = _NOT_FOUND_NUMBER.search(data)
        return number or (match.group(1) if match else ""), None
    if not number:
        raise CourierPayloadError(courier_code, "XML-PI AWBInfo has no AWBNumber")
    shipment = child(info, "ShipmentInfo")
    raw_events = children(shipment, "ShipmentEvent")
    try:
        return number, [_xmlpi_event(courier_code, number, raw) for raw in raw_events]
    except ValidationError as error:
        raise CourierPayloadError(courier_code, f"XML-PI event unusable: {error.message}") from None


def _xmlpi_event(courier_code: str, number: str, raw: Element) -> TrackingEvent:
    service_event = child(raw, "ServiceEvent")
    code = child_text(service_event, "EventCode")
    day, clock_time = child_text(raw, "Date"), child_text(raw, "Time") or "00:00:00"
    if not code or not day:
        raise CourierPayloadError(courier_code, "XML-PI ShipmentEvent lacks EventCode or Date")
    status, reason = classify_express(code)
    area = child(raw, "ServiceArea")
    location = clean(child_text(area, "Description"))
    return TrackingEvent(
        courier_code=courier_code,
        tracking_number=number,
        status=status,
        raw_code=code,
        raw_text=clean(child_text(service_event, "Description")),
        occurred_at=parse_instant(courier_code, f"{day}T{clock_time}", None, XMLPI),
        location=location or None,
        exception_reason=reason,
    )
