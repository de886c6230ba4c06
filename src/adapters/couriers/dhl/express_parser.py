"""DHL Express tracking documents -> normalised tracking events. Pure: no I/O, no clock.

Two formats carry the same checkpoint codes: the MyDHL REST API (JSON, ``{"shipments": [...]}``,
events newest first) and the legacy XML-PI ``TrackingResponse`` (events oldest first, one
``AWBInfo`` per waybill). XML is parsed with defusedxml and DTDs forbidden, so entity bombs and
external entities are refused before anything is expanded.

Time zones: MyDHL events give `date`, `time` and, in newer versions, `GMTOffset`; XML-PI
`Date` and `Time` have no zone at all. Without an offset the time is taken as UTC (DHL sends
no other hint; docs/couriers.md says so).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as StdElementTree
from collections.abc import Mapping, Sequence
from typing import Any
from xml.etree.ElementTree import Element

# No stubs ship for defusedxml (types-defusedxml is not a dependency yet).
import defusedxml.ElementTree as SafeElementTree  # type: ignore[import-untyped]
from defusedxml import DefusedXmlException

from adapters.couriers.base import (
    CourierAdapterError,
    CourierAuthError,
    CourierPayloadError,
    TrackingNumberNotFound,
    TrackingResult,
)
from adapters.couriers.dhl.documents import (
    JsonDocument,
    clean,
    load_json,
    offset_zone,
    parse_instant,
    raise_for_problem,
)
from adapters.couriers.dhl.mapping import classify_express
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
    data = load_json(courier_code, document, MYDHL)
    if not isinstance(data, Mapping):
        raise CourierPayloadError(courier_code, "MyDHL answer is not an object")
    raise_for_problem(courier_code, data, requested, MYDHL)
    shipments = data.get("shipments")
    if not isinstance(shipments, list):
        raise CourierPayloadError(courier_code, "MyDHL answer has no shipments list")
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
    root = _parse_xml(courier_code, body)
    name = _local(root)
    if name == "ShipmentTrackingErrorResponse":
        _raise_error_response(courier_code, root)
    if name != "TrackingResponse":
        raise CourierPayloadError(courier_code, f"XML-PI answer is a <{name}>, not tracking")
    events: list[TrackingEvent] = []
    found: list[str] = []
    missing: list[str] = []
    for info in _children(root, "AWBInfo"):
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


def _parse_xml(courier_code: str, body: bytes) -> Element:
    try:
        root: Element = SafeElementTree.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as error:
        raise CourierPayloadError(
            courier_code, f"refused hostile XML from DHL: {type(error).__name__}"
        ) from None
    except (StdElementTree.ParseError, ValueError, UnicodeError):
        raise CourierPayloadError(courier_code, "DHL XML-PI answer is not XML") from None
    return root


def _raise_error_response(courier_code: str, root: Element) -> None:
    conditions = [
        (_text(condition, "ConditionCode"), clean(_text(condition, "ConditionData")))
        for status in root.iter()
        if _local(status) == "Status"
        for condition in _children(status, "Condition")
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
    number = _text(info, "AWBNumber")
    status = _child(info, "Status")
    action = _text(status, "ActionStatus").lower() if status is not None else ""
    if action != "success":
        conditions = _children_of(status, "Condition")
        data = clean(" ".join(_text(condition, "ConditionData") for condition in conditions))
        codes = {_text(condition, "ConditionCode") for condition in conditions}
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
    shipment = _child(info, "ShipmentInfo")
    raw_events = _children_of(shipment, "ShipmentEvent")
    try:
        return number, [_xmlpi_event(courier_code, number, raw) for raw in raw_events]
    except ValidationError as error:
        raise CourierPayloadError(courier_code, f"XML-PI event unusable: {error.message}") from None


def _xmlpi_event(courier_code: str, number: str, raw: Element) -> TrackingEvent:
    service_event = _child(raw, "ServiceEvent")
    code = _text(service_event, "EventCode") if service_event is not None else ""
    day, clock_time = _text(raw, "Date"), _text(raw, "Time") or "00:00:00"
    if not code or not day:
        raise CourierPayloadError(courier_code, "XML-PI ShipmentEvent lacks EventCode or Date")
    status, reason = classify_express(code)
    area = _child(raw, "ServiceArea")
    location = clean(_text(area, "Description")) if area is not None else ""
    return TrackingEvent(
        courier_code=courier_code,
        tracking_number=number,
        status=status,
        raw_code=code,
        raw_text=clean(_text(service_event, "Description")) if service_event is not None else "",
        occurred_at=parse_instant(courier_code, f"{day}T{clock_time}", None, XMLPI),
        location=location or None,
        exception_reason=reason,
    )


def _local(element: Element) -> str:
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def _child(element: Element, name: str) -> Element | None:
    return next((child for child in element if _local(child) == name), None)


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child) == name]


def _children_of(element: Element | None, name: str) -> list[Element]:
    return _children(element, name) if element is not None else []


def _text(element: Element, name: str) -> str:
    child = _child(element, name)
    return (child.text or "").strip() if child is not None else ""
