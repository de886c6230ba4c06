"""Courier tracking: webhook intake as a carrier sees it, webhook processing by a SAQ worker,
and the carriers' parsers, each next to a baseline measured in the same run.

1. Intake: 16 clients POST USPS's real tracking detail (tests/fixtures/couriers/usps), signed
   with HMAC-SHA256 as USPS does, a new tracking number in every request (no shipment carries
   it: the body is stored and its job queued all the same), to /v1/webhooks/couriers/usps of
   the platform API under uvicorn (bench/servers/serve.py, as `platform-core serve` runs it):
   on PostgreSQL with the SAQ queue on Redis and no worker (so only intake is measured), and on
   the embedded default (SQLite, inline queue, whose inline worker processes the deliveries in
   the same process meanwhile, as it does in production). Baseline: GET /health on the same
   server. Phases are bounded by time; rounds interleave the routes; req/s is the median round.
2. Processing: N webhooks of N ready USPS shipments (12 scans each) are stored, then their
   `process_courier_webhook` jobs are enqueued at once; one SAQ worker process (shipments queue
   only, no cron, no outbox relay) records the scans and delivers the shipments. Timed from
   the first enqueue to the last `processed_at` stored. Baseline: the same through the inline
   queue in this process (one job at a time).
3. Parsers: events/s of each carrier's parser over its real fixture, in process, next to the
   bare JSON / defused-XML decode of the same bytes.

Everything runs on 127.0.0.1 against a scratch PostgreSQL database (migrated, dropped at the
end) and this run's own Redis namespace (deleted at the end). `--quick` for a smoke run; the
full run takes about two minutes. Exits 1 if any request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import os
import secrets
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import httpx
import psycopg
from defusedxml import ElementTree as SafeElementTree
from sqlalchemy.engine import make_url

from adapters.couriers.canada_post.parser import parse_tracking as parse_canada_post
from adapters.couriers.chit_chats.parser import load_json, parse_shipment
from adapters.couriers.dhl.express_parser import parse_mydhl, parse_xmlpi
from adapters.couriers.dhl.unified_parser import parse_webhook as parse_dhl_unified
from adapters.couriers.tracking_numbers import TrackingNumberRules
from adapters.couriers.usps.parser import parse_webhook as parse_usps
from adapters.queues.inline import InlineJobQueue
from benchlib import (
    ADMIN_KEY,
    REDIS_URL,
    Route,
    Server,
    Tally,
    client_loop,
    finish,
    forget_namespace,
    http_client,
    launched,
    libpq,
    percentiles,
    process_cpu_s,
    scratch_database,
    server_env,
    until,
    worker,
    worker_env,
)
from entrypoints.bootstrap import Platform, Settings, bootstrap
from platform_core.fulfillment.couriers import PROCESS_WEBHOOK_JOB, SHIPMENTS_QUEUE
from platform_core.fulfillment.model import AddressSnapshot, Allocation, CourierWebhook
from platform_core.fulfillment.service import (
    CreateFulfillmentForPaidOrder,
    CreateShipment,
    FulfillmentLineSpec,
    MarkShipmentReady,
    create_fulfillment_for_paid_order,
    create_shipment,
    mark_shipment_ready,
)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "couriers"
USPS_BODY = (FIXTURES / "usps" / "tracking_v3_response_delivered.json").read_bytes()
USPS_NUMBER = b"9400109104250532908587"  # the fixture's number, replaced per request
USPS_SCANS = 12
WEBHOOK_SECRET = "usps-bench-" + secrets.token_hex(16)
SIGNATURE_HEADER = "X-USPS-Signature"
MAX_ERROR_SAMPLES = 3
SHIPMENTS_CONCURRENCY = 10  # the shipments queue's default (platform_core.jobs.model)
DESTINATION = AddressSnapshot(
    name="Northwind receiving",
    lines=("1 Harbour St",),
    city="Toronto",
    region="ON",
    postal_code="M5J 2N8",
    country="CA",
)


@attrs.frozen
class Sizes:
    clients: int
    cap_s: float  # each measured phase
    warm_up_s: float  # each route once, before the rounds
    rounds: int
    webhooks: int
    parses: int


FULL = Sizes(clients=16, cap_s=5.0, warm_up_s=1.0, rounds=3, webhooks=300, parses=2_000)
QUICK = Sizes(clients=16, cap_s=1.0, warm_up_s=0.3, rounds=1, webhooks=30, parses=200)


# -- the API servers -----------------------------------------------------------------------------


@contextlib.contextmanager
def started(label: str, env: dict[str, str], logs: Path) -> Iterator[Server]:
    """The platform API under uvicorn in its own process (bench/servers/serve.py), its stderr
    in `logs`; stopped on the way out, also on error."""
    with launched(label, ["platform"], env, logs / f"server-{label.split()[0]}.log") as server:
        yield server


async def configure_usps(server: Server, logs: Path) -> None:
    """Wait until the server answers, then give the usps courier its webhook secret."""
    async with httpx.AsyncClient(base_url=server.base_url, timeout=5) as client:

        async def answers() -> bool:
            try:
                return (await client.get("/health")).status_code == 200
            except httpx.TransportError:
                return False

        await until(answers, f"{server.label} to answer", logs)
        answer = await client.patch(
            "/v1/couriers/usps",
            json={"metadata": {"webhook_secret": WEBHOOK_SECRET}},
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        )
        if answer.status_code != 200:
            raise SystemExit(f"{server.label}: PATCH /v1/couriers/usps: {answer.text[:300]}")


# -- 1. intake -----------------------------------------------------------------------------------

# Tracking numbers for the intake, unique across the run: no delivery dedupes another.
INTAKE_NUMBERS = itertools.count(1)


@attrs.frozen
class Phase:
    latencies_ms: list[float]
    errors: int
    samples: list[str]
    seconds: float
    server_cpu_s: float | None

    @property
    def per_second(self) -> float:
        return len(self.latencies_ms) / self.seconds if self.seconds else 0.0


def signed_usps_body() -> tuple[bytes, dict[str, str]]:
    """The fixture with a tracking number of its own, signed as USPS signs its pushes."""
    number = f"94001{next(INTAKE_NUMBERS):017d}".encode()
    body = USPS_BODY.replace(USPS_NUMBER, number)
    digest = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json", SIGNATURE_HEADER: f"sha256={digest}"}


def routes_of(server: Server) -> list[Route]:
    async def health(client: httpx.AsyncClient, n: int) -> httpx.Response:
        return await client.get("/health")

    async def webhook(client: httpx.AsyncClient, n: int) -> httpx.Response:
        body, headers = signed_usps_body()
        return await client.post("/v1/webhooks/couriers/usps", content=body, headers=headers)

    return [
        Route(f"{server.label}: GET /health", server, health, 200),
        Route(f"{server.label}: POST /v1/webhooks/couriers/usps", server, webhook, 202),
    ]


async def run_phase(route: Route, clients: list[httpx.AsyncClient], cap_s: float) -> Phase:
    """Every client sends requests back to back until `cap_s` has passed; requests/s is what
    succeeded over the wall time of the phase."""
    tally = Tally(MAX_ERROR_SAMPLES)
    cpu_before = process_cpu_s(route.server.process.pid)
    began = time.perf_counter()
    deadline = began + cap_s
    await asyncio.gather(
        *(client_loop(client, route, itertools.count(), deadline, tally) for client in clients)
    )
    seconds = time.perf_counter() - began
    cpu_after = process_cpu_s(route.server.process.pid)
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    return Phase(tally.latencies_ms, tally.errors, tally.samples, seconds, cpu)


async def measure_intake(servers: list[Server], sizes: Sizes) -> dict[str, list[Phase]]:
    async with contextlib.AsyncExitStack() as stack:
        pools = {
            server.label: [
                await stack.enter_async_context(http_client(server)) for _ in range(sizes.clients)
            ]
            for server in servers
        }
        routes = [route for server in servers for route in routes_of(server)]
        for route in routes:
            await run_phase(route, pools[route.server.label], sizes.warm_up_s)
        phases: dict[str, list[Phase]] = {route.name: [] for route in routes}
        for number in range(1, sizes.rounds + 1):
            print(f"  round {number} of {sizes.rounds}")
            for route in routes:
                phase = await run_phase(route, pools[route.server.label], sizes.cap_s)
                phases[route.name].append(phase)
                print_phase(route.name, phase)
        return phases


def print_phase(name: str, phase: Phase) -> None:
    p50, p95, _ = percentiles(phase.latencies_ms)
    print(
        f"    {name:<68} {phase.per_second:6.0f} req/s  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
        f"errors {phase.errors}"
    )
    for sample in phase.samples:
        print(f"      error: {sample}")


def print_intake(phases: dict[str, list[Phase]]) -> int:
    """The summary table, each route against GET /health of its server; how many failed."""
    print(
        "\n  req/s: median round; x health: against GET /health of the same server; "
        "p50/p95/p99 ms: every\n  successful request of every round; srv ms: server CPU per "
        "request (one process; the 16\n  clients, PostgreSQL and Redis share the same CPUs)"
    )
    heads = ["req/s", "x health", "p50", "p95", "p99", "errors", "srv ms"]
    print(f"  {'route':<68} " + " ".join(f"{head:>8}" for head in heads))
    failed, health_rps = 0, 0.0
    for name, rounds in phases.items():
        rps = statistics.median(phase.per_second for phase in rounds)
        health_rps = rps if name.endswith("GET /health") else health_rps
        latencies = [ms for phase in rounds for ms in phase.latencies_ms]
        errors = sum(phase.errors for phase in rounds)
        failed += errors
        figures = [f"{rps:8.0f}", f"{rps / health_rps:8.3f}"]
        figures += [f"{ms:8.1f}" for ms in percentiles(latencies)]
        figures += [f"{errors:8}", f"{server_ms(rounds, len(latencies)):>8}"]
        print(f"  {name:<68} " + " ".join(figures))
    return failed


def server_ms(rounds: list[Phase], done: int) -> str:
    """Server CPU milliseconds per successful request over the rounds ('?' without /proc)."""
    spent = [phase.server_cpu_s for phase in rounds]
    if not done or any(seconds is None for seconds in spent):
        return "?"
    return f"{sum(seconds or 0.0 for seconds in spent) / done * 1e3:.2f}"


async def stored_webhooks_pg(database_url: str) -> int:
    async with await psycopg.AsyncConnection.connect(libpq(database_url)) as db:
        row = await (await db.execute("SELECT count(*) FROM courier_webhooks")).fetchone()
    return int(row[0]) if row else 0


def accepted(phases: dict[str, list[Phase]], label: str) -> int:
    """Webhooks answered 202 in the measured rounds of one server."""
    name = f"{label}: POST /v1/webhooks/couriers/usps"
    return sum(len(phase.latencies_ms) for phase in phases[name])


async def intake(database_url: str, sizes: Sizes, logs: Path, namespace: str) -> int:
    """Part 1; returns how many requests failed."""
    with contextlib.ExitStack() as stack:
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench_couriers_"))
        sqlite_url = f"sqlite+aiosqlite:///{folder}/platform-core.db"
        postgres = stack.enter_context(
            started(
                "postgresql + SAQ/Redis (no worker)",
                server_env(database_url, REDIS_URL, namespace),
                logs,
            )
        )
        sqlite = stack.enter_context(
            started("sqlite + inline (embedded)", server_env(sqlite_url, "inline://", ""), logs)
        )
        for server in (postgres, sqlite):
            await configure_usps(server, logs)
        phases = await measure_intake([postgres, sqlite], sizes)
    failed = print_intake(phases)
    stored = await stored_webhooks_pg(database_url)
    print(
        f"  postgresql: {stored} deliveries stored, {accepted(phases, postgres.label)} of them "
        "answered 202 in the measured rounds (the rest in the warm-up)"
    )
    return failed


# -- 2. processing -------------------------------------------------------------------------------


@attrs.frozen
class Processing:
    name: str
    webhooks: int
    scans: int
    delivered: int
    seconds: float

    @property
    def webhooks_per_second(self) -> float:
        return self.webhooks / self.seconds if self.seconds > 0 else float("inf")

    @property
    def scans_per_second(self) -> float:
        return self.scans / self.seconds if self.seconds > 0 else float("inf")


def usps_numbers(first: int, count: int) -> list[str]:
    """`count` USPS IMpb numbers that pass the courier's check-digit rules."""
    rules = TrackingNumberRules()
    numbers = []
    for serial in range(first, first + count):
        base = f"940010910425{serial:09d}"
        digit = next(d for d in "0123456789" if rules.matching("usps", base + d))
        numbers.append(base + digit)
    return numbers


async def ready_shipment(platform: Platform, tracking_number: str) -> None:
    """A ready USPS shipment of one unit, on a fulfillment order of its own (as shipments of
    different orders are in flight at once)."""
    deps = platform.deps
    line = FulfillmentLineSpec(deps.ids.new_id("ori"), "prd_bench", "Gateway", 1)
    command = CreateFulfillmentForPaidOrder(deps.ids.new_id("ord"), deps.ids.new_id("cmp"), (line,))
    fulfillment = await create_fulfillment_for_paid_order(deps, command)
    shipment = await create_shipment(
        deps,
        CreateShipment(
            fulfillment_order_id=fulfillment.id,
            destination=DESTINATION,
            items=(Allocation(fulfillment.items[0].id, 1),),
            courier_code="usps",
            tracking_number=tracking_number,
        ),
    )
    await mark_shipment_ready(deps, MarkShipmentReady(shipment.id))


async def store_webhooks(platform: Platform, numbers: list[str]) -> list[str]:
    """One stored USPS delivery per number (as intake keeps it), not yet enqueued."""
    deps = platform.deps
    ids = []
    async with deps.uow() as uow:
        for number in numbers:
            webhook = CourierWebhook(
                id=deps.ids.new_id("cwh"),
                courier_code="usps",
                body=USPS_BODY.replace(USPS_NUMBER, number.encode()).decode(),
                content_type="application/json",
                received_at=deps.clock.now(),
            )
            ids.append((await uow.courier_webhooks.add(webhook)).id)
        await uow.commit()
    return ids


async def enqueue_all(platform: Platform, ids: list[str]) -> datetime:
    """Enqueue every delivery's job as intake does; the time of the first enqueue."""
    began = platform.deps.clock.now()
    for webhook_id in ids:
        await platform.deps.queue.enqueue(
            SHIPMENTS_QUEUE,
            PROCESS_WEBHOOK_JOB,
            {"webhook_id": webhook_id},
            key=f"cwh:{webhook_id}",
        )
    return began


@attrs.frozen
class BatchState:
    processed: int
    recorded: int
    last_processed: datetime | None
    delivered: int


async def batch_state(database_url: str, ids: list[str], numbers: list[str]) -> BatchState:
    hooks = (
        "SELECT count(*) FILTER (WHERE status = 'processed'), coalesce(sum(recorded), 0), "
        "max(processed_at) FROM courier_webhooks WHERE id = ANY(%s)"
    )
    ships = (
        "SELECT count(*) FROM shipments WHERE courier_code = 'usps' "
        "AND status = 'delivered' AND tracking_number = ANY(%s)"
    )
    async with await psycopg.AsyncConnection.connect(libpq(database_url)) as db:
        row = await (await db.execute(hooks, (ids,))).fetchone()
        delivered = await (await db.execute(ships, (numbers,))).fetchone()
    assert row is not None
    assert delivered is not None
    return BatchState(int(row[0]), int(row[1]), row[2], int(delivered[0]))


async def prepared_batch(platform: Platform, first: int, count: int) -> tuple[list[str], list[str]]:
    """`count` ready shipments and one stored delivery for each: (webhook ids, numbers)."""
    await platform.prepare()
    numbers = usps_numbers(first, count)
    for number in numbers:
        await ready_shipment(platform, number)
    return await store_webhooks(platform, numbers), numbers


def finished(name: str, state: BatchState, began: datetime, count: int) -> Processing:
    assert state.processed == count, f"{name}: {state.processed} of {count} processed"
    assert state.recorded == count * USPS_SCANS, f"{name}: {state.recorded} scans recorded"
    assert state.last_processed is not None
    seconds = (state.last_processed - began).total_seconds()
    return Processing(name, count, state.recorded, state.delivered, seconds)


async def inline_processing(database_url: str, count: int) -> Processing:
    platform = bootstrap(Settings(database_url=database_url, migrate_on_start=False))
    try:
        ids, numbers = await prepared_batch(platform, 0, count)
        queue = platform.deps.queue
        assert isinstance(queue, InlineJobQueue)
        began = await enqueue_all(platform, ids)
        await queue.run_due()
    finally:
        await platform.close()
    state = await batch_state(database_url, ids, numbers)
    return finished("inline queue in this process (1 job at a time)", state, began, count)


async def saq_processing(database_url: str, count: int, logs: Path, namespace: str) -> Processing:
    settings = Settings(
        database_url=database_url,
        migrate_on_start=False,
        queue_url=REDIS_URL,
        queue_namespace=namespace,
    )
    platform = bootstrap(settings)
    try:
        ids, numbers = await prepared_batch(platform, count, count)

        async def all_processed() -> bool:
            return (await batch_state(database_url, ids, numbers)).processed == count

        async with worker(SHIPMENTS_QUEUE, worker_env(settings), logs):
            began = await enqueue_all(platform, ids)
            await until(all_processed, f"{count} webhooks through the SAQ worker", logs)
    finally:
        await platform.close()
    state = await batch_state(database_url, ids, numbers)
    name = f"SAQ worker (1 process, concurrency {SHIPMENTS_CONCURRENCY}), Redis queue"
    return finished(name, state, began, count)


def print_processing(runs: list[Processing], baseline: Processing) -> None:
    heads = ["webhooks", "scans", "delivered", "seconds", "hooks/s", "scans/s", "x inline"]
    print(f"\n  {'how':<58} " + " ".join(f"{head:>9}" for head in heads))
    for run in runs:
        ratio = run.webhooks_per_second / baseline.webhooks_per_second
        figures = [run.webhooks, run.scans, run.delivered]
        print(
            f"  {run.name:<58} " + " ".join(f"{figure:>9}" for figure in figures)
            + f" {run.seconds:>9.2f} {run.webhooks_per_second:>9.1f}"
            f" {run.scans_per_second:>9.1f} {ratio:>9.2f}"
        )  # fmt: skip


# -- 3. parsers ----------------------------------------------------------------------------------


@attrs.frozen
class Parser:
    name: str
    fixture: str
    parse: Callable[[bytes], list[Any]]
    decode: Callable[[bytes], object]


def xml_decode(body: bytes) -> object:
    return SafeElementTree.fromstring(body, forbid_dtd=True)


PARSERS = [
    Parser("USPS Tracking v3 (JSON)", "usps/tracking_v3_response_delivered.json",
           lambda body: parse_usps("usps", body), json.loads),
    Parser("DHL Unified (JSON)", "dhl_unified/tracking_response.json",
           lambda body: parse_dhl_unified("dhl", body), json.loads),
    Parser("MyDHL Express (JSON)", "dhl_express/mydhl_tracking_response_delivered.json",
           lambda body: parse_mydhl("dhl", body), json.loads),
    Parser("DHL XML-PI (XML)", "dhl_express/xmlpi_tracking_response_multi_awb.xml",
           lambda body: parse_xmlpi("dhl", body), xml_decode),
    Parser("Canada Post tracking detail (XML)", "canada_post/tracking_detail_response.xml",
           lambda body: parse_canada_post("canada_post", body), xml_decode),
    Parser("Chit Chats shipment (JSON)", "chit_chats/shipment_get_response.json",
           lambda body: parse_shipment("chit_chats", load_json("chit_chats", body)), json.loads),
]  # fmt: skip


def seconds_for(operation: Callable[[bytes], object], body: bytes, count: int) -> float:
    began = time.perf_counter()
    for _ in range(count):
        operation(body)
    return time.perf_counter() - began


def print_parsers(parses: int) -> None:
    heads = ["bytes", "events", "us/parse", "events/s", "us/decode", "x decode"]
    print(f"\n  {'parser (fixture)':<36} " + " ".join(f"{head:>9}" for head in heads))
    for parser in PARSERS:
        body = (FIXTURES / parser.fixture).read_bytes()
        events = len(parser.parse(body))
        parse_s = seconds_for(parser.parse, body, parses)
        decode_s = seconds_for(parser.decode, body, parses)
        print(
            f"  {parser.name:<36} {len(body):>9} {events:>9} {parse_s / parses * 1e6:>9.1f}"
            f" {events * parses / parse_s:>9.0f} {decode_s / parses * 1e6:>9.1f}"
            f" {parse_s / decode_s:>9.2f}"
        )


# -- the run -------------------------------------------------------------------------------------


async def run(sizes: Sizes, logs: Path) -> int:
    namespace = f"benchcou{uuid.uuid4().hex[:8]}-"
    try:
        with scratch_database("bench_couriers_") as url:
            print(
                f"PostgreSQL scratch database {make_url(url).database}, Redis {REDIS_URL} "
                f"(namespace {namespace}), {os.cpu_count()} CPUs, load average "
                + " ".join(f"{value:.2f}" for value in os.getloadavg())
            )
            print(
                f"\n== 1. webhook intake: {sizes.clients} clients, {sizes.cap_s:.0f} s phases, "
                f"{sizes.rounds} round(s), USPS fixture ({len(USPS_BODY)} bytes) HMAC-signed"
            )
            failed = await intake(url, sizes, logs, namespace)
            print(f"\n== 2. processing {sizes.webhooks} stored webhooks ({USPS_SCANS} scans each)")
            inline = await inline_processing(url, sizes.webhooks)
            saq = await saq_processing(url, sizes.webhooks, logs, namespace + "p-")
            print_processing([inline, saq], inline)
    finally:
        await forget_namespace(namespace)
    print(f"\n== 3. parsers, {sizes.parses} parses of each fixture, in process")
    print_parsers(sizes.parses)
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run with small sizes")
    args = parser.parse_args()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-couriers-") as tmp:
        failed = asyncio.run(run(QUICK if args.quick else FULL, Path(tmp)))
    finish(began, failed)


if __name__ == "__main__":
    main()
