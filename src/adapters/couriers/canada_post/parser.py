"""Canada Post tracking-detail XML -> normalised tracking events (pure, no I/O).

Reads the real body (root ``<tracking-detail>`` or ``<messages>``, in the
``http://www.canadapost.ca/ws/track`` namespace or none) and the same wrapped in one
``<wrapper>`` element, as test suites such as karrio's store it. Read by
`adapters.couriers.documents.parse_xml`: a document with a DTD, entity declarations or external
references is refused before anything is expanded.
"""

from __future__ import annotations

from datetime import date, datetime, time
from xml.etree.ElementTree import Element

from adapters.couriers.base import (
    CourierAdapterError,
    CourierAuthError,
    CourierPayloadError,
    TrackingNumberNotFound,
)
from adapters.couriers.canada_post.mapping import meaning_of, time_zone_of
from adapters.couriers.documents import child, child_text, children, local_name, parse_xml
from platform_core.fulfillment.model import TrackingEvent
from platform_core.shared.errors import ValidationError

NO_PIN_HISTORY = "004"
AUTHENTICATION_FAILURE = "E002"
_AUTH_CODES = frozenset({AUTHENTICATION_FAILURE, "AA001", "AA002"})


def _document(courier_code: str, body: bytes) -> Element:
    """The tracking document: the root element, or the one element a ``<wrapper>`` holds."""
    root = parse_xml(courier_code, body)
    if local_name(root) == "wrapper":
        inner = next(iter(root), None)
        if inner is None:
            raise CourierPayloadError(courier_code, "empty <wrapper> document")
        return inner
    return root


def _raise_messages(courier_code: str, root: Element, tracking_number: str | None) -> None:
    messages = [
        (child_text(message, "code"), child_text(message, "description"))
        for message in children(root, "message")
    ]
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
        day = date.fromisoformat(child_text(occurrence, "event-date"))
        clock = time.fromisoformat(child_text(occurrence, "event-time") or "00:00:00")
    except ValueError:
        raise CourierPayloadError(
            courier_code, f"{courier_code} event has an unreadable date or time"
        ) from None
    zone = time_zone_of(child_text(occurrence, "event-time-zone"))
    return datetime.combine(day, clock, tzinfo=zone)


def _location(occurrence: Element) -> str | None:
    parts = [child_text(occurrence, "event-site"), child_text(occurrence, "event-province")]
    return ", ".join(part for part in parts if part) or None


def _event(courier_code: str, pin: str, occurrence: Element) -> TrackingEvent:
    code = child_text(occurrence, "event-identifier")
    if not code:
        raise CourierPayloadError(courier_code, f"{courier_code} event without an identifier")
    meaning = meaning_of(code)
    try:
        return TrackingEvent(
            courier_code=courier_code,
            tracking_number=pin,
            status=meaning.status,
            raw_code=code,
            raw_text=child_text(occurrence, "event-description"),
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
    root = _document(courier_code, body)
    kind = local_name(root)
    if kind == "messages":
        _raise_messages(courier_code, root, tracking_number)
    if kind != "tracking-detail":
        raise CourierPayloadError(courier_code, f"unexpected <{kind}> document")
    pin = child_text(root, "pin") or tracking_number
    if not pin:
        raise CourierPayloadError(courier_code, "tracking detail without a <pin>")
    events = child(root, "significant-events")
    return [_event(courier_code, pin, occurrence) for occurrence in children(events, "occurrence")]
