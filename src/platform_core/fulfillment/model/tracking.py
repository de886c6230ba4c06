"""Normalised courier tracking: the statuses every courier adapter maps its own codes onto,
one courier event, and an event as recorded against a shipment."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import attrs

from platform_core.fulfillment.model.fields import (
    instant,
    member_of,
    optional_text,
    text,
)
from platform_core.shared.errors import ValidationError
from platform_core.shared.events import JsonValue
from platform_core.shared.ids import id_field, non_empty_text


class TrackingStatus(StrEnum):
    """What a courier event means, whatever the courier called it."""

    PRE_TRANSIT = "pre_transit"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED = "returned"
    UNKNOWN = "unknown"


_COURIER_CODE = re.compile(r"[a-z][a-z0-9_]{1,31}")
MAX_TRACKING_NUMBER_LENGTH = 64


def check_courier_code(value: object, field: str = "courier_code") -> str:
    """A courier code such as ``usps`` or ``canada_post``: lower-case letters, digits, ``_``."""
    if not isinstance(value, str) or not _COURIER_CODE.fullmatch(value):
        raise ValidationError(
            f"{field} must be a lower-case courier code such as 'usps'",
            {"field": field, "value": repr(value)},
        )
    return value


def check_tracking_number(value: object, field: str = "tracking_number") -> str:
    """A tracking number as the courier prints it, without blanks (they break matching)."""
    if (
        not isinstance(value, str)
        or not value
        or len(value) > MAX_TRACKING_NUMBER_LENGTH
        or any(char.isspace() for char in value)
    ):
        raise ValidationError(
            f"{field} must be 1 to {MAX_TRACKING_NUMBER_LENGTH} characters without blanks",
            {"field": field, "value": repr(value)},
        )
    return value


def _courier_code_field(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    check_courier_code(value, attribute.name)


def _tracking_number_field(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    check_tracking_number(value, attribute.name)


@attrs.frozen(kw_only=True)
class TrackingEvent:
    """One courier scan: what the courier said (`raw_code`, `raw_text`) and what it means.

    Two events with the same raw code at the same instant are the same scan, however often a
    webhook or a poll repeats it (`dedupe_key`).
    """

    courier_code: str = attrs.field(validator=_courier_code_field)
    tracking_number: str = attrs.field(validator=_tracking_number_field)
    status: TrackingStatus = attrs.field(validator=member_of(TrackingStatus))
    raw_code: str = attrs.field(validator=non_empty_text)
    raw_text: str = attrs.field(default="", validator=text)
    occurred_at: datetime = attrs.field(validator=instant)
    location: str | None = attrs.field(default=None, validator=optional_text)
    exception_reason: str | None = attrs.field(default=None, validator=optional_text)

    @property
    def dedupe_key(self) -> str:
        # In UTC, so one instant reported with two offsets is still one scan.
        return f"{self.raw_code}@{self.occurred_at.astimezone(UTC).isoformat()}"

    def to_payload(self) -> dict[str, JsonValue]:
        return {
            "courier_code": self.courier_code,
            "tracking_number": self.tracking_number,
            "status": self.status.value,
            "raw_code": self.raw_code,
            "raw_text": self.raw_text,
            "occurred_at": self.occurred_at.isoformat(),
            "location": self.location,
            "exception_reason": self.exception_reason,
        }


@attrs.frozen(kw_only=True)
class ShipmentTrackingEvent:
    """A courier event recorded against a shipment: one row per scan (a shipment can collect
    hundreds), unique per shipment and dedupe key; rows are never changed."""

    id: str = attrs.field(validator=id_field)
    shipment_id: str = attrs.field(validator=id_field)
    event: TrackingEvent
    recorded_at: datetime = attrs.field(validator=instant)
    version: int = 1

    @property
    def dedupe_key(self) -> str:
        return self.event.dedupe_key
