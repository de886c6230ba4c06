"""Canada Post tracking over HTTP: ``GET /vis/track/pin/{pin}/detail`` with basic auth."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from urllib.parse import quote

import httpx

from adapters.couriers.base import TrackingNumberNotFound, required_credentials
from adapters.couriers.canada_post.parser import parse_tracking
from adapters.couriers.http import CourierHttp, HttpPolicy, SingleNumberClient, Sleep
from platform_core.fulfillment.model import TrackingEvent

DEFAULT_BASE_URL = "https://soa-gw.canadapost.ca"
CREDENTIAL_KEYS = ("username", "password")
_HEADERS = {"Accept": "application/vnd.cpc.track-v2+xml", "Accept-language": "en-CA"}


class CanadaPostClient(SingleNumberClient):
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
        username, password = required_credentials(courier_code, credentials, *CREDENTIAL_KEYS)
        self._auth = httpx.BasicAuth(username, password)
        http = CourierHttp(
            courier_code,
            base_url,
            policy=policy,
            transport=transport,
            sleep=sleep,
            headers=_HEADERS,
        )
        super().__init__(courier_code, http)

    async def _events_of(self, pin: str) -> Sequence[TrackingEvent]:
        response = await self._http.request(
            "GET", f"/vis/track/pin/{quote(pin, safe='')}/detail", auth=self._auth
        )
        if response.status_code == 404:
            raise TrackingNumberNotFound(self.courier_code, pin)
        return parse_tracking(self.courier_code, response.content, tracking_number=pin)
