"""Chit Chats tracking over HTTP: ``GET /api/v1/clients/{client_id}/shipments/{id}``, with the
access token in the ``Authorization`` header and a client-side request rate."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from urllib.parse import quote

import attrs
import httpx

from adapters.couriers.base import TrackingNumberNotFound, required_credentials
from adapters.couriers.chit_chats.parser import load_json, parse_shipment
from adapters.couriers.http import CourierHttp, HttpPolicy, SingleNumberClient, Sleep
from platform_core.fulfillment.model import TrackingEvent
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


class ChitChatsClient(SingleNumberClient):
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
        self._client_id, access_token = required_credentials(
            courier_code, credentials, *CREDENTIAL_KEYS
        )
        # A rate the caller set (the registry's requests_per_minute) wins over the metadata's.
        if policy is None or policy.requests_per_second is None:
            rate = requests_per_second(courier_code, credentials)
            policy = attrs.evolve(policy or HttpPolicy(), requests_per_second=rate)
        http = CourierHttp(
            courier_code,
            base_url,
            policy=policy,
            transport=transport,
            sleep=sleep,
            headers={"Authorization": access_token, "Accept": "application/json"},
        )
        super().__init__(courier_code, http)

    async def _events_of(self, shipment_id: str) -> Sequence[TrackingEvent]:
        path = (
            f"/api/v1/clients/{quote(self._client_id, safe='')}"
            f"/shipments/{quote(shipment_id, safe='')}"
        )
        response = await self._http.request("GET", path)
        if response.status_code == 404:
            raise TrackingNumberNotFound(self.courier_code, shipment_id)
        document = load_json(self.courier_code, response.content)
        return parse_shipment(self.courier_code, document)
