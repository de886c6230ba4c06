"""USPS Tracking v3 parser over every USPS fixture, plus the cases the fixtures lack."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from adapters.couriers.base import (
    CourierAdapterError,
    CourierAuthError,
    CourierPayloadError,
    TrackingNumberNotFound,
)
from adapters.couriers.usps.mapping import EVENT_CODES, EXCEPTION_REASONS, classify
from adapters.couriers.usps.parser import parse_tracking, parse_webhook, raise_for_error
from platform_core.fulfillment.model import TrackingStatus

FIXTURES = Path(__file__).parents[2] / "fixtures" / "couriers" / "usps"
EASTERN = timezone(timedelta(hours=-5))
NUMBER = "9400109104250532908587"

EXPECTED_DELIVERED = [
    ("01", TrackingStatus.DELIVERED, "2024-11-22T13:58:00", "HERNANDO, FL 34442"),
    ("OF", TrackingStatus.OUT_FOR_DELIVERY, "2024-11-22T09:10:00", "HERNANDO, FL 34442"),
    ("07", TrackingStatus.IN_TRANSIT, "2024-11-22T08:59:00", "LECANTO, FL 34461"),
    (
        "A1",
        TrackingStatus.IN_TRANSIT,
        "2024-11-20T01:13:00",
        "JACKSONVILLE FL DISTRIBUTION CENTER",
    ),
    ("TL", TrackingStatus.IN_TRANSIT, "2024-11-20T01:11:00", None),
    ("TL", TrackingStatus.IN_TRANSIT, "2024-11-19T18:07:00", None),
    ("TL", TrackingStatus.IN_TRANSIT, "2024-11-19T12:11:00", None),
    ("T1", TrackingStatus.IN_TRANSIT, "2024-11-19T06:16:00", "QUEENS NY DISTRIBUTION CENTER"),
    ("10", TrackingStatus.IN_TRANSIT, "2024-11-18T18:02:00", "QUEENS NY DISTRIBUTION CENTER"),
    ("SF", TrackingStatus.IN_TRANSIT, "2024-11-18T17:01:00", "JAMAICA, NY 11430"),
    ("03", TrackingStatus.IN_TRANSIT, "2024-11-18T11:10:00", "JAMAICA, NY 11430"),
    ("GX", TrackingStatus.PRE_TRANSIT, "2024-11-15T11:32:00", "SPRINGFIELD GARDENS, NY 11413"),
]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def one_event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "eventType": "Delivered, In/At Mailbox",
        "eventTimestamp": "2024-11-22T13:58:00",
        "GMTTimestamp": "2024-11-22T18:58:40Z",
        "GMTOffset": "-05:00",
        "eventCity": "HERNANDO",
        "eventState": "FL",
        "eventZIP": "34442",
        "eventCountry": None,
        "eventCode": "01",
    }
    event.update(changes)
    return {"trackingNumber": NUMBER, "statusCategory": "Delivered", "trackingEvents": [event]}


@pytest.mark.parametrize(
    "name",
    [
        "tracking_v3_response_delivered.json",
        "usps_international_tracking_v3_response_delivered.json",
    ],
)
def test_delivered_sample_gives_every_event_newest_first(name: str) -> None:
    """All 12 scans, in USPS's order, with their code, status, local time and place."""
    events = parse_tracking("usps", fixture(name))

    assert [
        (e.raw_code, e.status, e.occurred_at.replace(tzinfo=None).isoformat(), e.location)
        for e in events
    ] == EXPECTED_DELIVERED
    assert {e.tracking_number for e in events} == {NUMBER}
    assert {e.courier_code for e in events} == {"usps"}


def test_times_keep_the_local_offset_and_are_the_right_instant() -> None:
    """eventTimestamp is local without a zone; GMTOffset puts it at -05:00, the instant
    agreeing with GMTTimestamp to the minute."""
    delivered = parse_tracking("usps", fixture("tracking_v3_response_delivered.json"))[0]

    assert delivered.occurred_at == datetime(2024, 11, 22, 13, 58, tzinfo=EASTERN)
    assert delivered.occurred_at.utcoffset() == timedelta(hours=-5)
    assert delivered.occurred_at.astimezone(UTC) == datetime(2024, 11, 22, 18, 58, tzinfo=UTC)


def test_raw_text_is_kept_and_label_created_is_pre_transit() -> None:
    events = parse_tracking("usps", fixture("tracking_v3_response_delivered.json"))

    assert events[0].raw_text == "Delivered, Parcel Locker"
    assert events[-1].raw_text == "Shipping Label Created, USPS Awaiting Item"
    assert all(e.exception_reason is None for e in events)


def test_schema_sample_list_gives_events_of_both_objects() -> None:
    """The schema sample is a list: the real object's 12 events, then the placeholder's one
    event whose unknown code stays unknown, keeping code, text and its own UTC time."""
    events = parse_tracking("usps", fixture("schema_tracking_responses.json"))

    assert len(events) == 13
    assert [e.raw_code for e in events[:12]] == [row[0] for row in EXPECTED_DELIVERED]
    placeholder = events[12]
    assert placeholder.tracking_number == "string"
    assert placeholder.status is TrackingStatus.UNKNOWN
    assert (placeholder.raw_code, placeholder.raw_text) == ("string", "string")
    assert placeholder.occurred_at == datetime(2019, 8, 24, 14, 15, 22, tzinfo=UTC)


def test_oauth_error_document_is_an_auth_error() -> None:
    with pytest.raises(CourierAuthError, match="Client authentication failed"):
        parse_tracking("usps", fixture("oauth_auth_error_response.json"))


def test_error_envelope_is_an_adapter_error_that_cannot_be_retried() -> None:
    with pytest.raises(CourierAdapterError) as caught:
        parse_tracking("usps", fixture("tracking_v3_error_response.json"))

    assert type(caught.value) is CourierAdapterError
    assert caught.value.retryable is False


def test_not_found_envelope_names_the_requested_number() -> None:
    body = {
        "apiVersion": "3.0",
        "error": {
            "code": "404",
            "message": "Not Found",
            "errors": [{"status": "404", "title": "Tracking number not found"}],
        },
    }
    with pytest.raises(TrackingNumberNotFound) as caught:
        parse_tracking("usps", json.dumps(body).encode(), requested="9400100000000000000000")

    assert caught.value.tracking_number == "9400100000000000000000"


def test_unauthorized_envelope_is_an_auth_error() -> None:
    body = {"error": {"code": "401", "message": "Unauthorized", "errors": []}}
    with pytest.raises(CourierAuthError):
        parse_tracking("usps", body)


def test_raise_for_error_on_a_body_without_envelope_is_still_an_error() -> None:
    with pytest.raises(CourierAdapterError):
        raise_for_error("usps", b'{"something": "else"}', "X1")


@pytest.mark.parametrize("body", [b"<html>502</html>", b"\xff\xfe\x00garbage", b""])
def test_garbage_is_a_payload_error(body: bytes) -> None:
    with pytest.raises(CourierPayloadError):
        parse_tracking("usps", body)


@pytest.mark.parametrize(
    "document",
    [
        {"trackingEvents": []},
        {"trackingNumber": NUMBER, "trackingEvents": "nope"},
        {"trackingNumber": NUMBER, "trackingEvents": [{"eventType": "x"}]},
        {"trackingNumber": NUMBER, "trackingEvents": [{"eventCode": "01"}]},
        {"trackingNumber": "94 001", "trackingEvents": [one_event()["trackingEvents"][0]]},
        "a string",
    ],
)
def test_wrong_shapes_are_payload_errors(document: Any) -> None:
    """No number, events not a list, no code, no time, a number with blanks, not an object."""
    with pytest.raises(CourierPayloadError):
        parse_tracking("usps", json.dumps(document).encode())


def test_html_is_stripped_from_texts() -> None:
    document = one_event(eventType="Delivered<SUP>&#174;</SUP> to&nbsp;<b>Mailbox</b>")

    event = parse_tracking("usps", document)[0]

    assert event.raw_text == "Delivered® to Mailbox"


def test_gmt_timestamp_is_used_at_the_offset_when_local_time_is_missing() -> None:
    document = one_event(eventTimestamp=None, GMTOffset="-7:00")

    event = parse_tracking("usps", document)[0]

    assert event.occurred_at == datetime(2024, 11, 22, 18, 58, 40, tzinfo=UTC)
    assert event.occurred_at.utcoffset() == timedelta(hours=-7)


def test_gmt_timestamp_alone_is_utc() -> None:
    event = parse_tracking("usps", one_event(eventTimestamp=None, GMTOffset=None))[0]

    assert event.occurred_at == datetime(2024, 11, 22, 18, 58, 40, tzinfo=UTC)
    assert event.occurred_at.utcoffset() == timedelta(0)


def test_local_time_without_any_zone_hint_is_taken_as_utc() -> None:
    event = parse_tracking("usps", one_event(GMTTimestamp=None, GMTOffset=None))[0]

    assert event.occurred_at == datetime(2024, 11, 22, 13, 58, tzinfo=UTC)


def test_exception_code_gets_its_reason() -> None:
    event = parse_tracking("usps", one_event(eventCode="04", eventType="Refused"))[0]

    assert event.status is TrackingStatus.EXCEPTION
    assert event.exception_reason == "Refused by the recipient"


def test_return_to_sender_codes_are_returned_with_the_reason() -> None:
    event = parse_tracking("usps", one_event(eventCode="21", eventType="No Such Number"))[0]

    assert event.status is TrackingStatus.RETURNED
    assert event.exception_reason == "Returned to sender: no such number"


def test_unknown_newest_code_falls_back_to_the_status_category() -> None:
    """A code the table lacks on the newest event takes the object's statusCategory."""
    event = parse_tracking("usps", one_event(eventCode="ZZ", eventType="Delivered"))[0]

    assert event.status is TrackingStatus.DELIVERED
    assert event.raw_code == "ZZ"


def test_category_fallback_applies_to_the_newest_event_only() -> None:
    document = one_event(eventCode="ZZ")
    older = dict(
        document["trackingEvents"][0], eventCode="YY", eventTimestamp="2024-11-20T10:00:00"
    )
    document["trackingEvents"].append(older)
    document["statusCategory"] = "Alert"
    document["status"] = "Alert: <b>Insufficient</b> Address"

    newest, oldest = parse_tracking("usps", document)

    assert newest.status is TrackingStatus.EXCEPTION
    assert newest.exception_reason == "Alert: Insufficient Address"
    assert oldest.status is TrackingStatus.UNKNOWN


def test_international_event_location_names_the_country() -> None:
    document = one_event(eventCity="SHANGHAI", eventState=None, eventZIP=None, eventCountry="CHINA")

    assert parse_tracking("usps", document)[0].location == "SHANGHAI, CHINA"


def test_every_table_code_classifies_and_reasons_belong_to_exceptions_or_returns() -> None:
    for code, status in EVENT_CODES.items():
        assert classify(code)[0] is status
        if status in (TrackingStatus.EXCEPTION, TrackingStatus.RETURNED):
            assert code in EXCEPTION_REASONS
    assert set(EXCEPTION_REASONS) <= set(EVENT_CODES)
    assert classify("of") == (TrackingStatus.OUT_FOR_DELIVERY, None)


# --- webhook ---------------------------------------------------------------------------------


def test_webhook_with_a_tracking_object_gives_its_events() -> None:
    events = parse_webhook("usps", fixture("tracking_v3_response_delivered.json"))

    assert len(events) == 12
    assert events[0].status is TrackingStatus.DELIVERED


def test_webhook_with_a_list_gives_every_object() -> None:
    assert len(parse_webhook("usps", fixture("schema_tracking_responses.json"))) == 13


def test_webhook_with_a_single_event_notification() -> None:
    event = one_event()["trackingEvents"][0]
    body = json.dumps({"trackingNumber": NUMBER, "trackingEvent": event}).encode()

    (parsed,) = parse_webhook("usps", body)

    assert (parsed.tracking_number, parsed.raw_code) == (NUMBER, "01")


@pytest.mark.parametrize(
    "body", [b"not json", b"42", fixture("oauth_auth_error_response.json"), b'{"x": 1}']
)
def test_webhook_refuses_what_is_not_a_notification(body: bytes) -> None:
    with pytest.raises(CourierPayloadError):
        parse_webhook("usps", body)
