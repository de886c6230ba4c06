"""`CourierAdapters`: the platform's CourierGateway, one door to every carrier integration.

Each registry entry names its integration (`Courier.adapter`). Clients are built from the
entry's metadata (credentials, an optional `base_url`) and its rate limit, and kept while the
entry is unchanged, so their token caches and rate limiters last across polls; editing the
entry builds a fresh client. The rate limit is per process: with several workers, give each
courier `requests_per_minute / workers`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx

from adapters.couriers.base import CourierAdapterError, CourierClient, TrackingResult
from adapters.couriers.canada_post.client import CanadaPostClient
from adapters.couriers.chit_chats.client import ChitChatsClient
from adapters.couriers.dhl.client import dhl_client
from adapters.couriers.dhl.unified_parser import parse_webhook as parse_dhl_webhook
from adapters.couriers.http import HttpPolicy, Sleep
from adapters.couriers.simulator import SIMULATOR_ADAPTER, SimulatorCourierGateway
from adapters.couriers.tracking_numbers import TrackingNumberRules
from adapters.couriers.usps.client import UspsClient
from adapters.couriers.usps.parser import parse_webhook as parse_usps_webhook
from adapters.couriers.webhooks import verify_webhook
from platform_core.fulfillment.model import Courier, TrackingEvent
from platform_core.fulfillment.ports import CourierPoll
from platform_core.ports.core import Clock
from platform_core.shared.errors import ValidationError

WebhookParser = Callable[[str, bytes], list[TrackingEvent]]

# Carriers that push tracking to us, and how their pushes read.
WEBHOOK_PARSERS: Mapping[str, WebhookParser] = {
    "usps": parse_usps_webhook,
    "dhl": parse_dhl_webhook,
}
CARRIER_ADAPTERS = frozenset({"usps", "dhl", "canada_post", "chit_chats"})


class CourierAdapters:
    """CourierGateway over the carrier integrations and, when given, the simulator."""

    def __init__(
        self,
        *,
        clock: Clock,
        simulator: SimulatorCourierGateway | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self.simulator = simulator
        self._transport = transport
        self._sleep = sleep
        self._rules = TrackingNumberRules()
        self._clients: dict[str, tuple[int, CourierClient]] = {}

    def supports(self, adapter: str) -> bool:
        return adapter in CARRIER_ADAPTERS or (
            self.simulator is not None and adapter == SIMULATOR_ADAPTER
        )

    def verify_webhook(self, courier: Courier, headers: Mapping[str, str], body: bytes) -> None:
        verify_webhook(courier, headers, body)

    def parse_webhook(self, courier: Courier, body: bytes) -> list[TrackingEvent]:
        if courier.adapter == SIMULATOR_ADAPTER and self.simulator is not None:
            return self.simulator.parse_webhook(courier, body)
        parser = WEBHOOK_PARSERS.get(courier.adapter)
        if parser is None:
            raise ValidationError(
                f"courier {courier.code} ({courier.adapter}) does not send webhooks",
                {"courier_code": courier.code},
            )
        try:
            return parser(courier.code, body)
        except CourierAdapterError as error:
            raise ValidationError(error.message, {"field": "body", **error.details}) from None

    async def poll(self, courier: Courier, tracking_numbers: Sequence[str]) -> CourierPoll:
        if courier.adapter == SIMULATOR_ADAPTER and self.simulator is not None:
            return await self.simulator.poll(courier, tracking_numbers)
        client = await self._client(courier)
        result = TrackingResult()
        numbers = list(dict.fromkeys(tracking_numbers))
        # A failing chunk fails the poll; the next round asks again, and what was already
        # recorded is de-duplicated then.
        for start in range(0, len(numbers), client.max_batch):
            result += await client.track(numbers[start : start + client.max_batch])
        return CourierPoll(result.events, result.not_found)

    def check_tracking_number(self, courier: Courier, tracking_number: str) -> None:
        self._rules.check(courier.adapter, tracking_number)

    async def aclose(self) -> None:
        clients, self._clients = self._clients, {}
        for _, client in clients.values():
            await client.aclose()

    async def _client(self, courier: Courier) -> CourierClient:
        cached = self._clients.get(courier.id)
        if cached is not None and cached[0] == courier.version:
            return cached[1]
        if cached is not None:
            await cached[1].aclose()
        client = self._build(courier)
        self._clients[courier.id] = (courier.version, client)
        return client

    def _build(self, courier: Courier) -> CourierClient:
        metadata = dict(courier.metadata)
        options: dict[str, Any] = {"transport": self._transport, "sleep": self._sleep}
        # The registry's rate wins; without one each client keeps its carrier's default pacing.
        if courier.requests_per_minute:
            options["policy"] = HttpPolicy(requests_per_second=courier.requests_per_minute / 60)
        if "base_url" in metadata:
            options["base_url"] = metadata["base_url"]
        match courier.adapter:
            case "usps":
                return UspsClient(courier.code, metadata, clock=self._clock, **options)
            case "dhl":
                return dhl_client(courier.code, metadata, clock=self._clock, **options)
            case "canada_post":
                return CanadaPostClient(courier.code, metadata, **options)
            case "chit_chats":
                return ChitChatsClient(courier.code, metadata, **options)
        raise ValidationError(
            f"no courier integration named {courier.adapter!r}",
            {"field": "adapter", "value": courier.adapter},
        )
