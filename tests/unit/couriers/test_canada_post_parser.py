"""Canada Post tracking-detail XML: every fixture, both envelopes, time zones, error messages
and hostile or broken XML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from adapters.couriers.base import (
    CourierAdapterError,
    CourierAuthError,
    CourierPayloadError,
    TrackingNumberNotFound,
)
from adapters.couriers.canada_post.mapping import EVENT_STATUS, meaning_of
from adapters.couriers.canada_post.parser import parse_tracking
from platform_core.fulfillment.model import TrackingStatus

FIXTURES = Path(__file__).parents[2] / "fixtures" / "couriers" / "canada_post"
EST = timezone(timedelta(hours=-5))
CODE = "canada_post"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def unwrapped(name: str, namespace: str | None = None) -> bytes:
    """The fixture as Canada Post sends it: without karrio's <wrapper>, maybe namespaced."""
    text = fixture(name).decode()
    inner = text.split("<wrapper>", 1)[1].rsplit("</wrapper>", 1)[0].strip()
    if namespace:
        inner = inner.replace("<tracking-detail>", f'<tracking-detail xmlns="{namespace}">', 1)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{inner}'.encode()


def test_tracking_detail_yields_every_occurrence_newest_first() -> None:
    """The six significant events, in document order, with their raw codes and texts."""
    events = parse_tracking(CODE, fixture("tracking_detail_response.xml"))
    assert [(e.raw_code, e.status) for e in events] == [
        ("20", TrackingStatus.UNKNOWN),
        ("0174", TrackingStatus.OUT_FOR_DELIVERY),
        ("0100", TrackingStatus.IN_TRANSIT),
        ("0173", TrackingStatus.EXCEPTION),
        ("1496", TrackingStatus.DELIVERED),
        ("20", TrackingStatus.UNKNOWN),
    ]
    assert {e.tracking_number for e in events} == {"7023210039414604"}
    assert {e.courier_code for e in events} == {CODE}
    assert events[1].raw_text == "Item out for delivery"
    assert events[3].raw_text.startswith("Customer addressing error found")


def test_event_times_keep_the_eastern_offset() -> None:
    """Date, time and EST make an aware datetime at -05:00, not converted to UTC."""
    events = parse_tracking(CODE, fixture("tracking_detail_response.xml"))
    delivered = events[4]
    assert delivered.occurred_at == datetime(2011, 2, 1, 7, 59, 52, tzinfo=EST)
    assert delivered.occurred_at.utcoffset() == timedelta(hours=-5)
    assert events[0].occurred_at == datetime(2011, 2, 3, 16, 59, 59, tzinfo=UTC)


def test_locations_join_site_and_province() -> None:
    events = parse_tracking(CODE, fixture("tracking_detail_response.xml"))
    assert [e.location for e in events] == [
        "SAINTE-FOY, QC",
        "SAINTE-FOY, QC",
        "QUEBEC, QC",
        "QUEBEC, QC",
        "QUEBEC, QC",
        "QUEBEC, QC",
    ]


def test_addressing_error_is_an_exception_with_a_reason() -> None:
    events = parse_tracking(CODE, fixture("tracking_detail_response.xml"))
    assert events[3].exception_reason is not None
    assert "address" in events[3].exception_reason
    assert all(e.exception_reason is None for e in events if e.raw_code != "0173")


def test_same_scan_gives_the_same_dedupe_key_on_every_parse() -> None:
    """Repeated polls of one document yield identical events (dedupe relies on it)."""
    first = parse_tracking(CODE, fixture("tracking_detail_response.xml"))
    again = parse_tracking(CODE, fixture("tracking_detail_response.xml"))
    assert [e.dedupe_key for e in first] == [e.dedupe_key for e in again]
    # The two signature events differ in time, so they are two scans.
    assert first[0].dedupe_key != first[5].dedupe_key


@pytest.mark.parametrize("namespace", [None, "http://www.canadapost.ca/ws/track"])
def test_real_body_without_wrapper_with_or_without_namespace(namespace: str | None) -> None:
    """Canada Post's own body (no <wrapper>), namespaced as track.xsd says or not."""
    events = parse_tracking(CODE, unwrapped("tracking_detail_response.xml", namespace))
    assert [e.raw_code for e in events] == ["20", "0174", "0100", "0173", "1496", "20"]
    assert events[4].location == "QUEBEC, QC"


def test_no_pin_history_is_tracking_number_not_found() -> None:
    with pytest.raises(TrackingNumberNotFound) as raised:
        parse_tracking(
            CODE, fixture("unknown_tracking_number_response.xml"), tracking_number="1234567890123"
        )
    assert raised.value.tracking_number == "1234567890123"
    assert raised.value.retryable is False
    assert "No Pin History" in raised.value.message


def test_unwrapped_no_pin_history_is_not_found_too() -> None:
    with pytest.raises(TrackingNumberNotFound):
        parse_tracking(CODE, unwrapped("unknown_tracking_number_response.xml"))


def test_authentication_failure_is_an_auth_error() -> None:
    with pytest.raises(CourierAuthError) as raised:
        parse_tracking(CODE, fixture("auth_error_response.xml"))
    assert "E002" in raised.value.message
    assert raised.value.retryable is False


def test_other_messages_are_adapter_errors_with_their_codes() -> None:
    body = (
        b'<messages xmlns="http://www.canadapost.ca/ws/messages"><message>'
        b"<code>9999</code><description>Something else</description></message></messages>"
    )
    with pytest.raises(CourierAdapterError) as raised:
        parse_tracking(CODE, body)
    assert type(raised.value) is CourierAdapterError
    assert raised.value.details["codes"] == ["9999"]
    assert "Something else" in raised.value.message


@pytest.mark.parametrize(
    ("zone", "offset"),
    [
        ("EST", -5),
        ("EDT", -4),
        ("CST", -6),
        ("CDT", -5),
        ("MST", -7),
        ("MDT", -6),
        ("PST", -8),
        ("PDT", -7),
        ("AST", -4),
        ("ADT", -3),
        ("NST", -3.5),
        ("NDT", -2.5),
        ("UTC", 0),
        ("GMT", 0),
        ("", 0),  # international events: unknown zone read as UTC
        ("ISRAEL", 0),
    ],
)
def test_time_zone_abbreviations_become_fixed_offsets(zone: str, offset: float) -> None:
    body = _single_event(zone=zone)
    (event,) = parse_tracking(CODE, body)
    assert event.occurred_at.utcoffset() == timedelta(hours=offset)
    assert (event.occurred_at.hour, event.occurred_at.minute) == (10, 30)


def _single_event(
    *, code: str = "0100", zone: str = "EST", day: str = "2024-03-10", pin: str = "<pin>1</pin>"
) -> bytes:
    return (
        f"<tracking-detail>{pin}<significant-events><occurrence>"
        f"<event-identifier>{code}</event-identifier><event-date>{day}</event-date>"
        f"<event-time>10:30:00</event-time><event-time-zone>{zone}</event-time-zone>"
        f"<event-description>x</event-description><event-site></event-site>"
        f"<event-province/></occurrence></significant-events></tracking-detail>"
    ).encode()


def test_event_without_site_has_no_location() -> None:
    (event,) = parse_tracking(CODE, _single_event())
    assert event.location is None


def test_unknown_codes_are_unknown_with_the_raw_code_kept() -> None:
    (event,) = parse_tracking(CODE, _single_event(code="9876"))
    assert (event.status, event.raw_code, event.exception_reason) == (
        TrackingStatus.UNKNOWN,
        "9876",
        None,
    )


def test_codes_compare_as_four_digits() -> None:
    """``174`` and ``0174`` are the same Canada Post event."""
    assert meaning_of("174") == meaning_of("0174") == EVENT_STATUS["0174"]
    assert meaning_of("1496").status is TrackingStatus.DELIVERED
    assert meaning_of("0167").status is TrackingStatus.RETURNED
    assert meaning_of("3000").status is TrackingStatus.PRE_TRANSIT


def test_every_exception_in_the_table_has_a_reason() -> None:
    for meaning in EVENT_STATUS.values():
        assert (meaning.status is TrackingStatus.EXCEPTION) == (
            meaning.exception_reason is not None
        )


def test_document_without_pin_uses_the_number_asked_for() -> None:
    (event,) = parse_tracking(CODE, _single_event(pin=""), tracking_number="7023210039414604")
    assert event.tracking_number == "7023210039414604"
    with pytest.raises(CourierPayloadError):
        parse_tracking(CODE, _single_event(pin=""))


def test_tracking_detail_without_events_yields_none() -> None:
    assert parse_tracking(CODE, b"<tracking-detail><pin>1</pin></tracking-detail>") == []


@pytest.mark.parametrize(
    "body",
    [
        _single_event(day="not-a-date"),
        _single_event(code=""),
        _single_event(pin="<pin>has blanks</pin>"),
    ],
)
def test_unreadable_events_are_payload_errors(body: bytes) -> None:
    with pytest.raises(CourierPayloadError):
        parse_tracking(CODE, body)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<tracking-detail><pin>&lol4;</pin></tracking-detail>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<tracking-detail><pin>&xxe;</pin></tracking-detail>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE tracking-detail SYSTEM "http://attacker.invalid/evil.dtd">
<tracking-detail><pin>1</pin></tracking-detail>"""

PLAIN_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE tracking-detail [<!ELEMENT tracking-detail ANY>]>
<tracking-detail><pin>1</pin></tracking-detail>"""


@pytest.mark.parametrize(
    "body",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PLAIN_DTD],
    ids=["billion-laughs", "external-entity", "external-dtd", "internal-dtd"],
)
def test_hostile_xml_is_refused_without_expansion(body: bytes) -> None:
    """Any DTD is refused before entities are expanded or fetched."""
    with pytest.raises(CourierPayloadError) as raised:
        parse_tracking(CODE, body)
    assert "hostile" in raised.value.message
    assert raised.value.retryable is False


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not xml at all",
        b'{"json": true}',
        b"<tracking-detail><pin>1</pin>",
        b"\xff\xfe\x00garbage",
        b"<wrapper></wrapper>",
        b"<html><body>502 Bad Gateway</body></html>",
    ],
    ids=["empty", "text", "json", "truncated", "binary", "empty-wrapper", "html"],
)
def test_garbage_is_a_payload_error(body: bytes) -> None:
    with pytest.raises(CourierPayloadError):
        parse_tracking(CODE, body)
