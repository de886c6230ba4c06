"""Courier polling end to end in memory: the cron planner, the poll job against Canada Post's
real tracking answer (httpx MockTransport), backoff on outages and 429s, stale and delivered
shipments left alone, and lost webhook jobs enqueued again."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest
from tests.api.api_support import fulfillment_of, paid_order

from adapters.clock import FixedClock
from adapters.couriers.gateway import CourierAdapters
from adapters.couriers.tracking_numbers import TrackingNumberRules
from adapters.queues.inline.queue import InlineJobQueue
from entrypoints.bootstrap import MEMORY_URL, Platform, Settings, bootstrap
from entrypoints.seed import seed_catalogue
from platform_core.fulfillment.couriers import (
    POLL_COURIER_JOB,
    PROCESS_WEBHOOK_JOB,
    ReceiveCourierWebhook,
    UpdateCourier,
    get_courier,
    get_courier_webhook,
    plan_tracking_polls,
    receive_courier_webhook,
    update_courier,
)
from platform_core.fulfillment.model import (
    AddressSnapshot,
    Allocation,
    Courier,
    CourierChanges,
    IngestionMode,
    Shipment,
    TrackingStatus,
    WebhookStatus,
)
from platform_core.fulfillment.service import (
    CreateShipment,
    MarkShipmentReady,
    create_shipment,
    get_shipment,
    get_shipment_tracking,
    mark_shipment_ready,
)

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FIXTURES = Path(__file__).parents[2] / "fixtures" / "couriers" / "canada_post"
DETAIL = (FIXTURES / "tracking_detail_response.xml").read_text()
NO_PIN = (FIXTURES / "unknown_tracking_number_response.xml").read_bytes()
FIXTURE_PIN = "7023210039414604"
CP_CODES = sorted(["20", "0174", "0100", "0173", "1496", "20"])  # the fixture's scans
CP = "canada_post"
BASE_URL = "https://cp.example.test"
CREDENTIALS = {"username": "cp-user", "password": "cp-pass-5e1d", "base_url": BASE_URL}
HOUR = timedelta(hours=1)
DESTINATION = AddressSnapshot(
    name="Northwind receiving",
    lines=("55 Industrial Rd",),
    city="Mississauga",
    region="ON",
    postal_code="L5T 2H4",
    country="CA",
)


def canada_post_pin(serial: int) -> str:
    """A 16-digit Canada Post PIN with a valid check digit (found by the platform's own rules)."""
    rules = TrackingNumberRules()
    prefix = f"70232100{serial:07d}"
    for digit in "0123456789":
        if rules.matching(CP, prefix + digit):
            return prefix + digit
    raise AssertionError(f"no check digit makes {prefix} a Canada Post PIN")


class FakeCanadaPost:
    """Canada Post's tracking service for httpx.MockTransport: the real tracking-detail
    answer (its <pin> set to the PIN asked) for the PINs it knows, "No Pin History" for the
    others, and, while `outage` is set, that answer to every request."""

    def __init__(self) -> None:
        self.known: set[str] = set()
        self.asked: list[str] = []
        self.outage: httpx.Response | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        pin = request.url.path.split("/")[-2]
        self.asked.append(pin)
        expected = "Basic " + base64.b64encode(b"cp-user:cp-pass-5e1d").decode()
        if request.headers.get("Authorization") != expected:
            return httpx.Response(401)
        if self.outage is not None:
            return self.outage
        if pin not in self.known:
            return httpx.Response(200, content=NO_PIN)
        detail = DETAIL.replace(f"<pin>{FIXTURE_PIN}</pin>", f"<pin>{pin}</pin>")
        return httpx.Response(200, content=detail.encode())


async def no_sleep(_: float) -> None:
    """The HTTP policy's waits (backoff, rate limit) pass at once: tests never sleep."""


@attrs.define
class World:
    platform: Platform
    clock: FixedClock
    carrier: FakeCanadaPost
    fulfillment_id: str
    item_id: str
    parcels: int = 0

    @property
    def queue(self) -> InlineJobQueue:
        queue = self.platform.deps.queue
        assert isinstance(queue, InlineJobQueue)
        return queue

    async def ready_shipment(self, known: bool = True) -> Shipment:
        """A ready Canada Post shipment of one unit, with a fresh PIN the carrier knows."""
        self.parcels += 1
        pin = canada_post_pin(self.parcels)
        if known:
            self.carrier.known.add(pin)
        deps = self.platform.deps
        command = CreateShipment(
            self.fulfillment_id, DESTINATION, (Allocation(self.item_id, 1),), CP, pin
        )
        shipment = await create_shipment(deps, command)
        return await mark_shipment_ready(deps, MarkShipmentReady(shipment.id))

    async def change(self, courier_code: str = CP, **changes: Any) -> Courier:
        command = UpdateCourier(courier_code, CourierChanges(**changes))
        return await update_courier(self.platform.deps, command)

    async def courier(self, code: str = CP) -> Courier:
        return await get_courier(self.platform.deps, code)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    clock = FixedClock(START)
    platform = bootstrap(Settings(database_url=MEMORY_URL), clock=clock)
    carrier = FakeCanadaPost()
    platform.deps.couriers = CourierAdapters(
        clock=clock,
        simulator=platform.deps.couriers.simulator,
        transport=httpx.MockTransport(carrier),
        sleep=no_sleep,
    )
    try:
        await platform.prepare()
        seeded = await seed_catalogue(platform.deps)
        order = await paid_order(platform, seeded, (("MNT-KIT", 8),))
        fulfillment = await fulfillment_of(platform, order)
        built = World(platform, clock, carrier, fulfillment.id, fulfillment.items[0].id)
        await built.change(metadata=CREDENTIALS)
        yield built
    finally:
        await platform.close()


def pin_of(shipment: Shipment) -> str:
    assert shipment.tracking_number is not None
    return shipment.tracking_number


def poll_jobs(world: World) -> dict[str, list[str]]:
    """The poll jobs waiting on the queue: their key and tracking numbers."""
    return {
        job.key: list(job.payload["tracking_numbers"])
        for job in world.queue.pending.values()
        if job.job == POLL_COURIER_JOB
    }


# -- planning -----------------------------------------------------------------------------


async def test_only_couriers_that_poll_and_are_due_are_planned(world: World) -> None:
    """Canada Post is due at first and booked an interval ahead; planning again before then
    plans nothing; couriers without in-flight shipments are booked but get no job; a
    webhook-only courier is never booked."""
    await world.change("dhl", ingestion_mode=IngestionMode.WEBHOOK)
    shipment = await world.ready_shipment()
    batches = await plan_tracking_polls(world.platform.deps)
    assert [(b.courier_code, b.tracking_numbers) for b in batches] == [
        (CP, (shipment.tracking_number,))
    ]
    courier = await world.courier()
    assert (courier.last_polled_at, courier.next_poll_at) == (START, START + HOUR)
    assert (await world.courier("chit_chats")).next_poll_at == START + timedelta(minutes=30)
    assert (await world.courier("dhl")).next_poll_at is None
    world.queue.pending.clear()
    world.clock.advance(timedelta(minutes=59))
    assert await plan_tracking_polls(world.platform.deps) == []
    world.clock.advance(timedelta(minutes=1))
    again = await plan_tracking_polls(world.platform.deps)
    assert [b.courier_code for b in again] == [CP]
    assert again[0].key != batches[0].key


async def test_shipments_are_polled_in_batches_under_stable_keys(world: World) -> None:
    """poll_batch_size numbers per job, oldest shipment first, keyed by courier, slot and
    batch; two schedulers planning the same minute enqueue each batch once."""
    await world.change(poll_batch_size=2)
    pins = []
    for _ in range(5):
        pins.append((await world.ready_shipment()).tracking_number)
        world.clock.advance(timedelta(minutes=1))
    first = await plan_tracking_polls(world.platform.deps)
    assert await plan_tracking_polls(world.platform.deps) == []  # this round is booked
    slot = "20260302T090500"
    assert [(b.key, list(b.tracking_numbers)) for b in first] == [
        (f"poll:{CP}:{slot}:0", pins[0:2]),
        (f"poll:{CP}:{slot}:1", pins[2:4]),
        (f"poll:{CP}:{slot}:2", pins[4:5]),
    ]
    assert poll_jobs(world) == {b.key: list(b.tracking_numbers) for b in first}


# -- polling ------------------------------------------------------------------------------


async def test_a_poll_records_canada_posts_scans_and_stops_once_delivered(world: World) -> None:
    """The poll job asks Canada Post for each PIN with basic auth, records the six scans of
    its real answer (delivered among them) once, and the delivered shipment is not polled
    again; a PIN Canada Post does not know is reported, not failed."""
    delivered = await world.ready_shipment()
    unknown = await world.ready_shipment(known=False)
    await plan_tracking_polls(world.platform.deps)
    await world.platform.settle()
    assert sorted(world.carrier.asked) == sorted([pin_of(delivered), pin_of(unknown)])
    (done,) = [job for job in world.queue.completed if job.job == POLL_COURIER_JOB]
    assert world.queue.failed == []
    tracking = await get_shipment_tracking(world.platform.deps, delivered.id)
    assert tracking.shipment.status == "delivered"
    # Oldest first; the delivery and a signature scan share one instant, so their order is
    # not fixed.
    assert sorted(e.event.raw_code for e in tracking.events) == CP_CODES
    times = [e.event.occurred_at for e in tracking.events]
    assert times == sorted(times)
    assert tracking.events[-1].event.raw_code == "20"
    assert TrackingStatus.DELIVERED in {e.event.status for e in tracking.events}
    assert (await get_shipment(world.platform.deps, unknown.id)).status == "ready"
    assert (await world.courier()).poll_failures == 0

    world.carrier.asked.clear()
    world.clock.advance(HOUR)
    batches = await plan_tracking_polls(world.platform.deps)
    assert [list(b.tracking_numbers) for b in batches] == [[unknown.tracking_number]]
    assert done.key != batches[0].key


async def test_shipments_without_news_for_stale_after_days_are_not_polled(world: World) -> None:
    """A parcel silent for longer than the courier's stale_after_days drops out of polling;
    one made ready since is still polled."""
    await world.change(stale_after_days=2)
    silent = await world.ready_shipment(known=False)
    world.clock.advance(timedelta(days=2, minutes=1))
    fresh = await world.ready_shipment()
    batches = await plan_tracking_polls(world.platform.deps)
    numbers = [number for batch in batches for number in batch.tracking_numbers]
    assert numbers == [fresh.tracking_number]
    assert silent.tracking_number not in numbers


async def test_an_outage_backs_polling_off_doubling_per_failure(world: World) -> None:
    """Canada Post answering 503: the request is retried with backoff, then the job fails
    (visibly, not retried) and the courier's next poll is the interval doubled per
    consecutive failure; before then nothing is planned."""
    await world.ready_shipment()
    world.carrier.outage = httpx.Response(503)
    await plan_tracking_polls(world.platform.deps)
    await world.platform.settle()
    (failed,) = world.queue.failed
    assert failed.job == POLL_COURIER_JOB
    assert "503" in (failed.last_error or "")
    assert len(world.carrier.asked) == 3  # the request was tried three times
    courier = await world.courier()
    assert (courier.poll_failures, courier.next_poll_at) == (1, START + 2 * HOUR)
    assert "503" in (courier.last_poll_error or "")

    world.clock.advance(HOUR)
    assert await plan_tracking_polls(world.platform.deps) == []
    world.clock.advance(HOUR)
    await plan_tracking_polls(world.platform.deps)
    await world.platform.settle()
    courier = await world.courier()
    assert (courier.poll_failures, courier.next_poll_at) == (2, world.clock.now() + 4 * HOUR)


async def test_a_429_waits_as_long_as_retry_after_says(world: World) -> None:
    """Rate limited with Retry-After: 900, the courier is next polled 900 s later, not after
    the doubled interval."""
    await world.ready_shipment()
    world.carrier.outage = httpx.Response(429, headers={"Retry-After": "900"})
    await plan_tracking_polls(world.platform.deps)
    await world.platform.settle()
    courier = await world.courier()
    assert courier.poll_failures == 1
    assert courier.next_poll_at == START + timedelta(seconds=900)
    assert len(world.queue.failed) == 1


async def test_a_successful_poll_clears_the_failures(world: World) -> None:
    """After an outage, the next poll that works resets the failure count and error, and the
    courier goes back to its normal interval."""
    shipment = await world.ready_shipment()
    world.carrier.outage = httpx.Response(502)
    await plan_tracking_polls(world.platform.deps)
    await world.platform.settle()
    assert (await world.courier()).poll_failures == 1
    world.carrier.outage = None
    world.clock.advance(2 * HOUR)
    await plan_tracking_polls(world.platform.deps)
    await world.platform.settle()
    courier = await world.courier()
    assert (courier.poll_failures, courier.last_poll_error) == (0, None)
    assert courier.next_poll_at == world.clock.now() + HOUR
    assert (await get_shipment(world.platform.deps, shipment.id)).status == "delivered"


# -- webhooks -----------------------------------------------------------------------------


async def test_a_webhook_whose_job_was_lost_is_enqueued_again(world: World) -> None:
    """A delivery still `received` five minutes after it arrived gets its processing job
    again from the planner, and is then processed; a younger one is left to its job."""
    simulator = world.platform.deps.courier_simulator
    scans = simulator.script("SIM000000777", [TrackingStatus.IN_TRANSIT], start=START)
    headers, body = simulator.signed_webhook(scans)
    webhook = await receive_courier_webhook(
        world.platform.deps, ReceiveCourierWebhook("simulator", headers, body)
    )
    key = f"cwh:{webhook.id}"
    assert world.queue.pending[key].job == PROCESS_WEBHOOK_JOB
    del world.queue.pending[key]  # the worker died with it
    world.clock.advance(timedelta(minutes=4))
    await plan_tracking_polls(world.platform.deps)
    assert key not in world.queue.pending
    world.clock.advance(timedelta(minutes=2))
    await plan_tracking_polls(world.platform.deps)
    assert world.queue.pending[key].payload == {"webhook_id": webhook.id}
    await world.platform.settle()
    processed = await get_courier_webhook(world.platform.deps, webhook.id)
    assert (processed.status, processed.unmatched) == (WebhookStatus.PROCESSED, ("SIM000000777",))
    world.clock.advance(timedelta(minutes=10))
    await plan_tracking_polls(world.platform.deps)
    assert key not in world.queue.pending
