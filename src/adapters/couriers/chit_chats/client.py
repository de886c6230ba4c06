"""Chit Chats tracking over HTTP: ``GET /api/v1/clients/{client_id}/shipments/{id}``, with the
access token in the ``Authorization`` header and a client-side request rate."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from urllib.parse import quote

import attrs
import httpx

from adapters.couriers.base import CourierAuthError, TrackingResult
from adapters.couriers.chit_chats.parser import load_json, parse_shipment
from adapters.couriers.http import CourierHttp, HttpPolicy, Sleep
from platform_core.shared.errors import ValidationError

DEFAULT_BASE_URL = "https://chitchats.com"
CREDENTIAL_KEYS = ("client_id", "access_token")
RATE_KEY = "requests_per_second"
# Well under the limits Chit Chats documents; a 429 is still honoured (Retry-After).
DEFAULT_REQUESTS_PER_SECOND = 2.0


def requests_per_second(courier_code: str, credentials: Mapping[str, str]) -> float:
    """The client-side rate from the `requests_per_second` key, else the default."""
    raw = credentials.get(RATE_KEY)
    if raw is None or raw == "":
        return DEFAULT_REQUESTS_PER_SECOND
    try:
        rate = float(raw)
    except (TypeError, ValueError):
        rate = math.nan
    if not math.isfinite(rate) or rate <= 0:
        raise ValidationError(
            f"{courier_code} {RATE_KEY} must be a positive number",
            {"field": RATE_KEY, "courier_code": courier_code},
        )
    return rate


class ChitChatsClient:
    """CourierClient for Chit Chats shipments; tracking numbers are Chit Chats shipment ids."""

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
        missing = [key for key in CREDENTIAL_KEYS if not credentials.get(key)]
        if missing:
            raise CourierAuthError(
                courier_code, f"{courier_code} credentials lack {', '.join(missing)}"
            )
        self.courier_code = courier_code
        self._client_id = credentials["client_id"]
        rate = requests_per_second(courier_code, credentials)
        self._http = CourierHttp(
            courier_code,
            base_url,
            policy=attrs.evolve(policy or HttpPolicy(), requests_per_second=rate),
            transport=transport,
            sleep=sleep,
            headers={"Authorization": credentials["access_token"], "Accept": "application/json"},
        )

    @property
    def max_batch(self) -> int:
        return 1

    async def track(self, tracking_numbers: Sequence[str]) -> TrackingResult:
        result = TrackingResult()
        for shipment_id in tracking_numbers:
            result += await self._track_one(shipment_id)
        return result

    async def _track_one(self, shipment_id: str) -> TrackingResult:
        path = (
            f"/api/v1/clients/{quote(self._client_id, safe='')}"
            f"/shipments/{quote(shipment_id, safe='')}"
        )
        response = await self._http.request("GET", path)
        if response.status_code == 404:
            return TrackingResult(not_found=(shipment_id,))
        document = load_json(self.courier_code, response.content)
        return TrackingResult(events=tuple(parse_shipment(self.courier_code, document)))

    async def aclose(self) -> None:
        await self._http.aclose()
