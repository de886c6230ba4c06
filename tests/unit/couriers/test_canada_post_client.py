"""CanadaPostClient over httpx.MockTransport: request shape, basic auth, retries, 429,
timeouts, unknown PINs and errors."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from adapters.couriers.base import (
    CourierAuthError,
    CourierPayloadError,
    CourierRateLimited,
    CourierUnavailable,
)
from adapters.couriers.canada_post.client import CanadaPostClient
from adapters.couriers.http import HttpPolicy
from platform_core.fulfillment.model import TrackingStatus

FIXTURES = Path(__file__).parents[2] / "fixtures" / "couriers" / "canada_post"
DETAIL = (FIXTURES / "tracking_detail_response.xml").read_bytes()
NO_PIN = (FIXTURES / "unknown_tracking_number_response.xml").read_bytes()
AUTH_ERROR = (FIXTURES / "auth_error_response.xml").read_bytes()
CREDENTIALS = {"username": "cp-user", "password": "s3cret-pass"}
PIN = "7023210039414604"

Handler = Callable[[httpx.Request], httpx.Response]


class FakeSleep:
    """Records every wait instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client(handler: Handler, sleep: FakeSleep | None = None) -> CanadaPostClient:
    return CanadaPostClient(
        "canada_post",
        CREDENTIALS,
        transport=httpx.MockTransport(handler),
        sleep=sleep or FakeSleep(),
        policy=HttpPolicy(attempts=3, backoff_seconds=0.5),
    )


def xml(body: bytes, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=body, headers={"Content-Type": "application/xml"})


async def test_track_sends_the_documented_request_with_basic_auth() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return xml(DETAIL)

    cp = client(handler)
    result = await cp.track([PIN])
    await cp.aclose()
    (request,) = seen
    assert request.method == "GET"
    assert str(request.url) == f"https://soa-gw.canadapost.ca/vis/track/pin/{PIN}/detail"
    assert request.headers["Accept"] == "application/vnd.cpc.track-v2+xml"
    assert request.headers["Accept-language"] == "en-CA"
    expected = base64.b64encode(b"cp-user:s3cret-pass").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert len(result.events) == 6
    assert result.events[4].status is TrackingStatus.DELIVERED
    assert result.not_found == ()


async def test_max_batch_is_one_and_each_pin_is_its_own_request() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        return xml(DETAIL)

    cp = client(handler)
    assert cp.max_batch == 1
    result = await cp.track(["111", "222"])
    assert paths == ["/vis/track/pin/111/detail", "/vis/track/pin/222/detail"]
    assert len(result.events) == 12


async def test_no_pin_history_goes_to_not_found() -> None:
    cp = client(lambda request: xml(NO_PIN))
    result = await cp.track(["0000000000000000"])
    assert result.not_found == ("0000000000000000",)
    assert result.events == ()


async def test_http_404_goes_to_not_found() -> None:
    cp = client(lambda request: xml(NO_PIN, status=404))
    result = await cp.track([PIN])
    assert result.not_found == (PIN,)


async def test_retries_5xx_with_backoff_then_succeeds() -> None:
    answers = iter([xml(b"", 503), xml(b"", 502), xml(DETAIL)])
    sleep = FakeSleep()
    cp = client(lambda request: next(answers), sleep)
    result = await cp.track([PIN])
    assert len(result.events) == 6
    assert sleep.waits == [0.5, 1.0]


async def test_5xx_on_every_attempt_is_courier_unavailable() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return xml(b"", 500)

    with pytest.raises(CourierUnavailable):
        await client(handler).track([PIN])
    assert len(calls) == 3


async def test_timeouts_become_courier_unavailable_after_retries() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    sleep = FakeSleep()
    with pytest.raises(CourierUnavailable) as raised:
        await client(handler, sleep).track([PIN])
    assert raised.value.retryable is True
    assert sleep.waits == [0.5, 1.0]


async def test_429_waits_for_retry_after_then_succeeds() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"}), xml(DETAIL)])
    sleep = FakeSleep()
    result = await client(lambda request: next(answers), sleep).track([PIN])
    assert sleep.waits == [7.0]
    assert len(result.events) == 6


async def test_429_beyond_the_patience_is_rate_limited() -> None:
    cp = client(lambda request: httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(CourierRateLimited) as raised:
        await cp.track([PIN])
    assert raised.value.retry_after == 3600.0


async def test_http_401_is_an_auth_error_without_the_password() -> None:
    cp = client(lambda request: xml(AUTH_ERROR, 401))
    with pytest.raises(CourierAuthError) as raised:
        await cp.track([PIN])
    assert "s3cret-pass" not in repr(raised.value)
    assert "s3cret-pass" not in str(raised.value.details)


async def test_auth_error_document_with_200_is_an_auth_error() -> None:
    with pytest.raises(CourierAuthError):
        await client(lambda request: xml(AUTH_ERROR)).track([PIN])


async def test_garbage_body_is_a_payload_error() -> None:
    with pytest.raises(CourierPayloadError):
        await client(lambda request: xml(b"<html>maintenance</html>")).track([PIN])


async def test_pin_is_escaped_in_the_path() -> None:
    paths: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path)
        return xml(NO_PIN)

    await client(handler).track(["../admin"])
    assert paths == [b"/vis/track/pin/..%2Fadmin/detail"]


@pytest.mark.parametrize("credentials", [{}, {"username": "u"}, {"password": "p"}])
def test_missing_credentials_are_refused_by_name(credentials: dict[str, str]) -> None:
    with pytest.raises(CourierAuthError) as raised:
        CanadaPostClient("canada_post", credentials)
    assert "credentials lack" in raised.value.message
