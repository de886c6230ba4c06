"""The product as deployed, in one test process: the API under uvicorn on 127.0.0.1, a real SAQ
worker (Redis or PostgreSQL queue) and PostgreSQL, all sharing one Platform so a test can play
Stripe, the courier and the legacy system's faults through the platform's own fakes."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import attrs
import httpx
import redis.asyncio as aioredis
import uvicorn
from integration_support import settings_for
from tests.support.network import free_port

from entrypoints.api import ApiSettings, create_app
from entrypoints.bootstrap import Platform, Settings, bootstrap
from entrypoints.inline_worker import InlineWorker
from entrypoints.seed import COMPANY_MIRROR_ID, SeededCatalogue, seed_catalogue
from entrypoints.worker import WorkerOptions, serve_worker
from platform_core.access.model import Role
from platform_core.access.service import CreateApiKey, create_api_key
from platform_core.fulfillment.model import TrackingStatus
from platform_core.legacy.model import CompanyRecord

T = TypeVar("T")
WAIT_SECONDS = 60.0
POLL_SECONDS = 0.1
DELIVERY = (TrackingStatus.IN_TRANSIT, TrackingStatus.OUT_FOR_DELIVERY, TrackingStatus.DELIVERED)


def queue_settings(kind: str, database_url: str, redis_url: str | None) -> Settings:
    """The deployment: PostgreSQL for state, the queue on Redis or the same PostgreSQL, under a
    namespace of this test's own."""
    base = settings_for(database_url)
    return Settings(
        database_url=base.database_url,
        migrate_on_start=False,
        queue_url=redis_url if kind == "redis" and redis_url else database_url,
        queue_heartbeat_seconds=2,
        queue_namespace=f"t{uuid.uuid4().hex[:10]}-",
    )


async def forget_redis_keys(url: str, namespace: str) -> None:
    client = aioredis.from_url(url)
    try:
        async for key in client.scan_iter(match=f"*{namespace}*"):
            await client.delete(key)
    finally:
        await client.aclose()


async def eventually(check: Callable[[], Awaitable[T | None]], what: str) -> T:
    """Poll `check` until it returns something other than None (bounded)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        found = await check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(POLL_SECONDS)


@attrs.define
class Stack:
    platform: Platform
    seeded: SeededCatalogue
    http: httpx.AsyncClient
    base_url: str
    admin: dict[str, str]
    parcels: int = 0

    async def key(self, role: Role, company_id: str | None = None) -> dict[str, str]:
        token = "pck_it_" + secrets.token_urlsafe(32)
        await create_api_key(
            self.platform.deps, CreateApiKey(f"it {role}", role, token, company_id)
        )
        return {"Authorization": f"Bearer {token}"}

    async def call(self, method: str, path: str, expect: int = 200, **kwargs: Any) -> Any:
        response = await self.http.request(method, path, **kwargs)
        assert response.status_code == expect, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json()

    # -- the customer -------------------------------------------------------------------------
    async def draft(self, lines: dict[str, int]) -> dict[str, Any]:
        body = {
            "company_id": self.seeded.company_id,
            "billing_contact_id": self.seeded.billing_contact_id,
            "billing_address_id": self.seeded.billing_address_id,
            "lines": [
                {"product_id": self.seeded.product_ids[sku], "quantity": qty}
                for sku, qty in lines.items()
            ],
        }
        return dict(await self.call("POST", "/v1/orders", 201, json=body))

    async def checkout(self, order_id: str) -> str:
        order = await self.call("POST", f"/v1/orders/{order_id}/send-checkout", json={})
        assert order["status"] == "checkout_sent"
        return str(order["checkout"]["session_id"])

    # -- Stripe -------------------------------------------------------------------------------
    async def stripe(self, signed: tuple[bytes, dict[str, str]]) -> str:
        body, headers = signed
        answer = await self.call("POST", "/v1/webhooks/stripe", content=body, headers=headers)
        return str(answer["status"])

    async def order_in(self, order_id: str, status: str) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            order = await self.call("GET", f"/v1/orders/{order_id}")
            return dict(order) if order["status"] == status else None

        return await eventually(check, f"order {order_id} {status}")

    # -- Ops ----------------------------------------------------------------------------------
    async def fulfillment_of(self, order_id: str) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            page = await self.call("GET", "/v1/fulfillments", params={"order_id": order_id})
            return dict(page["items"][0]) if page["items"] else None

        found = await eventually(check, f"the fulfillment of {order_id}")
        return dict(await self.call("GET", f"/v1/fulfillments/{found['id']}"))

    async def ship(self, fulfillment: dict[str, Any], quantities: dict[str, int]) -> dict[str, Any]:
        """A ready shipment of `quantities` (by order item id) with a fresh tracking number."""
        self.parcels += 1
        tracking = f"IT{uuid.uuid4().hex[:10].upper()}"
        items = [
            {"fulfillment_item_id": item["id"], "quantity": quantities[item["order_item_id"]]}
            for item in fulfillment["items"]
            if item["order_item_id"] in quantities
        ]
        body = {
            "destination": {
                "name": "Northwind receiving",
                "lines": ["1 Harbour St"],
                "city": "Toronto",
                "region": "ON",
                "postal_code": "M5J 2N8",
                "country": "CA",
            },
            "items": items,
            "courier_code": "simulator",
            "tracking_number": tracking,
        }
        path = f"/v1/fulfillments/{fulfillment['id']}/shipments"
        shipment = await self.call("POST", path, 201, json=body)
        ready = await self.call(
            "POST", f"/v1/shipments/{shipment['id']}/status", json={"status": "ready"}
        )
        return dict(ready)

    # -- the courier --------------------------------------------------------------------------
    async def deliver(self, shipment: dict[str, Any]) -> None:
        couriers = self.platform.deps.courier_simulator
        start = datetime.now(UTC) - timedelta(hours=6)
        scans = couriers.script(
            shipment["tracking_number"], DELIVERY, start=start, every=timedelta(hours=1)
        )
        headers, body = couriers.signed_webhook(scans)
        # 202: the webhook is kept and processed on the shipments queue.
        path = "/v1/webhooks/couriers/simulator"
        await self.call("POST", path, 202, content=body, headers=headers)

    async def steps_of(self, shipment_id: str, count: int) -> list[dict[str, Any]]:
        async def check() -> list[dict[str, Any]] | None:
            page = await self.call("GET", f"/v1/shipments/{shipment_id}/automation-steps")
            return list(page["items"]) if len(page["items"]) >= count else None

        return await eventually(check, f"{count} automation steps of {shipment_id}")

    async def fulfillment_in(self, fulfillment_id: str, status: str) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            found = await self.call("GET", f"/v1/fulfillments/{fulfillment_id}")
            return dict(found) if found["status"] == status else None

        return await eventually(check, f"fulfillment {fulfillment_id} {status}")


@contextlib.asynccontextmanager
async def running_stack(settings: Settings, api: ApiSettings | None = None) -> AsyncIterator[Stack]:
    platform = bootstrap(settings)
    stop = asyncio.Event()
    server: uvicorn.Server | None = None
    tasks: list[asyncio.Task[Any]] = []
    try:
        seeded = await seed_catalogue(platform.deps)
        if settings.legacy_url is None:  # with a legacy URL, the test seeds its own server
            platform.deps.legacy_fake.put(
                CompanyRecord(COMPANY_MIRROR_ID, "Northwind Sensors Ltd", "active")
            )
        port = free_port()
        config = uvicorn.Config(
            create_app(platform, api or ApiSettings()),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
            lifespan="on",
        )
        server = uvicorn.Server(config)
        tasks.append(asyncio.create_task(server.serve()))
        if settings.queue_url == "inline://":  # the embedded default: `serve` runs this
            worker = InlineWorker(platform).run(stop, interval=0.1)
        else:
            worker = serve_worker(platform, stop, WorkerOptions(cron=False))
        tasks.append(asyncio.create_task(worker))
        await eventually(lambda: _started(server), "the API to listen")
        base_url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            stack = Stack(platform, seeded, http, base_url, {})
            stack.admin = await stack.key(Role.ADMIN)
            http.headers.update(stack.admin)
            yield stack
    finally:
        stop.set()
        if server is not None:
            server.should_exit = True
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 30)
        await platform.close()


async def _started(server: uvicorn.Server) -> bool | None:
    return True if server.started else None
