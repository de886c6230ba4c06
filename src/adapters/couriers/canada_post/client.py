"""Canada Post tracking over HTTP: ``GET /vis/track/pin/{pin}/detail`` with basic auth."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from urllib.parse import quote

import httpx

from adapters.couriers.base import CourierAuthError, TrackingNumberNotFound, TrackingResult
from adapters.couriers.canada_post.parser import parse_tracking
from adapters.couriers.http import CourierHttp, HttpPolicy, Sleep

DEFAULT_BASE_URL = "https://soa-gw.canadapost.ca"
CREDENTIAL_KEYS = ("username", "password")
_HEADERS = {"Accept": "application/vnd.cpc.track-v2+xml", "Accept-language": "en-CA"}


def required_credentials(courier_code: str, credentials: Mapping[str, str]) -> list[str]:
    """The values of `CREDENTIAL_KEYS`, or CourierAuthError naming the missing keys (never
    their values)."""
    missing = [key for key in CREDENTIAL_KEYS if not credentials.get(key)]
    if missing:
        raise CourierAuthError(
            courier_code, f"{courier_code} credentials lack {', '.join(missing)}"
        )
    return [credentials[key] for key in CREDENTIAL_KEYS]


class CanadaPostClient:
    """CourierClient for the Canada Post tracking web service, one PIN per request."""

    def __init__(
        self,
        courier_code: str,
        credentials: Mapping[str, str],
        *,
        base_url: str = DEFAULT_BASE_URL,
        policy: HttpPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        username, password = required_credentials(courier_code, credentials)
        self.courier_code = courier_code
        self._auth = httpx.BasicAuth(username, password)
        self._http = CourierHttp(
            courier_code,
            base_url,
            policy=policy,
            transport=transport,
            sleep=sleep,
            headers=_HEADERS,
        )

    @property
    def max_batch(self) -> int:
        return 1

    async def track(self, tracking_numbers: Sequence[str]) -> TrackingResult:
        result = TrackingResult()
        for pin in tracking_numbers:
            result += await self._track_one(pin)
        return result

    async def _track_one(self, pin: str) -> TrackingResult:
        response = await self._http.request(
            "GET", f"/vis/track/pin/{quote(pin, safe='')}/detail", auth=self._auth
        )
        if response.status_code == 404:
            return TrackingResult(not_found=(pin,))
        try:
            events = parse_tracking(self.courier_code, response.content, tracking_number=pin)
        except TrackingNumberNotFound:
            return TrackingResult(not_found=(pin,))
        return TrackingResult(events=tuple(events))

    async def aclose(self) -> None:
        await self._http.aclose()
