"""Canada Post tracking-detail XML -> normalised tracking events (pure, no I/O).

Reads the real body (root ``<tracking-detail>`` or ``<messages>``, in the
``http://www.canadapost.ca/ws/track`` namespace or none) and the same wrapped in one
``<wrapper>`` element, as test suites such as karrio's store it. Parsed with defusedxml and
DTDs forbidden: a document with a DTD, entity declarations or external references is refused
before anything is expanded.
"""

from __future__ import annotations

import xml.etree.ElementTree as StdElementTree
from datetime import date, datetime, time
from xml.etree.ElementTree import Element

# No stubs ship for defusedxml (types-defusedxml is not a dependency yet).
import defusedxml.ElementTree as SafeElementTree  # type: ignore[import-untyped]
from defusedxml import DefusedXmlException

from adapters.couriers.base import (
    CourierAdapterError,
    CourierAuthError,
    CourierPayloadError,
    TrackingNumberNotFound,
)
from adapters.couriers.canada_post.mapping import meaning_of, time_zone_of
from platform_core.fulfillment.model import TrackingEvent
from platform_core.shared.errors import ValidationError

NO_PIN_HISTORY = "004"
AUTHENTICATION_FAILURE = "E002"
_AUTH_CODES = frozenset({AUTHENTICATION_FAILURE, "AA001", "AA002"})


def _local(element: Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _child(element: Element, name: str) -> Element | None:
    return next((child for child in element if _local(child) == name), None)


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child) == name]


def _text(element: Element, name: str) -> str:
    child = _child(element, name)
    return (child.text or "").strip() if child is not None else ""


def _parse_xml(courier_code: str, body: bytes) -> Element:
    try:
        root: Element = SafeElementTree.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as error:
        raise CourierPayloadError(
            courier_code, f"refused hostile XML from {courier_code}: {type(error).__name__}"
        ) from None
    except (StdElementTree.ParseError, ValueError, UnicodeError):
        raise CourierPayloadError(courier_code, f"{courier_code} did not answer XML") from None
    if _local(root) == "wrapper":
        inner = next(iter(root), None)
        if inner is None:
            raise CourierPayloadError(courier_code, "empty <wrapper> document")
        return inner
    return root


def _raise_messages(courier_code: str, root: Element, tracking_number: str | None) -> None:
    messages = [(_text(m, "code"), _text(m, "description")) for m in _children(root, "message")]
    codes = {code for code, _ in messages}
    text = "; ".join(f"{code} {description}".strip() for code, description in messages)
    if NO_PIN_HISTORY in codes:
        raise TrackingNumberNotFound(
            courier_code,
            tracking_number or "(unknown)",
            f"{courier_code}: {text or 'No Pin History'}",
        )
    if codes & _AUTH_CODES:
        raise CourierAuthError(courier_code, f"{courier_code} refused our credentials: {text}")
    raise CourierAdapterError(
        f"{courier_code} answered with an error: {text or '(no message)'}",
        {"courier_code": courier_code, "codes": sorted(codes)},
        retryable=False,
    )


def _occurred_at(courier_code: str, occurrence: Element) -> datetime:
    try:
        day = date.fromisoformat(_text(occurrence, "event-date"))
        clock = time.fromisoformat(_text(occurrence, "event-time") or "00:00:00")
    except ValueError:
        raise CourierPayloadError(
            courier_code, f"{courier_code} event has an unreadable date or time"
        ) from None
    return datetime.combine(day, clock, tzinfo=time_zone_of(_text(occurrence, "event-time-zone")))


def _location(occurrence: Element) -> str | None:
    parts = [_text(occurrence, "event-site"), _text(occurrence, "event-province")]
    return ", ".join(part for part in parts if part) or None


def _event(courier_code: str, pin: str, occurrence: Element) -> TrackingEvent:
    code = _text(occurrence, "event-identifier")
    if not code:
        raise CourierPayloadError(courier_code, f"{courier_code} event without an identifier")
    meaning = meaning_of(code)
    try:
        return TrackingEvent(
            courier_code=courier_code,
            tracking_number=pin,
            status=meaning.status,
            raw_code=code,
            raw_text=_text(occurrence, "event-description"),
            occurred_at=_occurred_at(courier_code, occurrence),
            location=_location(occurrence),
            exception_reason=meaning.exception_reason,
        )
    except ValidationError as error:
        raise CourierPayloadError(courier_code, f"{courier_code} event: {error.message}") from None


def parse_tracking(
    courier_code: str, body: bytes, *, tracking_number: str | None = None
) -> list[TrackingEvent]:
    """The events of a tracking-detail answer, in the document's order (newest first).

    `tracking_number` (the PIN asked for) names the number in TrackingNumberNotFound and
    stands in for a document without ``<pin>``. Raises TrackingNumberNotFound (``004 No Pin
    History``), CourierAuthError (``E002``), CourierAdapterError (other messages) and
    CourierPayloadError (not XML, hostile XML, another document).
    """
    root = _parse_xml(courier_code, body)
    kind = _local(root)
    if kind == "messages":
        _raise_messages(courier_code, root, tracking_number)
    if kind != "tracking-detail":
        raise CourierPayloadError(courier_code, f"unexpected <{kind}> document")
    pin = _text(root, "pin") or tracking_number
    if not pin:
        raise CourierPayloadError(courier_code, "tracking detail without a <pin>")
    events = _child(root, "significant-events")
    occurrences = _children(events, "occurrence") if events is not None else []
    return [_event(courier_code, pin, occurrence) for occurrence in occurrences]
