"""HTTP for courier clients: timeouts, retries with backoff, a client-side rate limit, and
the carriers' answers turned into the adapter errors of `adapters.couriers.base`.

Every wait (backoff, `Retry-After`, the rate limit) goes through the injected `sleep`, so tests
run without sleeping and can see each wait. `SingleNumberClient` is what the clients of
one-number-per-request APIs share.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from email.utils import parsedate_to_datetime
from typing import Any

import attrs
import httpx

from adapters.couriers.base import (
    CourierAdapterError,
    CourierAuthError,
    CourierRateLimited,
    CourierUnavailable,
    TrackingNumberNotFound,
    TrackingResult,
)
from platform_core.fulfillment.model import TrackingEvent

Sleep = Callable[[float], Awaitable[None]]
Auth = httpx.Auth | tuple[str, str] | None
_RETRYABLE_STATUS = frozenset({500, 502, 503, 504})


@attrs.frozen
class HttpPolicy:
    """How patient a courier client is. `attempts` counts every try of one request."""

    timeout_seconds: float = 10.0
    attempts: int = 3
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 30.0
    requests_per_second: float | None = None

    def backoff(self, retry: int) -> float:
        """The wait before retry number `retry` (1, 2, ...): doubling, capped."""
        return float(min(self.backoff_seconds * 2 ** (retry - 1), self.max_backoff_seconds))


class RateLimiter:
    """At most `per_second` requests per second from this client: requests are spaced out,
    not refused (a courier's quota is per account, and polling can always wait)."""

    def __init__(self, per_second: float, sleep: Sleep) -> None:
        if per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        self._interval = 1.0 / per_second
        self._sleep = sleep
        self._next_slot = 0.0
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            # Monotonic time is this process's pacing only, never a business time.
            now = time.monotonic()
            wait = self._next_slot - now
            self._next_slot = max(now, self._next_slot) + self._interval
            if wait > 0:
                await self._sleep(wait)


class CourierHttp:
    """One carrier's HTTP endpoint with the policy applied to every request."""

    def __init__(
        self,
        courier_code: str,
        base_url: str,
        *,
        policy: HttpPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.courier_code = courier_code
        self.policy = policy or HttpPolicy()
        self._sleep = sleep
        self._limiter = (
            RateLimiter(self.policy.requests_per_second, sleep)
            if self.policy.requests_per_second
            else None
        )
        self._client = httpx.AsyncClient(
            base_url=base_url,
            timeout=self.policy.timeout_seconds,
            transport=transport,
            headers=dict(headers or {}),
            follow_redirects=False,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        auth: Auth = None,
        passthrough: Collection[int] = (404,),
    ) -> httpx.Response:
        """The answer when it is 2xx or in `passthrough`; otherwise an adapter error, after
        retrying what can succeed later (5xx, timeouts, lost connections, 429)."""
        for attempt in range(1, self.policy.attempts + 1):
            last = attempt == self.policy.attempts
            if self._limiter is not None:
                await self._limiter.wait()
            try:
                response = await self._client.request(
                    method,
                    path,
                    params=params,
                    headers=headers,
                    data=data,
                    json=json,
                    content=content,
                    auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.TimeoutException:
                if last:
                    raise CourierUnavailable(
                        self.courier_code, f"{self.courier_code} timed out"
                    ) from None
                await self._sleep(self.policy.backoff(attempt))
                continue
            except httpx.TransportError as error:
                if last:
                    raise CourierUnavailable(
                        self.courier_code,
                        f"{self.courier_code} unreachable: {type(error).__name__}",
                    ) from None
                await self._sleep(self.policy.backoff(attempt))
                continue
            if response.is_success or response.status_code in passthrough:
                return response
            await self._handle_failure(response, attempt, last)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _handle_failure(self, response: httpx.Response, attempt: int, last: bool) -> None:
        status = response.status_code
        if status == 429:
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            wait = self.policy.backoff(attempt) if retry_after is None else retry_after
            if last or wait > self.policy.max_backoff_seconds:
                raise CourierRateLimited(self.courier_code, retry_after)
            await self._sleep(wait)
            return
        if status in _RETRYABLE_STATUS:
            if last:
                raise CourierUnavailable(
                    self.courier_code, f"{self.courier_code} answered {status}"
                )
            await self._sleep(self.policy.backoff(attempt))
            return
        if status in (401, 403):
            raise CourierAuthError(
                self.courier_code, f"{self.courier_code} refused our credentials ({status})"
            )
        raise CourierAdapterError(
            f"{self.courier_code} answered {status}",
            {"courier_code": self.courier_code, "status": status},
            retryable=False,
        )

    async def aclose(self) -> None:
        await self._client.aclose()


class SingleNumberClient:
    """A `CourierClient` for a carrier API that takes one tracking number per request: `track`
    asks about each number in turn. A subclass says how to ask about one (`_events_of`)."""

    def __init__(self, courier_code: str, http: CourierHttp) -> None:
        self.courier_code = courier_code
        self._http = http

    @property
    def max_batch(self) -> int:
        return 1

    async def track(self, tracking_numbers: Sequence[str]) -> TrackingResult:
        """An unknown number goes to `not_found` and the others go on."""
        result = TrackingResult()
        for number in tracking_numbers:
            try:
                events = await self._events_of(number)
            except TrackingNumberNotFound:
                result += TrackingResult(not_found=(number,))
            else:
                result += TrackingResult(tuple(events))
        return result

    async def _events_of(self, number: str) -> Sequence[TrackingEvent]:
        """The events of one number; TrackingNumberNotFound when the carrier does not know it."""
        raise NotImplementedError

    async def aclose(self) -> None:
        await self._http.aclose()


def retry_after_seconds(value: str | None) -> float | None:
    """`Retry-After` as seconds from now: delta-seconds or an HTTP date; None if absent or
    unreadable (the caller falls back to its own backoff)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    # An HTTP date is wall-clock time; compare it with wall-clock time.
    return max(0.0, moment.timestamp() - time.time())
