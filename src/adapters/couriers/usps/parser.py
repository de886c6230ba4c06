"""USPS Tracking v3 documents -> normalised tracking events. Pure: no I/O, no clock.

A tracking object (``GET /tracking/v3/tracking/{n}?expand=DETAIL``) lists its events newest
first; each event's `eventTimestamp` is local time without a zone, `GMTOffset` says which
offset that local time has, and `GMTTimestamp` is the same scan in UTC (with seconds). Events
keep the local offset so a timeline reads as the carrier printed it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NoReturn

import attrs

from adapters.couriers.base import (
    CourierAdapterError,
    CourierAuthError,
    CourierPayloadError,
    TrackingNumberNotFound,
)
from adapters.couriers.documents import JsonDocument, load_json, offset_zone
from adapters.couriers.usps.mapping import classify, classify_category
from platform_core.fulfillment.model import TrackingEvent, TrackingStatus
from platform_core.shared.errors import ValidationError

_TAG = re.compile(r"<[^>]*>")
_BLANKS = re.compile(r"\s+")
_NOT_FOUND_WORDS = ("not found", "could not locate", "no record", "invalid tracking")


def parse_tracking(
    courier_code: str, document: JsonDocument, *, requested: str | None = None
) -> list[TrackingEvent]:
    """Events of one tracking object or a list of them, in the order USPS sent them.

    `requested` is the number asked for, named in TrackingNumberNotFound when the document is
    USPS's error envelope. Raises CourierAuthError for an OAuth error, TrackingNumberNotFound
    for a not-found error, CourierAdapterError for any other error envelope, and
    CourierPayloadError for a document that is not a tracking answer.
    """
    data = load_json(courier_code, document, "USPS")
    if isinstance(data, Mapping):
        _raise_for_error(courier_code, data, requested)
        return _tracking_object(courier_code, data)
    if isinstance(data, list):
        return [event for item in data for event in _tracking_object(courier_code, item)]
    raise CourierPayloadError(courier_code, "USPS tracking answer is neither an object nor a list")


def parse_webhook(courier_code: str, body: bytes) -> list[TrackingEvent]:
    """Events of a tracking-subscription notification: a tracking object, a list of them, or
    one event as ``{"trackingNumber", "trackingEvent": {...}}``."""
    data = load_json(courier_code, body, "USPS")
    if isinstance(data, Mapping) and isinstance(data.get("trackingEvent"), Mapping):
        data = {**data, "trackingEvents": [data["trackingEvent"]]}
    if isinstance(data, Mapping) and "error" in data:
        raise CourierPayloadError(courier_code, "USPS notification carries an error, not events")
    if isinstance(data, Mapping | list):
        return parse_tracking(courier_code, data)
    raise CourierPayloadError(courier_code, "USPS notification is neither an object nor a list")


def raise_for_error(courier_code: str, document: JsonDocument, requested: str | None) -> NoReturn:
    """Raise the adapter error an error answer (a 4xx body) stands for; a body that is no
    error envelope at all is a CourierAdapterError too, since the status said error."""
    data = load_json(courier_code, document, "USPS")
    if isinstance(data, Mapping):
        _raise_for_error(courier_code, data, requested)
    raise CourierAdapterError(
        "USPS answered an error without an error envelope",
        {"courier_code": courier_code},
        retryable=False,
    )


def _raise_for_error(courier_code: str, data: Mapping[str, Any], requested: str | None) -> None:
    error = data.get("error")
    if error is None:
        return
    if isinstance(error, str):
        # OAuth 2.0 (RFC 6749) token errors: invalid_client, invalid_grant, ...
        description = data.get("error_description") or error
        raise CourierAuthError(courier_code, f"USPS refused our credentials: {description}")
    if not isinstance(error, Mapping):
        raise CourierPayloadError(courier_code, "USPS error envelope has an unreadable error")
    texts = _error_texts(error)
    statuses = {str(item.get("status")) for item in _error_items(error)} | {str(error.get("code"))}
    message = _clean(str(error.get("message") or "USPS answered an error"))
    if statuses & {"401", "403"}:
        raise CourierAuthError(courier_code, f"USPS refused our credentials: {message}")
    if "404" in statuses or any(word in texts for word in _NOT_FOUND_WORDS):
        raise TrackingNumberNotFound(courier_code, requested or "unknown", f"USPS: {message}")
    raise CourierAdapterError(
        f"USPS answered an error: {message}",
        {"courier_code": courier_code, "code": str(error.get("code"))},
        retryable=False,
    )


def _error_items(error: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    items = error.get("errors")
    if not isinstance(items, list):
        return []
    return [item for item in items if isinstance(item, Mapping)]


def _error_texts(error: Mapping[str, Any]) -> str:
    parts = [str(error.get("message") or "")]
    for item in _error_items(error):
        parts += [str(item.get("title") or ""), str(item.get("detail") or "")]
    return " ".join(parts).lower()


def _tracking_object(courier_code: str, data: object) -> list[TrackingEvent]:
    if not isinstance(data, Mapping):
        raise CourierPayloadError(courier_code, "USPS tracking object is not an object")
    number = data.get("trackingNumber")
    if not isinstance(number, str) or not number.strip():
        raise CourierPayloadError(courier_code, "USPS tracking object has no trackingNumber")
    raw_events = data.get("trackingEvents") or []
    if not isinstance(raw_events, list):
        raise CourierPayloadError(courier_code, "USPS trackingEvents is not a list")
    try:
        events = [_event(courier_code, number.strip(), raw) for raw in raw_events]
    except ValidationError as error:
        raise CourierPayloadError(courier_code, f"USPS event unusable: {error.message}") from None
    return _with_category_fallback(events, data)


def _event(courier_code: str, number: str, raw: object) -> TrackingEvent:
    if not isinstance(raw, Mapping):
        raise CourierPayloadError(courier_code, "USPS tracking event is not an object")
    code = _clean(str(raw.get("eventCode") or ""))
    if not code:
        raise CourierPayloadError(courier_code, "USPS tracking event has no eventCode")
    status, reason = classify(code)
    return TrackingEvent(
        courier_code=courier_code,
        tracking_number=number,
        status=status,
        raw_code=code,
        raw_text=_clean(str(raw.get("eventType") or "")),
        occurred_at=_occurred_at(courier_code, raw),
        location=_location(raw),
        exception_reason=reason,
    )


def _with_category_fallback(
    events: list[TrackingEvent], data: Mapping[str, Any]
) -> list[TrackingEvent]:
    """The object's `statusCategory` describes its newest event: use it when that event's
    code is one the table does not know."""
    if not events:
        return events
    newest = max(range(len(events)), key=lambda index: events[index].occurred_at)
    if events[newest].status is not TrackingStatus.UNKNOWN:
        return events
    status = classify_category(data.get("statusCategory"))
    if status is TrackingStatus.UNKNOWN:
        return events
    reason = None
    if status in (TrackingStatus.EXCEPTION, TrackingStatus.RETURNED):
        reason = _clean(str(data.get("status") or "")) or "USPS alert"
    events[newest] = attrs.evolve(events[newest], status=status, exception_reason=reason)
    return events


def _occurred_at(courier_code: str, raw: Mapping[str, Any]) -> datetime:
    """Local time with its GMT offset; else the GMT timestamp shown at that offset; a local
    time with neither is taken as UTC (USPS always sends one of them in practice)."""
    offset = offset_zone(raw.get("GMTOffset"))
    local = _parse_time(courier_code, raw.get("eventTimestamp"))
    gmt = _parse_time(courier_code, raw.get("GMTTimestamp"))
    if local is not None and local.tzinfo is not None:
        return local
    if local is not None and offset is not None:
        return local.replace(tzinfo=offset)
    if gmt is not None:
        gmt = gmt if gmt.tzinfo is not None else gmt.replace(tzinfo=UTC)
        return gmt.astimezone(offset) if offset is not None else gmt
    if local is not None:
        return local.replace(tzinfo=UTC)
    raise CourierPayloadError(courier_code, "USPS tracking event has no timestamp")


def _parse_time(courier_code: str, value: object) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise CourierPayloadError(courier_code, f"USPS timestamp unreadable: {value!r}") from None


def _location(raw: Mapping[str, Any]) -> str | None:
    """``CITY, ST ZIP`` for post offices; the facility name alone for plants (USPS puts it
    in `eventCity` and leaves state and ZIP empty); the country abroad."""
    city, state, zip_code, country = (
        _clean(str(raw.get(key) or ""))
        for key in ("eventCity", "eventState", "eventZIP", "eventCountry")
    )
    region = " ".join(part for part in (state, zip_code) if part)
    place = ", ".join(part for part in (city, region) if part)
    if country and not state:
        place = ", ".join(part for part in (place, country) if part)
    return place or None


def _clean(text: str) -> str:
    """Text without HTML markup or entities (USPS sends `<SUP>&#153;</SUP>`), blanks
    collapsed."""
    return _BLANKS.sub(" ", html.unescape(_TAG.sub("", text))).strip()
