"""Canada Post tracking data as tables: what each significant-event identifier means, and the
offsets of the time-zone abbreviations its events carry.

Codes are compared as four digits (``20`` and ``0020`` are the same event); a code not in
`EVENT_STATUS` maps to ``unknown`` with its raw code and text kept, so a new Canada Post code
shows in the timeline without moving the shipment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, timedelta, timezone
from types import MappingProxyType

import attrs

from platform_core.fulfillment.model import TrackingStatus


@attrs.frozen
class EventMeaning:
    status: TrackingStatus
    exception_reason: str | None = None


def _codes(
    codes: Iterable[str], status: TrackingStatus, reason: str | None = None
) -> dict[str, EventMeaning]:
    return {code: EventMeaning(status, reason) for code in codes}


def _span(first: int, last: int) -> list[str]:
    return [f"{code:04d}" for code in range(first, last + 1)]


_ADDRESS = "addressing error: Canada Post is correcting the address, delivery may be late"
_REFUSED = "refused by the recipient"
_NOT_HOME = "recipient not available: delivery notice card left"
_HELD = "held for pickup at a post office"

EVENT_STATUS: Mapping[str, EventMeaning] = MappingProxyType(
    {
        # Electronic shipping information received / item accepted into the network.
        **_codes(["3000"], TrackingStatus.PRE_TRANSIT),
        **_codes(["3001"], TrackingStatus.IN_TRANSIT),
        # Processed at a postal facility; international legs (left/arrived in a country,
        # in transit to or at the delivery office abroad).
        **_codes(["0100", "4310", "4500", "4600"], TrackingStatus.IN_TRANSIT),
        **_codes(["0174", "0500"], TrackingStatus.OUT_FOR_DELIVERY),
        **_codes(
            ["1408", "1409", *_span(1421, 1434), "1441", "1442", *_span(1496, 1499)],
            TrackingStatus.DELIVERED,
        ),
        **_codes(["0167"], TrackingStatus.RETURNED),
        **_codes(["0170", "0172", "0173"], TrackingStatus.EXCEPTION, _ADDRESS),
        **_codes(["1415", "1416"], TrackingStatus.EXCEPTION, _REFUSED),
        **_codes(_span(1417, 1420), TrackingStatus.EXCEPTION, _NOT_HOME),
        **_codes(["1410", "1479", "1488"], TrackingStatus.EXCEPTION, _HELD),
        # "Signature image recorded for online viewing": bookkeeping next to a delivery, not
        # a scan of the item itself, so it must not move the shipment either way.
        **_codes(["0020"], TrackingStatus.UNKNOWN),
    }
)


def meaning_of(event_identifier: str) -> EventMeaning:
    """What a raw `event-identifier` means; ``unknown`` when the table does not know it."""
    code = event_identifier.strip()
    key = code.zfill(4) if code.isdigit() else code
    return EVENT_STATUS.get(key, EventMeaning(TrackingStatus.UNKNOWN))


def _hours(value: float) -> timezone:
    return timezone(timedelta(hours=value))


# North American abbreviations as Canada Post prints them, as fixed offsets: the
# abbreviation already says whether daylight time applied.
TIME_ZONES: Mapping[str, timezone] = MappingProxyType(
    {
        "NST": _hours(-3.5),
        "NDT": _hours(-2.5),
        "AST": _hours(-4),
        "ADT": _hours(-3),
        "EST": _hours(-5),
        "EDT": _hours(-4),
        "CST": _hours(-6),
        "CDT": _hours(-5),
        "MST": _hours(-7),
        "MDT": _hours(-6),
        "PST": _hours(-8),
        "PDT": _hours(-7),
        "UTC": UTC,
        "GMT": UTC,
    }
)

# International events come with an empty zone or a country name ("ISRAEL"); their local time
# cannot be placed exactly, so it is read as UTC (off by at most a day) rather than dropped.
FALLBACK_TIME_ZONE = UTC


def time_zone_of(abbreviation: str) -> timezone:
    return TIME_ZONES.get(abbreviation.strip().upper(), FALLBACK_TIME_ZONE)
