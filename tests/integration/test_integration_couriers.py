"""Couriers over the deployed stack: the API under uvicorn, a real SAQ worker, PostgreSQL, and a
fake Canada Post tracking server on 127.0.0.1. A USPS webhook and Canada Post polling deliver
shipments and queue their automation; duplicate and out-of-order webhooks leave one history."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from api_stack import Stack, eventually, forget_redis_keys, queue_settings, running_stack
from tests.support.network import free_port

from adapters.couriers.webhooks import hmac_signature
from entrypoints.bootstrap import Settings

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parents[1] / "fixtures" / "couriers"
USPS_DELIVERED = (FIXTURES / "usps" / "tracking_v3_response_delivered.json").read_bytes()
CP_DETAIL = (FIXTURES / "canada_post" / "tracking_detail_response.xml").read_bytes()
CP_NO_PIN = (FIXTURES / "canada_post" / "unknown_tracking_number_response.xml").read_bytes()
USPS_NUMBER = "9400109104250532908587"
CP_PIN = "7023210039414604"
CP_CODES = ("20", "0174", "0100", "0173", "1496", "20")  # the fixture's scans
CP_USER, CP_PASSWORD = "cp-it-user", "cp-it-pass"
USPS_SECRET = "usps-it-" + uuid.uuid4().hex
DESTINATION = {
    "name": "Northwind receiving",
    "lines": ["1 Harbour St"],
    "city": "Toronto",
    "region": "ON",
    "postal_code": "M5J 2N8",
    "country": "CA",
}

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class FakeCanadaPost:
    """Canada Post's ``GET /vis/track/pin/{pin}/detail`` as a tiny ASGI app: its real
    tracking detail for the one PIN it knows (behind basic auth), "No Pin History" else."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        token = base64.b64encode(f"{CP_USER}:{CP_PASSWORD}".encode()).decode()
        self._authorization = f"Basic {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        status, body = self._answer(scope["path"], dict(scope["headers"]))
        headers = [(b"content-type", b"application/vnd.cpc.track-v2+xml")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _answer(self, path: str, headers: dict[bytes, bytes]) -> tuple[int, bytes]:
        if headers.get(b"authorization") != self._authorization:
            return 401, b""
        parts = path.strip("/").split("/")
        if parts[:3] != ["vis", "track", "pin"] or len(parts) != 5 or parts[4] != "detail":
            return 404, b""
        self.asked.append(parts[3])
        return (200, CP_DETAIL) if parts[3] == CP_PIN else (200, CP_NO_PIN)


@contextlib.asynccontextmanager
async def fake_canada_post() -> AsyncIterator[tuple[FakeCanadaPost, str]]:
    """The fake server under uvicorn on a free local port, and its base URL."""
    app = FakeCanadaPost()
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:

        async def started() -> bool | None:
            return True if server.started else None

        await eventually(started, "the fake Canada Post server to listen")
        yield app, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 30)


@pytest.fixture(params=["redis", "postgresql"])
async def settings(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Settings]:
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    chosen = queue_settings(request.param, database_url, redis_url)
    yield chosen
    if redis_url:
        await forget_redis_keys(redis_url, chosen.queue_namespace)


@pytest.fixture
async def stack(settings: Settings) -> AsyncIterator[Stack]:
    async with running_stack(settings) as running:
        yield running


async def paid_fulfillment(stack: Stack, gateways: int) -> dict[str, Any]:
    order = await stack.draft({"GW-100": gateways})
    session = await stack.checkout(order["id"])
    assert await stack.stripe(stack.platform.deps.payments.complete(session)) == "applied"
    await stack.order_in(order["id"], "paid")
    return await stack.fulfillment_of(order["id"])


async def ready_shipment(
    stack: Stack, fulfillment: dict[str, Any], courier_code: str, tracking_number: str
) -> dict[str, Any]:
    """A ready shipment of one gateway (whose delivery queues a provisioning step)."""
    body = {
        "destination": DESTINATION,
        "items": [{"fulfillment_item_id": fulfillment["items"][0]["id"], "quantity": 1}],
        "courier_code": courier_code,
        "tracking_number": tracking_number,
    }
    path = f"/v1/fulfillments/{fulfillment['id']}/shipments"
    shipment = await stack.call("POST", path, 201, json=body)
    status = {"status": "ready"}
    return dict(await stack.call("POST", f"/v1/shipments/{shipment['id']}/status", json=status))


async def post_usps(stack: Stack, body: bytes) -> str:
    """POST a USPS webhook signed with the configured secret; the accepted delivery's id."""
    headers = {
        "Content-Type": "application/json",
        "X-USPS-Signature": hmac_signature(USPS_SECRET, body),
    }
    answer = await stack.call(
        "POST", "/v1/webhooks/couriers/usps", 202, content=body, headers=headers
    )
    assert answer["status"] == "accepted"
    return str(answer["webhook_id"])


async def shipment_in(stack: Stack, shipment_id: str, status: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        shipment = await stack.call("GET", f"/v1/shipments/{shipment_id}")
        return dict(shipment) if shipment["status"] == status else None

    return await eventually(check, f"shipment {shipment_id} {status}")


async def events_of(stack: Stack, shipment_id: str) -> list[dict[str, Any]]:
    return list((await stack.call("GET", f"/v1/shipments/{shipment_id}/events"))["items"])


async def webhooks_processed(stack: Stack, count: int) -> list[dict[str, Any]]:
    """The `process_courier_webhook` job runs, once `count` of them completed."""

    async def check() -> list[dict[str, Any]] | None:
        page = await stack.call("GET", "/v1/job-runs", params={"queue": "shipments"})
        runs = [r for r in page["items"] if r["job_name"] == "process_courier_webhook"]
        done = [r for r in runs if r["status"] == "completed"]
        return runs if len(done) >= count else None

    return await eventually(check, f"{count} processed courier webhooks")


def usps_snapshot(keep: slice) -> bytes:
    """USPS's tracking object with only some of its events (newest first, as USPS lists
    them): what an earlier or a partial push carries."""
    document = json.loads(USPS_DELIVERED)
    document["trackingEvents"] = document["trackingEvents"][keep]
    return json.dumps(document).encode()


async def test_webhook_and_polling_deliver_shipments_and_queue_automation(stack: Stack) -> None:
    """USPS pushes its signed tracking detail; Canada Post is polled by the worker's tracking
    refresh against the fake server. Both shipments are delivered with the carriers' scans,
    and each gateway gets its provisioning step."""
    fulfillment = await paid_fulfillment(stack, gateways=2)
    usps = await ready_shipment(stack, fulfillment, "usps", USPS_NUMBER)
    canada = await ready_shipment(stack, fulfillment, "canada_post", CP_PIN)
    await stack.call(
        "PATCH", "/v1/couriers/usps", json={"metadata": {"webhook_secret": USPS_SECRET}}
    )
    async with fake_canada_post() as (carrier, base_url):
        metadata = {"username": CP_USER, "password": CP_PASSWORD, "base_url": base_url}
        courier = await stack.call("PATCH", "/v1/couriers/canada_post", json={"metadata": metadata})
        assert courier["metadata_keys"] == ["base_url", "password", "username"]
        await post_usps(stack, USPS_DELIVERED)
        # What the worker's every-minute cron runs (the stack's worker has cron off).
        await stack.platform.deps.queue.enqueue(
            "shipments", "refresh_tracking", {}, key=f"it-refresh-{uuid.uuid4().hex}"
        )
        await shipment_in(stack, usps["id"], "delivered")
        await shipment_in(stack, canada["id"], "delivered")
        assert carrier.asked == [CP_PIN]
    usps_events = await events_of(stack, usps["id"])
    assert len(usps_events) == 12
    assert (usps_events[-1]["raw_code"], usps_events[-1]["status"]) == ("01", "delivered")
    canada_events = await events_of(stack, canada["id"])
    # Oldest first; the delivery and a signature scan share one instant (either order).
    assert sorted(e["raw_code"] for e in canada_events) == sorted(CP_CODES)
    times = [e["occurred_at"] for e in canada_events]
    assert times == sorted(times)
    for shipment in (usps, canada):
        steps = await stack.steps_of(shipment["id"], 1)
        assert [s["scenario"] for s in steps] == ["sensor_vendor_first_time"]
    polled = await stack.call("GET", "/v1/couriers/canada_post")
    assert polled["polling"]["consecutive_failures"] == 0
    assert polled["polling"]["last_polled_at"] is not None
    runs = await stack.call("GET", "/v1/job-runs", params={"queue": "shipments"})
    names = {(r["job_name"], r["status"]) for r in runs["items"]}
    assert ("poll_courier_tracking", "completed") in names
    assert ("process_courier_webhook", "completed") in names
    await stack.fulfillment_in(fulfillment["id"], "completed")


async def test_duplicate_and_out_of_order_webhooks_leave_one_history(stack: Stack) -> None:
    """The three newest scans (delivered among them) arrive first, twice at once; the nine
    older ones arrive afterwards, and the full detail once more. The history ends with each
    of the 12 scans once, the shipment stays delivered, and one automation step exists."""
    fulfillment = await paid_fulfillment(stack, gateways=1)
    shipment = await ready_shipment(stack, fulfillment, "usps", USPS_NUMBER)
    await stack.call(
        "PATCH", "/v1/couriers/usps", json={"metadata": {"webhook_secret": USPS_SECRET}}
    )
    newest = usps_snapshot(slice(0, 3))
    await asyncio.gather(post_usps(stack, newest), post_usps(stack, newest))
    await webhooks_processed(stack, 2)
    delivered = await shipment_in(stack, shipment["id"], "delivered")
    assert len(await events_of(stack, shipment["id"])) == 3

    await post_usps(stack, usps_snapshot(slice(3, None)))
    await post_usps(stack, USPS_DELIVERED)
    runs = await webhooks_processed(stack, 4)
    assert {r["status"] for r in runs} == {"completed"}
    events = await events_of(stack, shipment["id"])
    assert len(events) == 12
    assert len({(e["raw_code"], e["occurred_at"]) for e in events}) == 12
    assert [e["occurred_at"] for e in events] == sorted(e["occurred_at"] for e in events)
    final = await stack.call("GET", f"/v1/shipments/{shipment['id']}")
    assert (final["status"], final["last_tracking_status"]) == ("delivered", "delivered")
    assert final["delivered_at"] == delivered["delivered_at"]
    steps = await stack.steps_of(shipment["id"], 1)
    assert len(steps) == 1
