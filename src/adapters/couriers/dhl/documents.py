"""What DHL's JSON APIs (MyDHL, Unified) share: their answers' shipments list, their RFC 7807
problem-details errors, and timestamps that may or may not carry a zone."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timezone
from typing import Any

from adapters.couriers.base import (
    CourierAdapterError,
    CourierAuthError,
    CourierPayloadError,
    TrackingNumberNotFound,
)
from adapters.couriers.documents import JsonDocument, load_json

_BLANKS = re.compile(r"\s+")
_NUMBER_IN_QUERY = re.compile(r"(?:shipmentTrackingNumber|trackingNumber)=([^&?#\s]+)")


def shipments_of(
    courier_code: str, document: JsonDocument, requested: str | None, api: str
) -> list[Any]:
    """The ``shipments`` list of a MyDHL or Unified answer; a problem-details body raises the
    adapter error it stands for (`raise_for_problem`)."""
    data = load_json(courier_code, document, api)
    if not isinstance(data, Mapping):
        raise CourierPayloadError(courier_code, f"{api} answer is not an object")
    raise_for_problem(courier_code, data, requested, api)
    shipments = data.get("shipments")
    if not isinstance(shipments, list):
        raise CourierPayloadError(courier_code, f"{api} answer has no shipments list")
    return shipments


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
