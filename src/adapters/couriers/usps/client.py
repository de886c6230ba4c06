"""USPS Tracking v3 over httpx: OAuth 2.0 client credentials, one number per request.

The access token is cached until shortly before it expires (time from the Clock port) and
fetched again once when USPS answers 401 to a tracking request anyway (revoked or rotated).
Credentials are never logged nor put in error messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from urllib.parse import quote

import httpx

from adapters.couriers.base import (
    CourierAuthError,
    CourierPayloadError,
    TrackingNumberNotFound,
    required_credentials,
)
from adapters.couriers.documents import load_json
from adapters.couriers.http import CourierHttp, HttpPolicy, SingleNumberClient, Sleep
from adapters.couriers.usps.parser import parse_tracking, raise_for_error
from platform_core.fulfillment.model import TrackingEvent
from platform_core.ports.core import Clock

DEFAULT_BASE_URL = "https://apis.usps.com"
TOKEN_PATH = "/oauth2/v3/token"
TRACKING_PATH = "/tracking/v3/tracking/{number}"
# USPS's default quota is 60 requests an hour per app; spread evenly. An account with a
# raised quota passes its own policy.
DEFAULT_POLICY = HttpPolicy(requests_per_second=60 / 3600)
# Refresh this long before USPS says the token expires: a request in flight must not carry a
# token that dies on the way.
TOKEN_MARGIN = timedelta(seconds=60)
DEFAULT_TOKEN_LIFETIME = timedelta(hours=1)


class UspsClient(SingleNumberClient):
    """A `CourierClient` for USPS. Credential keys: ``client_id``, ``client_secret``."""

    def __init__(
        self,
        courier_code: str,
        credentials: Mapping[str, str],
        *,
        clock: Clock,
        base_url: str = DEFAULT_BASE_URL,
        policy: HttpPolicy = DEFAULT_POLICY,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._client_id, self._client_secret = required_credentials(
            courier_code, credentials, "client_id", "client_secret"
        )
        self._clock = clock
        self._token: str | None = None
        self._token_expires_at: datetime | None = None
        http = CourierHttp(courier_code, base_url, policy=policy, transport=transport, sleep=sleep)
        super().__init__(courier_code, http)

    async def _events_of(self, number: str) -> Sequence[TrackingEvent]:
        response = await self._get_tracking(number)
        if response.status_code == 401:
            self._token = None
            response = await self._get_tracking(number)
            if response.status_code == 401:
                raise CourierAuthError(self.courier_code, "USPS refused a fresh access token")
        if response.status_code == 404:
            raise TrackingNumberNotFound(self.courier_code, number)
        if response.status_code == 400:
            raise_for_error(self.courier_code, response.content, number)
        return parse_tracking(self.courier_code, response.content, requested=number)

    async def _get_tracking(self, number: str) -> httpx.Response:
        token = await self._access_token()
        return await self._http.request(
            "GET",
            TRACKING_PATH.format(number=quote(number, safe="")),
            params={"expand": "DETAIL"},
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            passthrough=(400, 401, 404),
        )

    async def _access_token(self) -> str:
        now = self._clock.now()
        if (
            self._token is not None
            and self._token_expires_at is not None
            and now < self._token_expires_at
        ):
            return self._token
        response = await self._http.request(
            "POST",
            TOKEN_PATH,
            data={
                "grant_type": "client_credentials",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            },
            passthrough=(400, 401),
        )
        if not response.is_success:
            # RFC 6749 errors (invalid_client, ...) become CourierAuthError.
            raise_for_error(self.courier_code, response.content, None)
        self._token, lifetime = self._read_token(response)
        self._token_expires_at = now + max(lifetime - TOKEN_MARGIN, timedelta(0))
        return self._token

    def _read_token(self, response: httpx.Response) -> tuple[str, timedelta]:
        data = load_json(self.courier_code, response.content, "USPS token")
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise CourierPayloadError(self.courier_code, "USPS token answer has no access_token")
        expires_in = data.get("expires_in")
        try:
            lifetime = timedelta(seconds=int(expires_in))
        except (TypeError, ValueError):
            lifetime = DEFAULT_TOKEN_LIFETIME
        return token, lifetime
