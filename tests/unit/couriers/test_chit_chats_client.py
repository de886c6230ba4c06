"""ChitChatsClient over httpx.MockTransport: token header, shipment path, client-side rate
limit, 429 with Retry-After, retries, timeouts and unknown shipments."""

from __future__ import annotations

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
from adapters.couriers.chit_chats.client import (
    DEFAULT_REQUESTS_PER_SECOND,
    ChitChatsClient,
    requests_per_second,
)
from adapters.couriers.http import HttpPolicy
from platform_core.fulfillment.model import TrackingStatus
from platform_core.shared.errors import ValidationError

FIXTURES = Path(__file__).parents[2] / "fixtures" / "couriers" / "chit_chats"
SHIPMENT = (FIXTURES / "shipment_get_response.json").read_bytes()
CREDENTIALS = {"client_id": "123456", "access_token": "tok-abc-secret"}

Handler = Callable[[httpx.Request], httpx.Response]


class FakeSleep:
    """Records every wait instead of sleeping."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client(
    handler: Handler,
    sleep: FakeSleep | None = None,
    credentials: dict[str, str] | None = None,
) -> ChitChatsClient:
    return ChitChatsClient(
        "chit_chats",
        credentials or CREDENTIALS,
        transport=httpx.MockTransport(handler),
        sleep=sleep or FakeSleep(),
        policy=HttpPolicy(attempts=3, backoff_seconds=0.5),
    )


def shipment(status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=SHIPMENT, headers={"Content-Type": "application/json"})


async def test_track_gets_the_shipment_with_the_token_header() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return shipment()

    cc = client(handler)
    result = await cc.track(["8ERNJ8SCQ9"])
    await cc.aclose()
    (request,) = seen
    assert request.method == "GET"
    assert str(request.url) == "https://chitchats.com/api/v1/clients/123456/shipments/8ERNJ8SCQ9"
    # Chit Chats takes the bare token, no "Bearer" scheme.
    assert request.headers["Authorization"] == "tok-abc-secret"
    assert [e.raw_code for e in result.events] == [
        "receive_shipment",
        "buy_shipment_postage",
        "create_shipment",
    ]
    assert result.events[0].status is TrackingStatus.IN_TRANSIT


async def test_unknown_shipment_404_goes_to_not_found() -> None:
    cc = client(lambda request: httpx.Response(404, json={"error": "not found"}))
    assert cc.max_batch == 1
    result = await cc.track(["NOPE000000"])
    assert result.not_found == ("NOPE000000",)
    assert result.events == ()


async def test_requests_are_spaced_by_the_client_side_rate_limit() -> None:
    """Default 2 requests/second: the 2nd and 3rd request wait their turn (fake sleep)."""
    sleep = FakeSleep()
    cc = client(lambda request: shipment(), sleep)
    await cc.track(["A1", "A2", "A3"])
    assert len(sleep.waits) == 2
    assert all(0 < wait <= 1 / DEFAULT_REQUESTS_PER_SECOND * 2 for wait in sleep.waits)
    assert sleep.waits[1] > sleep.waits[0]


async def test_rate_comes_from_the_requests_per_second_key() -> None:
    sleep = FakeSleep()
    cc = client(lambda request: shipment(), sleep, {**CREDENTIALS, "requests_per_second": "0.1"})
    await cc.track(["A1", "A2"])
    (wait,) = sleep.waits
    assert 5 < wait <= 10


async def test_429_waits_for_retry_after_then_succeeds() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "12"}), shipment()])
    sleep = FakeSleep()
    result = await client(lambda request: next(answers), sleep).track(["8ERNJ8SCQ9"])
    assert 12.0 in sleep.waits
    assert len(result.events) == 3


async def test_429_on_every_attempt_is_rate_limited() -> None:
    cc = client(lambda request: httpx.Response(429, headers={"Retry-After": "1"}))
    with pytest.raises(CourierRateLimited) as raised:
        await cc.track(["8ERNJ8SCQ9"])
    assert raised.value.retry_after == 1.0
    assert raised.value.retryable is True


async def test_retries_5xx_then_succeeds() -> None:
    answers = iter([httpx.Response(500), shipment()])
    sleep = FakeSleep()
    result = await client(lambda request: next(answers), sleep).track(["8ERNJ8SCQ9"])
    assert 0.5 in sleep.waits
    assert len(result.events) == 3


async def test_timeouts_become_courier_unavailable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("slow", request=request)

    with pytest.raises(CourierUnavailable):
        await client(handler).track(["8ERNJ8SCQ9"])


async def test_401_is_an_auth_error_without_the_token() -> None:
    cc = client(lambda request: httpx.Response(401, json={"error": "unauthorized"}))
    with pytest.raises(CourierAuthError) as raised:
        await cc.track(["8ERNJ8SCQ9"])
    assert "tok-abc-secret" not in repr(raised.value)


async def test_non_json_body_is_a_payload_error() -> None:
    cc = client(lambda request: httpx.Response(200, content=b"<html>oops</html>"))
    with pytest.raises(CourierPayloadError):
        await cc.track(["8ERNJ8SCQ9"])


@pytest.mark.parametrize(
    "credentials",
    [{}, {"client_id": "1"}, {"access_token": "t"}, {"client_id": "", "access_token": "t"}],
)
def test_missing_credentials_are_refused_by_name(credentials: dict[str, str]) -> None:
    with pytest.raises(CourierAuthError) as raised:
        ChitChatsClient("chit_chats", credentials)
    assert "credentials lack" in raised.value.message


@pytest.mark.parametrize("value", ["0", "-1", "fast", "nan", "inf"])
def test_bad_requests_per_second_is_a_validation_error(value: str) -> None:
    with pytest.raises(ValidationError):
        requests_per_second("chit_chats", {"requests_per_second": value})


def test_requests_per_second_defaults_to_two() -> None:
    assert requests_per_second("chit_chats", {}) == 2.0
    assert requests_per_second("chit_chats", {"requests_per_second": "5"}) == 5.0
