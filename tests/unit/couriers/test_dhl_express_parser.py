"""DHL Express parsers (MyDHL JSON and XML-PI) over every dhl_express fixture, plus hostile
and malformed input."""

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
from adapters.couriers.dhl.express_parser import parse_mydhl, parse_xmlpi, parse_xmlpi_result
from adapters.couriers.dhl.mapping import EXPRESS_CODES, EXPRESS_REASONS, classify_express
from platform_core.fulfillment.model import TrackingStatus

FIXTURES = Path(__file__).parents[2] / "fixtures" / "couriers" / "dhl_express"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<TrackingResponse><AWBInfo><AWBNumber>&lol4;</AWBNumber></AWBInfo></TrackingResponse>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<TrackingResponse><AWBInfo><AWBNumber>&xxe;</AWBNumber></AWBInfo></TrackingResponse>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE TrackingResponse SYSTEM "http://attacker.example/evil.dtd">
<TrackingResponse/>"""
PLAIN_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE TrackingResponse [<!ELEMENT TrackingResponse ANY>]>
<TrackingResponse/>"""


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def summary(events: list[Any]) -> list[tuple[str, str, TrackingStatus, str, str | None]]:
    return [
        (e.tracking_number, e.raw_code, e.status, e.occurred_at.isoformat(), e.location)
        for e in events
    ]


# --- MyDHL -----------------------------------------------------------------------------------


def test_mydhl_delivered_sample() -> None:
    """Two events newest first; no GMTOffset, so the times are UTC."""
    events = parse_mydhl("dhl", fixture("mydhl_tracking_response_delivered.json"))

    assert summary(events) == [
        ("9356579890", "OK", TrackingStatus.DELIVERED, "2024-01-15T17:00:00+00:00", "New York, NY"),
        (
            "9356579890",
            "PU",
            TrackingStatus.IN_TRANSIT,
            "2024-01-15T08:00:00+00:00",
            "Los Angeles, CA",
        ),
    ]
    assert [e.raw_text for e in events] == ["Shipment delivered", "Shipment picked up"]


def test_mydhl_schema_sample_keeps_each_event_offset() -> None:
    """Shipment events only (the piece's copy of OK is not repeated); each GMTOffset kept."""
    events = parse_mydhl("dhl", fixture("mydhl_schema_tracking_response.json"))

    assert [(e.raw_code, e.status) for e in events] == [
        ("OK", TrackingStatus.DELIVERED),
        ("PL", TrackingStatus.IN_TRANSIT),
        ("PU", TrackingStatus.IN_TRANSIT),
    ]
    picked_up = events[2]
    assert picked_up.occurred_at == datetime(2024, 11, 5, 10, tzinfo=timezone(timedelta(hours=1)))
    assert picked_up.occurred_at.utcoffset() == timedelta(hours=1)
    assert picked_up.location == "Prague"
    assert {e.tracking_number for e in events} == {"1234567890"}


def test_mydhl_404_problem_is_not_found_naming_the_number() -> None:
    with pytest.raises(TrackingNumberNotFound) as caught:
        parse_mydhl("dhl", fixture("mydhl_error_response_404.json"))

    assert caught.value.tracking_number == "9356579890"
    assert caught.value.retryable is False


def test_mydhl_404_names_the_requested_number_when_given() -> None:
    with pytest.raises(TrackingNumberNotFound) as caught:
        parse_mydhl("dhl", fixture("mydhl_error_response_404.json"), requested="1111111111")

    assert caught.value.tracking_number == "1111111111"


def test_mydhl_proof_of_delivery_is_not_a_tracking_answer() -> None:
    with pytest.raises(CourierPayloadError):
        parse_mydhl("dhl", fixture("mydhl_proof_of_delivery_response.json"))


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, CourierAuthError), (403, CourierAuthError), (400, CourierAdapterError)],
)
def test_mydhl_other_problems(status: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_mydhl("dhl", {"status": status, "title": "Bad", "detail": "no"})


@pytest.mark.parametrize(
    "document",
    [
        b"not json",
        b"[]",
        {"shipments": [{"events": []}]},
        {"shipments": [{"shipmentTrackingNumber": "1", "events": [{"typeCode": "OK"}]}]},
        {"shipments": [{"shipmentTrackingNumber": "1", "events": [{"date": "2024-01-01"}]}]},
        {
            "shipments": [
                {"shipmentTrackingNumber": "1", "events": [{"typeCode": "OK", "date": "x"}]}
            ]
        },
    ],
)
def test_mydhl_malformed_is_a_payload_error(document: Any) -> None:
    with pytest.raises(CourierPayloadError):
        parse_mydhl("dhl", document)


def test_mydhl_exception_code_has_a_reason_and_unknown_code_stays_unknown() -> None:
    base = {"date": "2024-01-15", "time": "10:00:00", "serviceArea": []}
    document = {
        "shipments": [
            {
                "shipmentTrackingNumber": "9356579890",
                "events": [
                    {**base, "typeCode": "OH", "description": "Shipment on hold"},
                    {**base, "typeCode": "QQ", "description": "Something new"},
                ],
            }
        ]
    }

    on_hold, unknown = parse_mydhl("dhl", json.dumps(document).encode())

    assert (on_hold.status, on_hold.exception_reason) == (TrackingStatus.EXCEPTION, "On hold")
    assert (unknown.status, unknown.raw_code, unknown.raw_text) == (
        TrackingStatus.UNKNOWN,
        "QQ",
        "Something new",
    )
    assert unknown.location is None


# --- XML-PI ----------------------------------------------------------------------------------


def test_xmlpi_in_transit_sample() -> None:
    """Date and Time carry no zone: taken as UTC."""
    (event,) = parse_xmlpi("dhl", fixture("xmlpi_tracking_response_in_transit.xml"))

    assert summary([event]) == [
        ("9053283201", "PU", TrackingStatus.IN_TRANSIT, "2021-05-05T09:42:00+00:00", "KINGSTON-JAM")
    ]
    assert event.raw_text == "Shipment picked up"
    assert event.occurred_at.tzinfo is UTC


def test_xmlpi_multi_awb_gives_events_of_each_waybill_oldest_first() -> None:
    events = parse_xmlpi("dhl", fixture("xmlpi_tracking_response_multi_awb.xml"))

    by_number: dict[str, list[Any]] = {}
    for event in events:
        by_number.setdefault(event.tracking_number, []).append(event)
    assert {number: len(found) for number, found in by_number.items()} == {
        "3180831640": 16,
        "7740842550": 1,
        "1815115363": 2,
    }
    barcelona_milan = by_number["3180831640"]
    assert " ".join(e.raw_code for e in barcelona_milan) == (
        "PU PO RW PL AF DF AF PL DF AF PL DF DF AR WC OK"
    )
    assert barcelona_milan[-2].status is TrackingStatus.OUT_FOR_DELIVERY
    assert barcelona_milan[-1].status is TrackingStatus.DELIVERED
    assert barcelona_milan[-1].occurred_at == datetime(2009, 8, 31, 10, 9, tzinfo=UTC)
    assert barcelona_milan[-1].location == "Milan - Italy"
    times = [e.occurred_at for e in barcelona_milan]
    assert times == sorted(times)
    assert [e.status for e in by_number["1815115363"]] == [TrackingStatus.IN_TRANSIT] * 2


def test_xmlpi_texts_lose_the_xml_indentation_and_empty_ones_stay_empty() -> None:
    events = parse_xmlpi("dhl", fixture("xmlpi_tracking_response_multi_awb.xml"))

    assert events[4].raw_text == "Arrived at DHL facility in Barcelona - Spain"
    assert events[2].raw_code == "RW"
    assert events[2].raw_text == ""


def test_xmlpi_single_not_found_names_the_number_from_the_condition() -> None:
    with pytest.raises(TrackingNumberNotFound) as caught:
        parse_xmlpi("dhl", fixture("xmlpi_tracking_single_not_found.xml"))

    assert caught.value.tracking_number == "123456789"


def test_xmlpi_result_marks_requested_numbers_without_a_waybill_not_found() -> None:
    result = parse_xmlpi_result(
        "dhl", fixture("xmlpi_tracking_response_multi_awb.xml"), ("3180831640", "8346088391")
    )

    assert result.not_found == ("8346088391",)
    assert len(result.events) == 19


def test_xmlpi_auth_error_is_an_auth_error_that_does_not_echo_the_password() -> None:
    with pytest.raises(CourierAuthError) as caught:
        parse_xmlpi("dhl", fixture("xmlpi_auth_error_response.xml"))

    assert "111" in caught.value.message
    assert "testPwd" not in caught.value.message


def test_xmlpi_other_error_response_is_an_adapter_error() -> None:
    body = b"""<req:ShipmentTrackingErrorResponse xmlns:req="http://www.dhl.com"><Response>
    <Status><ActionStatus>Failure</ActionStatus><Condition><ConditionCode>100</ConditionCode>
    <ConditionData>Internal processing error</ConditionData></Condition></Status></Response>
    </req:ShipmentTrackingErrorResponse>"""

    with pytest.raises(CourierAdapterError) as caught:
        parse_xmlpi("dhl", body)

    assert type(caught.value) is CourierAdapterError
    assert "Internal processing error" in caught.value.message


def test_xmlpi_waybill_failing_for_another_reason_is_an_adapter_error() -> None:
    body = b"""<res:TrackingResponse xmlns:res="http://www.dhl.com"><AWBInfo>
    <AWBNumber>1234567890</AWBNumber><Status><ActionStatus>Failure</ActionStatus><Condition>
    <ConditionCode>999</ConditionCode><ConditionData>Oops</ConditionData></Condition></Status>
    </AWBInfo></res:TrackingResponse>"""

    with pytest.raises(CourierAdapterError, match="Oops"):
        parse_xmlpi("dhl", body)


@pytest.mark.parametrize(
    "body",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD, PLAIN_DTD],
    ids=["billion-laughs", "external-entity", "external-dtd", "dtd"],
)
def test_xmlpi_refuses_hostile_xml(body: bytes) -> None:
    with pytest.raises(CourierPayloadError, match="hostile"):
        parse_xmlpi("dhl", body)


@pytest.mark.parametrize(
    "body", [b"not xml at all", b"\x00\xff\xfe", b"", b"<Other/>", b'{"shipments": []}']
)
def test_xmlpi_garbage_is_a_payload_error(body: bytes) -> None:
    with pytest.raises(CourierPayloadError):
        parse_xmlpi("dhl", body)


def test_every_express_code_classifies_and_every_exception_has_a_reason() -> None:
    for code, status in EXPRESS_CODES.items():
        assert classify_express(code)[0] is status
        if status is TrackingStatus.EXCEPTION:
            assert code in EXPRESS_REASONS
    assert set(EXPRESS_REASONS) <= set(EXPRESS_CODES)
    assert classify_express(" wc ") == (TrackingStatus.OUT_FOR_DELIVERY, None)
    assert classify_express("RT") == (TrackingStatus.RETURNED, "Returned to shipper")
