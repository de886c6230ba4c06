"""DHL Unified Shipment Tracking parser over every dhl_unified fixture, and its webhook."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.couriers.base import CourierAuthError, CourierPayloadError, TrackingNumberNotFound
from adapters.couriers.dhl.mapping import classify_unified
from adapters.couriers.dhl.unified_parser import parse_unified, parse_webhook
from platform_core.fulfillment.model import TrackingStatus

FIXTURES = Path(__file__).parents[2] / "fixtures" / "couriers" / "dhl_unified"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def shipment(events: list[dict[str, Any]], **changes: Any) -> dict[str, Any]:
    return {"shipments": [{"id": "00340434292135100124", "events": events, **changes}]}


def event(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "timestamp": "2024-03-02T07:53:47+01:00",
        "statusCode": "transit",
        "status": "PROCESSED",
        "description": "Processed at Leipzig hub",
        "location": {"address": {"addressLocality": "Leipzig", "countryCode": "DE"}},
    }
    base.update(changes)
    return base


def test_tracking_response_sample() -> None:
    """The numeric id becomes text; the contradictory sample (statusCode pre-transit, status
    DELIVERED) is pre_transit, keeping both words; the zone-less time is UTC."""
    (parsed,) = parse_unified("dhl", fixture("tracking_response.json"))

    assert parsed.tracking_number == "7777777770"
    assert parsed.status is TrackingStatus.PRE_TRANSIT
    assert parsed.raw_code == "pre-transit"
    assert parsed.raw_text == "DELIVERED - JESSICA"
    assert parsed.occurred_at == datetime(2018, 3, 2, 7, 53, 47, tzinfo=UTC)
    assert parsed.location == "Oderweg 2, AMSTERDAM, 1043 AG, NL"
    assert parsed.exception_reason is None


def test_error_404_is_not_found_naming_the_instance_number() -> None:
    with pytest.raises(TrackingNumberNotFound) as caught:
        parse_unified("dhl", fixture("tracking_error_response_404.json"))

    assert caught.value.tracking_number == "8264715546"


def test_schema_sample_parts_parse_like_the_standalone_files() -> None:
    """The schema file bundles request, response and error: the response part gives the
    same events as tracking_response.json, the error part is not found, and the bundle
    itself is no tracking answer."""
    schema = json.loads(fixture("schema_tracking.json"))

    assert parse_unified("dhl", schema["trackingResponse"]) == parse_unified(
        "dhl", fixture("tracking_response.json")
    )
    with pytest.raises(TrackingNumberNotFound):
        parse_unified("dhl", schema["error"], requested="8264715546")
    with pytest.raises(CourierPayloadError):
        parse_unified("dhl", schema)


def test_offset_is_kept_when_dhl_gives_one() -> None:
    (parsed,) = parse_unified("dhl", shipment([event()]))

    assert parsed.occurred_at.utcoffset() == timedelta(hours=1)
    assert parsed.location == "Leipzig, DE"
    assert parsed.raw_text == "PROCESSED - Processed at Leipzig hub"


def test_failure_is_an_exception_with_the_remark_as_reason() -> None:
    (parsed,) = parse_unified(
        "dhl", shipment([event(statusCode="failure", remark="Recipient refused the parcel")])
    )

    assert parsed.status is TrackingStatus.EXCEPTION
    assert parsed.exception_reason == "Recipient refused the parcel"


def test_unknown_status_code_falls_back_to_the_status_word() -> None:
    (parsed,) = parse_unified("dhl", shipment([event(statusCode="unknown", status="delivered")]))

    assert parsed.status is TrackingStatus.DELIVERED
    assert parsed.raw_code == "unknown"


def test_status_word_alone_is_the_raw_code() -> None:
    (parsed,) = parse_unified(
        "dhl", shipment([event(statusCode=None, status="Something New", description=None)])
    )

    assert (parsed.status, parsed.raw_code, parsed.raw_text) == (
        TrackingStatus.UNKNOWN,
        "Something New",
        "",
    )


def test_shipment_without_events_yields_its_status() -> None:
    (parsed,) = parse_unified(
        "dhl", shipment([], status=event(statusCode="delivered", timestamp="2024-03-04T10:00:00Z"))
    )

    assert parsed.status is TrackingStatus.DELIVERED
    assert parsed.occurred_at == datetime(2024, 3, 4, 10, tzinfo=UTC)


@pytest.mark.parametrize(("status", "error"), [(401, CourierAuthError), (403, CourierAuthError)])
def test_auth_problems(status: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_unified("dhl", {"status": status, "title": "Unauthorized"})


@pytest.mark.parametrize(
    "document",
    [
        b"garbage",
        b"[1, 2]",
        {"shipments": "x"},
        {"shipments": [{"events": [event()]}]},
        {"shipments": [{"id": True, "events": [event()]}]},
        shipment([event(timestamp=None)]),
        shipment([event(timestamp="yesterday")]),
        shipment([event(statusCode=None, status=None)]),
    ],
)
def test_malformed_is_a_payload_error(document: Any) -> None:
    with pytest.raises(CourierPayloadError):
        parse_unified("dhl", document)


def test_webhook_posts_the_same_shape() -> None:
    events = parse_webhook("dhl", fixture("tracking_response.json"))

    assert [e.tracking_number for e in events] == ["7777777770"]


@pytest.mark.parametrize(
    "body", [b"not json", b"{}", fixture("tracking_error_response_404.json"), b"[]"]
)
def test_webhook_refuses_what_is_not_a_notification(body: bytes) -> None:
    with pytest.raises(CourierPayloadError):
        parse_webhook("dhl", body)


def test_status_code_wins_over_a_contradicting_word() -> None:
    assert classify_unified("pre-transit", "DELIVERED") is TrackingStatus.PRE_TRANSIT
    assert classify_unified("transit", None) is TrackingStatus.IN_TRANSIT
    assert classify_unified(None, "Returned") is TrackingStatus.RETURNED
    assert classify_unified(None, None) is TrackingStatus.UNKNOWN
