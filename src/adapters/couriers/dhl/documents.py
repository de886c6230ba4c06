"""What DHL's JSON APIs (MyDHL, Unified) share: reading the body, their RFC 7807
problem-details errors, and timestamps that may or may not carry a zone."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from adapters.couriers.base import (
    CourierAdapterError,
    CourierAuthError,
    CourierPayloadError,
    TrackingNumberNotFound,
)

JsonDocument = bytes | str | Mapping[str, Any] | Sequence[Any]

_BLANKS = re.compile(r"\s+")
_OFFSET = re.compile(r"([+-])(\d{1,2})(?::?(\d{2}))?")
_NUMBER_IN_QUERY = re.compile(r"(?:shipmentTrackingNumber|trackingNumber)=([^&?#\s]+)")


def load_json(courier_code: str, document: JsonDocument, api: str) -> Any:
    if isinstance(document, bytes | str):
        try:
            return json.loads(document)
        except (ValueError, UnicodeDecodeError):
            raise CourierPayloadError(courier_code, f"{api} answer is not JSON") from None
    return document


def raise_for_problem(
    courier_code: str, data: Mapping[str, Any], requested: str | None, api: str
) -> None:
    """Raise the adapter error a problem-details body (``status``, ``title``, ``detail``)
    stands for; return when `data` is not one."""
    status = data.get("status")
    if not isinstance(status, int) or "shipments" in data:
        return
    message = clean(": ".join(str(data[key]) for key in ("title", "detail") if data.get(key)))
    if status == 404:
        number = requested or _number_in(str(data.get("instance") or "")) or "unknown"
        raise TrackingNumberNotFound(courier_code, number, f"{api}: {message}")
    if status in (401, 403):
        raise CourierAuthError(courier_code, f"{api} refused our credentials: {message}")
    raise CourierAdapterError(
        f"{api} answered {status}: {message}",
        {"courier_code": courier_code, "status": status},
        retryable=status >= 500 or status == 429,
    )


def _number_in(instance: str) -> str | None:
    """The tracking number a problem's `instance` names: ``/tracking?shipmentTrackingNumber=N``
    (MyDHL) or ``/shipment/N`` (Unified)."""
    match = _NUMBER_IN_QUERY.search(instance)
    if match:
        return match.group(1)
    last = instance.rstrip("/").rsplit("/", 1)[-1]
    return last if last and "?" not in last and "=" not in last else None


def offset_zone(value: object) -> timezone | None:
    """`+01:00`, `-7:00`, `+0530` or `Z` as a zone; None when absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.upper() in ("Z", "UTC", "GMT"):
        return UTC
    match = _OFFSET.fullmatch(text)
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if delta >= timedelta(hours=24):
        return None
    return timezone(-delta if sign == "-" else delta)


def parse_instant(courier_code: str, text: str, zone: timezone | None, api: str) -> datetime:
    """An ISO 8601 time. Its own zone wins; else `zone`; else UTC, because DHL sends no
    other hint (documented in docs/couriers.md)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CourierPayloadError(courier_code, f"{api} timestamp unreadable: {text!r}") from None
    if moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=zone or UTC)


def clean(text: str) -> str:
    """Blanks collapsed: DHL's texts carry the line breaks and indentation of its XML."""
    return _BLANKS.sub(" ", text).strip()
