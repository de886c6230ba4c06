"""Chit Chats shipment and public tracking JSON: the fixtures, status tables, the synthetic
resolution event, and documents of the wrong shape."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from adapters.couriers.base import CourierPayloadError
from adapters.couriers.chit_chats.mapping import (
    SHIPMENT_STATUS,
    meaning_of_event,
    meaning_of_status,
)
from adapters.couriers.chit_chats.parser import load_json, parse_public_tracking, parse_shipment
from platform_core.fulfillment.model import TrackingStatus

FIXTURES = Path(__file__).parents[2] / "fixtures" / "couriers" / "chit_chats"
PACIFIC = timezone(timedelta(hours=-8))
CODE = "chit_chats"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_shipment_events_map_their_types() -> None:
    """The three typed events of GET /shipments/{id}, newest first, raw types kept."""
    events = parse_shipment(CODE, fixture("shipment_get_response.json"))
    assert [(e.raw_code, e.status) for e in events] == [
        ("receive_shipment", TrackingStatus.IN_TRANSIT),
        ("buy_shipment_postage", TrackingStatus.PRE_TRANSIT),
        ("create_shipment", TrackingStatus.PRE_TRANSIT),
    ]
    assert {e.tracking_number for e in events} == {"8ERNJ8SCQ9"}
    assert {e.location for e in events} == {None}


def test_shipment_event_times_keep_the_pacific_offset() -> None:
    events = parse_shipment(CODE, fixture("shipment_get_response.json"))
    assert events[0].occurred_at == datetime(2017, 11, 15, 9, 53, 32, 991000, tzinfo=PACIFIC)
    assert events[0].occurred_at.utcoffset() == timedelta(hours=-8)


def test_raw_text_joins_title_and_subtitle() -> None:
    events = parse_shipment(CODE, fixture("shipment_get_response.json"))
    assert [e.raw_text for e in events] == [
        "Received by Chit Chats: Delivery Fee $1.00",
        "Postage purchased: USPS Priority Mail® $22.39",
        "Shipment created",
    ]


def test_public_tracking_maps_untyped_events_by_title() -> None:
    """The public JSON has no `type`: the title is the raw code and says pre-transit."""
    (event,) = parse_public_tracking(CODE, fixture("tracking_public_json_response.json"))
    assert event.tracking_number == "B5T85U7E1C"
    assert event.raw_code == "Shipment created, Chit Chats awaiting item"
    assert event.status is TrackingStatus.PRE_TRANSIT
    assert event.occurred_at == datetime(2019, 1, 26, 17, 28, 59, 797000, tzinfo=PACIFIC)


def test_every_documented_status_value_is_in_the_table() -> None:
    """Each status of shipment_status_values.json (top level, sub-statuses, buy statuses)."""
    values = fixture("shipment_status_values.json")
    documented = {entry["value"] for entry in values["status_filter_values"]}
    for entry in values["status_filter_values"]:
        documented |= {sub["value"] for sub in entry.get("sub_statuses", [])}
    documented |= {entry["value"] for entry in values["other_status_values_mentioned"]}
    assert documented <= set(SHIPMENT_STATUS)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("pending", TrackingStatus.PRE_TRANSIT),
        ("ready", TrackingStatus.PRE_TRANSIT),
        ("received", TrackingStatus.IN_TRANSIT),
        ("released", TrackingStatus.IN_TRANSIT),
        ("inducted", TrackingStatus.IN_TRANSIT),
        ("delivered", TrackingStatus.DELIVERED),
        ("exception", TrackingStatus.EXCEPTION),
        ("voided", TrackingStatus.EXCEPTION),
        ("canceled", TrackingStatus.EXCEPTION),
        ("postage_purchase_failed", TrackingStatus.EXCEPTION),
        ("resolved", TrackingStatus.UNKNOWN),
        ("something_new", TrackingStatus.UNKNOWN),
    ],
)
def test_shipment_statuses_map(status: str, expected: TrackingStatus) -> None:
    meaning = meaning_of_status(status)
    assert meaning.status is expected
    assert (meaning.exception_reason is not None) == (expected is TrackingStatus.EXCEPTION)


def test_event_types_and_titles_map_or_stay_unknown() -> None:
    assert meaning_of_event("brand_new_type", "Delivered").status is TrackingStatus.UNKNOWN
    assert meaning_of_event("", "Delivered to mailbox").status is TrackingStatus.DELIVERED
    assert meaning_of_event("", "Out for delivery").status is TrackingStatus.OUT_FOR_DELIVERY
    assert meaning_of_event("", "Something happened").status is TrackingStatus.UNKNOWN


def _shipment(status: str, **extra: Any) -> dict[str, Any]:
    document = copy.deepcopy(fixture("shipment_get_response.json"))
    document["shipment"]["status"] = status
    document["shipment"].update(extra)
    return document


def test_received_status_adds_no_synthetic_event() -> None:
    """In-transit statuses are what the events already say."""
    assert len(parse_shipment(CODE, _shipment("received"))) == 3


def test_delivered_status_adds_one_synthetic_event_at_the_newest_event_time() -> None:
    """A resolution the events do not carry becomes one event, stable across polls."""
    events = parse_shipment(CODE, _shipment("delivered"))
    assert len(events) == 4
    resolution = events[0]
    assert (resolution.raw_code, resolution.status) == (
        "status:delivered",
        TrackingStatus.DELIVERED,
    )
    assert resolution.occurred_at == events[1].occurred_at
    again = parse_shipment(CODE, _shipment("delivered"))
    assert again[0].dedupe_key == resolution.dedupe_key


def test_synthetic_event_uses_resolved_at_when_present() -> None:
    events = parse_shipment(CODE, _shipment("voided", resolved_at="2017-11-20T10:00:00-08:00"))
    assert events[0].occurred_at == datetime(2017, 11, 20, 10, tzinfo=PACIFIC)
    assert events[0].status is TrackingStatus.EXCEPTION
    assert events[0].exception_reason is not None
    assert "voided" in events[0].exception_reason


def test_synthetic_event_without_events_uses_created_at() -> None:
    (event,) = parse_shipment(CODE, _shipment("canceled", tracking_events=[]))
    assert event.occurred_at == datetime(2017, 11, 14, 11, 4, 32, 168000, tzinfo=PACIFIC)
    assert event.raw_code == "status:canceled"


def test_no_synthetic_event_when_an_event_already_says_so() -> None:
    document = _shipment("delivered")
    document["shipment"]["tracking_events"].insert(
        0,
        {
            "type": None,
            "title": "Delivered",
            "subtitle": None,
            "location_description": "ROCHESTER, NY",
            "created_at": "2017-11-20T12:00:00.000-05:00",
            "status": "delivered",
        },
    )
    events = parse_shipment(CODE, document)
    assert len(events) == 4
    assert events[0].raw_code == "status:delivered"
    assert events[0].location == "ROCHESTER, NY"
    assert events[0].occurred_at.utcoffset() == timedelta(hours=-5)


def test_public_tracking_resolution_is_the_status() -> None:
    document = copy.deepcopy(fixture("tracking_public_json_response.json"))
    document["shipment"]["resolution"] = "delivered"
    document["shipment"]["resolved_at"] = "2019-02-20T09:00:00.000-08:00"
    events = parse_public_tracking(CODE, document)
    assert events[0].status is TrackingStatus.DELIVERED
    assert events[0].occurred_at == datetime(2019, 2, 20, 9, tzinfo=PACIFIC)


@pytest.mark.parametrize(
    "document",
    [
        None,
        [],
        "shipment",
        {"shipments": []},
        {"shipment": "x"},
        {"shipment": {"status": "received"}},
        {"shipment": {"id": "A1", "tracking_events": "nope"}},
        {"shipment": {"id": "A1", "tracking_events": [1, 2]}},
        {"shipment": {"id": "A1", "tracking_events": [{"title": "x", "created_at": "soon"}]}},
        {"shipment": {"id": "A1", "tracking_events": [{"created_at": "2019-01-01T00:00:00"}]}},
        {"shipment": {"id": "has blank", "tracking_events": [{"created_at": "2019-01-01Z"}]}},
    ],
    ids=[
        "null",
        "list",
        "string",
        "wrong-key",
        "shipment-not-object",
        "no-id",
        "events-not-list",
        "events-not-objects",
        "bad-time",
        "naive-time",
        "invalid-id",
    ],
)
def test_wrong_shapes_are_payload_errors(document: object) -> None:
    with pytest.raises(CourierPayloadError):
        parse_shipment(CODE, document)


def test_list_response_is_not_a_shipment_document() -> None:
    with pytest.raises(CourierPayloadError):
        parse_shipment(CODE, fixture("shipments_list_response.json"))


@pytest.mark.parametrize("body", [b"", b"<html>", b"\xff\xfe", b"{'single': 'quotes'}"])
def test_non_json_bodies_are_payload_errors(body: bytes) -> None:
    with pytest.raises(CourierPayloadError):
        load_json(CODE, body)
