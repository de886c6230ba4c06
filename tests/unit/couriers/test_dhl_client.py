"""DHL clients (Unified, MyDHL, XML-PI) against httpx.MockTransport, and the factory that
picks one from a courier's metadata. No real sleeping: waits are recorded."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from adapters.clock import FixedClock
from adapters.couriers.base import CourierAuthError, CourierRateLimited, CourierUnavailable
from adapters.couriers.dhl.client import (
    DhlUnifiedClient,
    DhlXmlPiClient,
    MyDhlClient,
    dhl_client,
)
from adapters.couriers.http import HttpPolicy
from platform_core.fulfillment.model import TrackingStatus
from platform_core.shared.errors import ValidationError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "couriers"
UNIFIED_OK = (FIXTURES / "dhl_unified" / "tracking_response.json").read_bytes()
UNIFIED_404 = (FIXTURES / "dhl_unified" / "tracking_error_response_404.json").read_bytes()
MYDHL_OK = (FIXTURES / "dhl_express" / "mydhl_tracking_response_delivered.json").read_bytes()
MYDHL_404 = (FIXTURES / "dhl_express" / "mydhl_error_response_404.json").read_bytes()
XMLPI_MULTI = (FIXTURES / "dhl_express" / "xmlpi_tracking_response_multi_awb.xml").read_bytes()
XMLPI_NOT_FOUND = (FIXTURES / "dhl_express" / "xmlpi_tracking_single_not_found.xml").read_bytes()
XMLPI_AUTH = (FIXTURES / "dhl_express" / "xmlpi_auth_error_response.xml").read_bytes()
CLOCK = FixedClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
POLICY = HttpPolicy(attempts=3, backoff_seconds=0.5)
Handler = Callable[[httpx.Request], httpx.Response]


class RecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class Recorder:
    """A MockTransport handler that keeps every request and answers with `answer`."""

    def __init__(self, answer: Handler) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)


def unified(
    handler: Handler, sleep: RecordingSleep | None = None, **extra: str
) -> DhlUnifiedClient:
    return DhlUnifiedClient(
        "dhl",
        {"api_key": "the-key", **extra},
        policy=POLICY,
        transport=httpx.MockTransport(handler),
        sleep=sleep or RecordingSleep(),
    )


# --- Unified ---------------------------------------------------------------------------------


async def test_unified_sends_the_api_key_and_the_number() -> None:
    recorder = Recorder(lambda request: httpx.Response(200, content=UNIFIED_OK))
    client = unified(recorder, service="express")

    result = await client.track(["7777777770"])
    await client.aclose()

    (request,) = recorder.requests
    assert request.headers["DHL-API-Key"] == "the-key"
    assert request.url.path == "/track/shipments"
    assert request.url.params["trackingNumber"] == "7777777770"
    assert request.url.params["service"] == "express"
    assert [e.tracking_number for e in result.events] == ["7777777770"]
    assert client.max_batch == 1


async def test_unified_404_is_not_found_and_other_numbers_continue() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.params["trackingNumber"] == "8264715546":
            return httpx.Response(404, content=UNIFIED_404)
        return httpx.Response(200, content=UNIFIED_OK)

    client = unified(answer)

    result = await client.track(["8264715546", "7777777770"])
    await client.aclose()

    assert result.not_found == ("8264715546",)
    assert len(result.events) == 1


async def test_unified_401_is_an_auth_error() -> None:
    client = unified(lambda request: httpx.Response(401, json={"status": 401}))

    with pytest.raises(CourierAuthError) as caught:
        await client.track(["7777777770"])
    await client.aclose()

    assert "the-key" not in caught.value.message


async def test_unified_503_then_success_backs_off_once() -> None:
    answers = iter([httpx.Response(503), httpx.Response(200, content=UNIFIED_OK)])
    sleep = RecordingSleep()
    client = unified(lambda request: next(answers), sleep)

    result = await client.track(["7777777770"])
    await client.aclose()

    assert len(result.events) == 1
    assert sleep.waits == [0.5]


async def test_unified_429_waits_for_retry_after_then_gives_up() -> None:
    sleep = RecordingSleep()
    client = unified(lambda request: httpx.Response(429, headers={"Retry-After": "5"}), sleep)

    with pytest.raises(CourierRateLimited) as caught:
        await client.track(["7777777770"])
    await client.aclose()

    assert sleep.waits == [5.0, 5.0]
    assert caught.value.retry_after == 5.0


async def test_unified_timeouts_become_unavailable() -> None:
    def timing_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    recorder = Recorder(timing_out)
    client = unified(recorder)

    with pytest.raises(CourierUnavailable):
        await client.track(["7777777770"])
    await client.aclose()

    assert len(recorder.requests) == 3


# --- MyDHL -----------------------------------------------------------------------------------


async def test_mydhl_uses_basic_auth_and_the_tracking_path() -> None:
    recorder = Recorder(lambda request: httpx.Response(200, content=MYDHL_OK))
    client = MyDhlClient(
        "dhl",
        {"username": "user", "password": "pass"},
        policy=POLICY,
        transport=httpx.MockTransport(recorder),
        sleep=RecordingSleep(),
    )

    result = await client.track(["9356579890"])
    await client.aclose()

    (request,) = recorder.requests
    expected = "Basic " + base64.b64encode(b"user:pass").decode()
    assert request.headers["Authorization"] == expected
    assert request.url.path == "/mydhlapi/shipments/9356579890/tracking"
    assert request.url.params["trackingView"] == "all-checkpoints"
    assert [e.status for e in result.events] == [
        TrackingStatus.DELIVERED,
        TrackingStatus.IN_TRANSIT,
    ]


async def test_mydhl_404_is_not_found() -> None:
    client = MyDhlClient(
        "dhl",
        {"username": "user", "password": "pass"},
        policy=POLICY,
        transport=httpx.MockTransport(lambda request: httpx.Response(404, content=MYDHL_404)),
        sleep=RecordingSleep(),
    )

    result = await client.track(["9356579890"])
    await client.aclose()

    assert result.not_found == ("9356579890",)
    assert result.events == ()


# --- XML-PI ----------------------------------------------------------------------------------


def xmlpi(handler: Handler) -> DhlXmlPiClient:
    return DhlXmlPiClient(
        "dhl",
        {"site_id": "SiteA", "password": "Secret123"},
        clock=CLOCK,
        policy=POLICY,
        transport=httpx.MockTransport(handler),
        sleep=RecordingSleep(),
    )


async def test_xmlpi_posts_a_known_tracking_request_for_every_number() -> None:
    recorder = Recorder(lambda request: httpx.Response(200, content=XMLPI_MULTI))
    client = xmlpi(recorder)

    result = await client.track(["3180831640", "7740842550", "1815115363", "8346088391"])
    await client.aclose()

    (request,) = recorder.requests
    assert request.method == "POST"
    assert request.url.path == "/XMLShippingServlet"
    sent = ElementTree.fromstring(request.content)
    assert sent.tag == "{http://www.dhl.com}KnownTrackingRequest"
    assert sent.findtext("Request/ServiceHeader/SiteID") == "SiteA"
    assert sent.findtext("Request/ServiceHeader/Password") == "Secret123"
    assert sent.findtext("Request/ServiceHeader/MessageTime") == "2026-03-01T12:00:00+00:00"
    reference = sent.findtext("Request/ServiceHeader/MessageReference") or ""
    assert 28 <= len(reference) <= 32
    assert [e.text for e in sent.findall("AWBNumber")] == [
        "3180831640",
        "7740842550",
        "1815115363",
        "8346088391",
    ]
    assert sent.findtext("LevelOfDetails") == "ALL_CHECK_POINTS"
    assert len(result.events) == 19
    assert result.not_found == ("8346088391",)
    assert client.max_batch == 10


async def test_xmlpi_not_found_answer_marks_the_requested_number() -> None:
    client = xmlpi(lambda request: httpx.Response(200, content=XMLPI_NOT_FOUND))

    result = await client.track(["123456789"])
    await client.aclose()

    assert result.not_found == ("123456789",)


async def test_xmlpi_error_response_is_an_auth_error() -> None:
    client = xmlpi(lambda request: httpx.Response(200, content=XMLPI_AUTH))

    with pytest.raises(CourierAuthError):
        await client.track(["3180831640"])
    await client.aclose()


async def test_xmlpi_refuses_more_than_its_batch_and_does_nothing_for_none() -> None:
    recorder = Recorder(lambda request: httpx.Response(200, content=XMLPI_MULTI))
    client = xmlpi(recorder)

    with pytest.raises(ValidationError):
        await client.track([str(1000000000 + n) for n in range(11)])
    assert (await client.track([])).events == ()
    await client.aclose()

    assert recorder.requests == []


# --- factory ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metadata", "kind"),
    [
        ({"api_key": "k"}, DhlUnifiedClient),
        ({"api": "unified", "api_key": "k"}, DhlUnifiedClient),
        ({"api": "MyDHL", "username": "u", "password": "p"}, MyDhlClient),
        ({"api": "xmlpi", "site_id": "s", "password": "p"}, DhlXmlPiClient),
    ],
)
async def test_factory_picks_the_api_from_metadata(metadata: dict[str, str], kind: type) -> None:
    client = dhl_client("dhl", metadata, clock=CLOCK)

    assert isinstance(client, kind)
    await client.aclose()


async def test_factory_passes_the_transport_and_base_url() -> None:
    recorder = Recorder(lambda request: httpx.Response(200, content=UNIFIED_OK))
    client = dhl_client(
        "dhl",
        {"api_key": "k"},
        clock=CLOCK,
        transport=httpx.MockTransport(recorder),
        base_url="https://api-test.dhl.com",
        policy=POLICY,
    )

    await client.track(["7777777770"])
    await client.aclose()

    assert recorder.requests[0].url.host == "api-test.dhl.com"


def test_factory_refuses_an_unknown_api() -> None:
    with pytest.raises(ValidationError):
        dhl_client("dhl", {"api": "carrier-pigeon"}, clock=CLOCK)


@pytest.mark.parametrize(
    "metadata",
    [{}, {"api": "mydhl", "username": "u"}, {"api": "xmlpi", "password": "p"}],
)
def test_factory_refuses_missing_credentials(metadata: dict[str, str]) -> None:
    with pytest.raises(CourierAuthError):
        dhl_client("dhl", metadata, clock=CLOCK)
