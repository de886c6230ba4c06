"""USPS client against httpx.MockTransport: OAuth token caching and refresh, retries,
429 with Retry-After, timeouts, unknown numbers. No real sleeping: waits are recorded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest

from adapters.clock import FixedClock
from adapters.couriers.base import (
    CourierAuthError,
    CourierRateLimited,
    CourierUnavailable,
)
from adapters.couriers.http import HttpPolicy
from adapters.couriers.usps.client import UspsClient
from platform_core.fulfillment.model import TrackingStatus

FIXTURES = Path(__file__).parents[2] / "fixtures" / "couriers" / "usps"
DELIVERED = (FIXTURES / "tracking_v3_response_delivered.json").read_bytes()
NUMBER = "9400109104250532908587"
CREDENTIALS = {"client_id": "the-id", "client_secret": "the-secret"}
Handler = Callable[[httpx.Request], httpx.Response]


class RecordingSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class FakeUsps:
    """USPS's token and tracking endpoints; `tracking` decides each tracking answer."""

    def __init__(self, tracking: Handler | None = None, expires_in: int = 3600) -> None:
        self.tokens_issued = 0
        self.token_forms: list[dict[str, list[str]]] = []
        self.tracking_requests: list[httpx.Request] = []
        self.expires_in = expires_in
        self.tracking = tracking or (lambda request: httpx.Response(200, content=DELIVERED))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/v3/token":
            self.tokens_issued += 1
            self.token_forms.append(parse_qs(request.content.decode()))
            token = f"token-{self.tokens_issued}"
            return httpx.Response(
                200,
                json={"access_token": token, "token_type": "Bearer", "expires_in": self.expires_in},
            )
        self.tracking_requests.append(request)
        return self.tracking(request)


def client(
    fake: Handler, clock: FixedClock | None = None, sleep: RecordingSleep | None = None
) -> UspsClient:
    return UspsClient(
        "usps",
        CREDENTIALS,
        clock=clock or FixedClock(datetime(2026, 1, 1, tzinfo=UTC)),
        policy=HttpPolicy(attempts=3, backoff_seconds=0.5),
        transport=httpx.MockTransport(fake),
        sleep=sleep or RecordingSleep(),
    )


async def test_token_is_fetched_once_and_reused() -> None:
    """Client credentials go in the token form; both tracking calls carry the one token."""
    fake = FakeUsps()
    usps = client(fake)

    first = await usps.track([NUMBER])
    second = await usps.track([NUMBER])
    await usps.aclose()

    assert fake.tokens_issued == 1
    assert fake.token_forms[0] == {
        "grant_type": ["client_credentials"],
        "client_id": ["the-id"],
        "client_secret": ["the-secret"],
    }
    assert [r.headers["Authorization"] for r in fake.tracking_requests] == ["Bearer token-1"] * 2
    assert fake.tracking_requests[0].url.path == f"/tracking/v3/tracking/{NUMBER}"
    assert fake.tracking_requests[0].url.params["expand"] == "DETAIL"
    assert len(first.events) == len(second.events) == 12
    assert first.events[0].status is TrackingStatus.DELIVERED
    assert first.not_found == ()


async def test_token_is_refreshed_after_it_expires() -> None:
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    fake = FakeUsps(expires_in=600)
    usps = client(fake, clock)

    await usps.track([NUMBER])
    clock.advance(timedelta(seconds=500))
    await usps.track([NUMBER])
    assert fake.tokens_issued == 1
    clock.advance(timedelta(seconds=60))  # within the refresh margin of expiry
    await usps.track([NUMBER])
    await usps.aclose()

    assert fake.tokens_issued == 2
    assert fake.tracking_requests[-1].headers["Authorization"] == "Bearer token-2"


async def test_a_401_refreshes_the_token_once_and_retries() -> None:
    def tracking(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer token-1":
            return httpx.Response(401, json={"error": {"code": "401", "message": "expired"}})
        return httpx.Response(200, content=DELIVERED)

    fake = FakeUsps(tracking)
    usps = client(fake)

    result = await usps.track([NUMBER])
    await usps.aclose()

    assert fake.tokens_issued == 2
    assert len(result.events) == 12


async def test_a_second_401_is_an_auth_error() -> None:
    fake = FakeUsps(lambda request: httpx.Response(401))
    usps = client(fake)

    with pytest.raises(CourierAuthError):
        await usps.track([NUMBER])
    await usps.aclose()

    assert fake.tokens_issued == 2


async def test_refused_client_credentials_are_an_auth_error() -> None:
    def token_refused(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            json={"error": "invalid_client", "error_description": "Client authentication failed."},
        )

    usps = client(token_refused)

    with pytest.raises(CourierAuthError, match="Client authentication failed") as caught:
        await usps.track([NUMBER])
    await usps.aclose()

    assert "the-secret" not in caught.value.message


def test_missing_credentials_are_an_auth_error() -> None:
    with pytest.raises(CourierAuthError):
        UspsClient("usps", {"client_id": "only"}, clock=FixedClock(datetime.now(UTC)))


async def test_unknown_number_goes_to_not_found_and_the_others_continue() -> None:
    def tracking(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/UNKNOWN1"):
            return httpx.Response(404, json={"error": {"code": "404", "message": "Not Found"}})
        if request.url.path.endswith("/INVALID1"):
            return httpx.Response(
                400, json={"error": {"code": "400", "message": "Invalid tracking number"}}
            )
        return httpx.Response(200, content=DELIVERED)

    fake = FakeUsps(tracking)
    usps = client(fake)

    result = await usps.track(["UNKNOWN1", NUMBER, "INVALID1"])
    await usps.aclose()

    assert result.not_found == ("UNKNOWN1", "INVALID1")
    assert len(result.events) == 12
    assert usps.max_batch == 1


async def test_503_is_retried_after_a_backoff_then_succeeds() -> None:
    answers = iter([httpx.Response(503), httpx.Response(200, content=DELIVERED)])
    sleep = RecordingSleep()
    usps = client(FakeUsps(lambda request: next(answers)), sleep=sleep)

    result = await usps.track([NUMBER])
    await usps.aclose()

    assert len(result.events) == 12
    assert sleep.waits == [0.5]


async def test_429_waits_for_retry_after() -> None:
    answers = iter(
        [httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, content=DELIVERED)]
    )
    sleep = RecordingSleep()
    usps = client(FakeUsps(lambda request: next(answers)), sleep=sleep)

    result = await usps.track([NUMBER])
    await usps.aclose()

    assert sleep.waits == [7.0]
    assert len(result.events) == 12


async def test_429_beyond_the_patience_is_rate_limited() -> None:
    sleep = RecordingSleep()
    answer = httpx.Response(429, headers={"Retry-After": "3600"})
    usps = client(FakeUsps(lambda request: answer), sleep=sleep)

    with pytest.raises(CourierRateLimited) as caught:
        await usps.track([NUMBER])
    await usps.aclose()

    assert caught.value.retry_after == 3600.0
    assert sleep.waits == []


async def test_timeouts_are_retried_then_unavailable() -> None:
    def timing_out(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    fake = FakeUsps(timing_out)
    sleep = RecordingSleep()
    usps = client(fake, sleep=sleep)

    with pytest.raises(CourierUnavailable) as caught:
        await usps.track([NUMBER])
    await usps.aclose()

    assert len(fake.tracking_requests) == 3
    assert sleep.waits == [0.5, 1.0]
    assert caught.value.retryable is True
