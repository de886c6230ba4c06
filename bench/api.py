"""API throughput and latency under concurrent clients, next to a Litestar hello-world route.

Starts real servers on 127.0.0.1 in subprocesses (bench/servers/serve.py, uvicorn, one process
each, the same uvicorn settings): a Litestar app with one hello-world route, the platform API on
a scratch PostgreSQL database (migrated, seeded, inline queue and its inline worker, as
`platform-core serve` runs it) and, labelled, the same API on the embedded SQLite default.
32 clients (asyncio tasks, one keep-alive httpx connection each) send a fixed number of
requests per route, in rounds that interleave the routes, after a warm-up. Prints requests/s,
p50/p95/p99 latency and errors per route, each route's requests/s as a ratio of the hello-world
route's, and where the CPU went (server, its PostgreSQL backends, this load process, the rest of
the machine), since clients and servers share the machine's CPUs.

`--quick` for a smoke run; `--clients`, `--requests` to change the load; `--no-sqlite` to skip
the embedded default. Exits 1 if any request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import attrs
import httpx
import psycopg
import uvicorn
from sqlalchemy.engine import make_url

from benchlib import (
    ADMIN_KEY,
    ADMIN_URL,
    RATE_LIMIT_PER_MINUTE,
    START_TIMEOUT_S,
    Route,
    Server,
    Tally,
    client_loop,
    finish,
    http_client,
    launched,
    libpq,
    machine_cpu_s,
    percentiles,
    process_cpu_s,
    scratch_database,
    server_env,
)

# One line of each price source: agreement (GW-100), regional (PRB-200), global (MNT-KIT).
ORDER_LINES = [("GW-100", 2), ("PRB-200", 3), ("MNT-KIT", 2)]
MAX_ERROR_SAMPLES = 5


@attrs.frozen
class Sizes:
    """How much load: every phase stops at `requests` per client or after `cap_s` seconds."""

    clients: int
    requests: int  # per client, per route, per round
    warm_up: int  # per client, per route, before the rounds (not measured)
    rounds: int
    cap_s: float


FULL = Sizes(clients=32, requests=60, warm_up=5, rounds=3, cap_s=8.0)
QUICK = Sizes(clients=32, requests=5, warm_up=2, rounds=1, cap_s=5.0)


# -- servers --------------------------------------------------------------------------------------


@contextlib.contextmanager
def started(
    label: str, args: list[str], env: dict[str, str] | None = None, pg_database: str | None = None
) -> Iterator[Server]:
    """The launcher with `args`, yielded once the server answers; stopped on the way out."""
    with launched(label, args, env, pg_database=pg_database) as server:
        _wait_until_answering(server, "/health" if server.seeded is not None else "/")
        yield server


def _wait_until_answering(server: Server, path: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    with httpx.Client(base_url=server.base_url, timeout=5.0) as client:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if client.get(path).status_code == 200:
                    return
            if server.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{server.label}: the server does not answer GET {path}")
            time.sleep(0.1)


# -- CPU accounting (Linux /proc; '?' elsewhere) --------------------------------------------------


@attrs.frozen
class Cpu:
    """CPU seconds, all CPUs: the server process, its PostgreSQL backends, this load process,
    and the whole machine (busy and in all); None where /proc does not tell."""

    server: float | None
    database: float | None
    client: float
    busy: float | None
    total: float | None

    @property
    def other(self) -> float | None:
        """What the machine spent beyond the three: other programs, the kernel's share."""
        if self.busy is None:
            return None
        return max(0.0, self.busy - (self.server or 0) - (self.database or 0) - self.client)

    def __add__(self, other: Cpu) -> Cpu:
        return Cpu(
            _add(self.server, other.server),
            _add(self.database, other.database),
            self.client + other.client,
            _add(self.busy, other.busy),
            _add(self.total, other.total),
        )


def _add(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a + b


@attrs.frozen
class Mark:
    """The counters at one moment."""

    server: float | None
    backends: dict[int, float] | None
    client: float
    machine: tuple[float, float] | None


class CpuMeter:
    """Reads the counters before and after a phase. A server's PostgreSQL backends are the
    connections to its database (its pool keeps them open across a phase)."""

    def __init__(self, admin: psycopg.Connection[Any]) -> None:
        self.admin = admin

    def backends(self, server: Server) -> dict[int, float] | None:
        if server.pg_database is None:
            return None
        rows = self.admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (server.pg_database,)
        ).fetchall()
        times = {pid: process_cpu_s(pid) for (pid,) in rows}
        return {pid: cpu for pid, cpu in times.items() if cpu is not None}

    def mark(self, server: Server) -> Mark:
        return Mark(
            process_cpu_s(server.process.pid),
            self.backends(server),
            time.process_time(),
            machine_cpu_s(),
        )

    def spent(self, server: Server, before: Mark) -> Cpu:
        after = self.mark(server)
        server_cpu = database = busy = total = None
        if before.server is not None and after.server is not None:
            server_cpu = after.server - before.server
        if before.backends is not None and after.backends is not None:
            # A backend that started during the phase spent all its time in it.
            database = sum(
                cpu - before.backends.get(pid, 0.0) for pid, cpu in after.backends.items()
            )
        if before.machine is not None and after.machine is not None:
            busy = after.machine[0] - before.machine[0]
            total = after.machine[1] - before.machine[1]
        return Cpu(server_cpu, database, after.client - before.client, busy, total)


# -- load -----------------------------------------------------------------------------------------


@attrs.frozen
class Phase:
    """What one round of one route measured: the latency of each successful request."""

    planned: int
    latencies_ms: list[float]
    errors: int
    samples: list[str]
    seconds: float
    cpu: Cpu

    @property
    def done(self) -> int:
        return len(self.latencies_ms)

    @property
    def per_second(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


async def run_phase(
    route: Route, clients: list[httpx.AsyncClient], count: int, cap_s: float, meter: CpuMeter
) -> Phase:
    """Every client sends `count` requests back to back, all clients at once, until done or
    `cap_s` has passed; requests/s is what succeeded over the wall time of the phase."""
    tally = Tally(MAX_ERROR_SAMPLES)
    before = meter.mark(route.server)
    began = time.perf_counter()
    deadline = began + cap_s
    await asyncio.gather(
        *(
            client_loop(client, route, range(i * count, (i + 1) * count), deadline, tally)
            for i, client in enumerate(clients)
        )
    )
    seconds = time.perf_counter() - began
    cpu = meter.spent(route.server, before)
    planned = len(clients) * count
    return Phase(planned, tally.latencies_ms, tally.errors, tally.samples, seconds, cpu)


def admin_headers(server: Server) -> dict[str, str]:
    """The admin key for the platform API; nothing for the hello-world app."""
    return {"Authorization": f"Bearer {ADMIN_KEY}"} if server.seeded is not None else {}


def order_body(seeded: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "company_id": seeded["company_id"],
            "billing_contact_id": seeded["billing_contact_id"],
            "billing_address_id": seeded["billing_address_id"],
            "lines": [
                {"product_id": seeded["product_ids"][sku], "quantity": quantity}
                for sku, quantity in ORDER_LINES
            ],
        }
    ).encode()


def hello_route(server: Server) -> Route:
    async def send(client: httpx.AsyncClient, n: int) -> httpx.Response:
        return await client.get("/")

    return Route(f"{server.label}: GET / (hello world)", server, send, 200)


def platform_routes(server: Server, order_ids: list[str]) -> list[Route]:
    """GET /health (the platform's middleware, no key, no database), the two order routes the
    issue names, and the draft again with an Idempotency-Key as a careful client sends it."""
    assert server.seeded is not None
    body = order_body(server.seeded)
    json_type = {"Content-Type": "application/json"}

    async def health(client: httpx.AsyncClient, n: int) -> httpx.Response:
        return await client.get("/health")

    async def create(client: httpx.AsyncClient, n: int) -> httpx.Response:
        return await client.post("/v1/orders", content=body, headers=json_type)

    async def create_idempotent(client: httpx.AsyncClient, n: int) -> httpx.Response:
        headers = json_type | {"Idempotency-Key": f"bench-{uuid.uuid4().hex}"}
        return await client.post("/v1/orders", content=body, headers=headers)

    async def show(client: httpx.AsyncClient, n: int) -> httpx.Response:
        return await client.get(f"/v1/orders/{order_ids[n % len(order_ids)]}")

    label = server.label
    return [
        Route(f"{label}: GET /health", server, health, 200),
        Route(f"{label}: POST /v1/orders", server, create, 201),
        Route(f"{label}: POST /v1/orders + Idempotency-Key", server, create_idempotent, 201),
        Route(f"{label}: GET /v1/orders/{{id}}", server, show, 200),
    ]


async def draft_orders(
    server: Server, clients: list[httpx.AsyncClient], per_client: int, cap_s: float
) -> list[str]:
    """The warm-up of POST /v1/orders; the orders it drafts are the ones GET reads."""
    assert server.seeded is not None
    body = order_body(server.seeded)
    ids: list[str] = []
    deadline = time.perf_counter() + cap_s

    async def drafts(client: httpx.AsyncClient) -> None:
        for _ in range(per_client):
            if time.perf_counter() >= deadline:
                return
            response = await client.post(
                "/v1/orders", content=body, headers={"Content-Type": "application/json"}
            )
            if response.status_code != 201:
                raise RuntimeError(f"{server.label}: warm-up draft failed: {response.text[:300]}")
            ids.append(response.json()["id"])

    await asyncio.gather(*(drafts(client) for client in clients))
    if not ids:
        raise RuntimeError(f"{server.label}: no order drafted during the warm-up")
    return ids


# -- the run --------------------------------------------------------------------------------------


async def measure(
    hello: Server, platforms: list[Server], sizes: Sizes, meter: CpuMeter
) -> dict[str, list[Phase]]:
    async with contextlib.AsyncExitStack() as stack:
        pools: dict[str, list[httpx.AsyncClient]] = {}
        for server in [hello, *platforms]:
            pools[server.label] = [
                await stack.enter_async_context(http_client(server, admin_headers(server)))
                for _ in range(sizes.clients)
            ]
        routes = [hello_route(hello)]
        for server in platforms:
            ids = await draft_orders(server, pools[server.label], sizes.warm_up, sizes.cap_s)
            routes += platform_routes(server, ids)
        for route in routes:
            await run_phase(route, pools[route.server.label], sizes.warm_up, sizes.cap_s, meter)
        phases: dict[str, list[Phase]] = {route.name: [] for route in routes}
        for number in range(1, sizes.rounds + 1):
            print(f"\n== round {number} of {sizes.rounds}")
            for route in routes:
                pool = pools[route.server.label]
                phase = await run_phase(route, pool, sizes.requests, sizes.cap_s, meter)
                phases[route.name].append(phase)
                print_phase(route.name, phase)
        return phases


def print_phase(name: str, phase: Phase) -> None:
    p50, p95, _ = percentiles(phase.latencies_ms)
    capped = " (time cap reached)" if phase.done + phase.errors < phase.planned else ""
    print(
        f"  {name:<52} {phase.per_second:7.0f} req/s  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
        f"{phase.done:>5} in {phase.seconds:5.1f} s  errors {phase.errors}{capped}"
    )
    for sample in phase.samples:
        print(f"      error: {sample}")


def summary(phases: dict[str, list[Phase]], hello_name: str) -> int:
    """Print the table; return how many requests failed."""
    hello_rps = statistics.median(phase.per_second for phase in phases[hello_name])
    print(
        "\n== summary\n"
        "  req/s: median of the rounds; x hello: req/s as a share of the hello-world route's;\n"
        "  p50/p95/p99: latency of every successful request of every round, milliseconds;\n"
        "  server, pg, client: CPU ms per request of the server process (all its threads), its\n"
        "  PostgreSQL backends and this load process; srv use: CPUs the server process used\n"
        "  (average; it runs Python on one core, so ~1.0 means the server is the limit);\n"
        "  other: CPUs used by everything else meanwhile; busy: share of all CPUs in use"
    )
    heads = [
        "req/s",
        "x hello",
        "p50",
        "p95",
        "p99",
        "errors",
        "server",
        "pg",
        "client",
        "srv use",
        "other",
    ]
    print(f"  {'route':<52} " + " ".join(f"{head:>7}" for head in heads) + f" {'busy':>5}")
    failed = 0
    for name, rounds in phases.items():
        latencies = [ms for phase in rounds for ms in phase.latencies_ms]
        done = len(latencies)
        errors = sum(phase.errors for phase in rounds)
        failed += errors
        rps = statistics.median(phase.per_second for phase in rounds)
        wall = sum(phase.seconds for phase in rounds)
        cpu = combined(rounds)
        busy = "?" if cpu.busy is None or not cpu.total else f"{cpu.busy / cpu.total:.0%}"
        figures = [
            f"{rps:7.0f}",
            f"{rps / hello_rps:7.3f}",
            *(f"{ms:7.1f}" for ms in percentiles(latencies)),
            f"{errors:7}",
            *(_per_request(seconds, done) for seconds in [cpu.server, cpu.database, cpu.client]),
            "      ?" if cpu.server is None else f"{cpu.server / wall:7.2f}",
            "      ?" if cpu.other is None else f"{cpu.other / wall:7.2f}",
        ]
        print(f"  {name:<52} " + " ".join(figures) + f" {busy:>5}")
    bounded_by_client(phases[hello_name])
    return failed


def combined(rounds: list[Phase]) -> Cpu:
    cpu = rounds[0].cpu
    for phase in rounds[1:]:
        cpu += phase.cpu
    return cpu


def bounded_by_client(hello: list[Phase]) -> None:
    """Say so when the load process, not the server, limits the hello-world route: its req/s
    is then a floor, and every `x hello` ratio overstates the API's share."""
    cpu, done = combined(hello), sum(phase.done for phase in hello)
    if cpu.server is None or not done or cpu.client <= cpu.server:
        return
    client_ms, server_ms = cpu.client / done * 1000, cpu.server / done * 1000
    print(
        f"  note: the hello-world route is limited by this load process ({client_ms:.2f} ms CPU "
        f"per request against the server's {server_ms:.2f}): its req/s is a floor, so compare "
        "the server CPU per request too"
    )


def _per_request(seconds: float | None, done: int) -> str:
    return f"{'-':>7}" if seconds is None or not done else f"{seconds / done * 1000:7.2f}"


def describe(
    sizes: Sizes, hello: Server, database_url: str, sqlite: bool, admin: psycopg.Connection[Any]
) -> None:
    row = admin.execute("SHOW server_version").fetchone()
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(
        f"{sizes.clients} clients (asyncio tasks in this process, one keep-alive httpx "
        f"connection each); per route {sizes.warm_up} warm-up and {sizes.requests} measured "
        f"requests per client per round, {sizes.rounds} round(s) interleaving the routes; "
        f"a phase stops after {sizes.cap_s:.0f} s"
    )
    print(
        f"servers: uvicorn {uvicorn.__version__} ({hello.http}, asyncio loop), one process "
        f"each, same settings; Litestar {version('litestar')}"
        f"; logging at WARNING, so no access log and no request log line"
    )
    print(
        f"platform API: inline queue with its inline worker (as `platform-core serve`), admin "
        f"key, rate limit {RATE_LIMIT_PER_MINUTE:,}/min (still counted); POST body: a draft "
        f"of {len(ORDER_LINES)} lines (agreement, regional and global prices) for the seed "
        f"company; GET reads the orders drafted in the warm-up"
    )
    print(
        f"postgresql: PostgreSQL {row[0] if row else '?'} at {make_url(database_url).host}, "
        f"scratch database {make_url(database_url).database}"
        + ("; sqlite (embedded): the default SQLite file, in a temporary folder" if sqlite else "")
    )
    print(
        f"{os.cpu_count()} CPUs shared by the servers, this load process and PostgreSQL; "
        f"load average at start {load}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a few requests, for a smoke run")
    parser.add_argument("--clients", type=int, help="concurrent clients (default 32)")
    parser.add_argument(
        "--requests", type=int, help="measured requests per client per route per round"
    )
    parser.add_argument(
        "--no-sqlite",
        action="store_true",
        help="skip the platform API on the embedded SQLite default",
    )
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    if args.clients is not None:
        sizes = attrs.evolve(sizes, clients=max(1, args.clients))
    if args.requests is not None:
        sizes = attrs.evolve(sizes, requests=max(1, args.requests))
    began = time.perf_counter()
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(scratch_database("bench_api_"))
        admin = stack.enter_context(psycopg.connect(libpq(ADMIN_URL), autocommit=True))
        hello = stack.enter_context(started("hello-world", ["hello"]))
        platforms = [
            stack.enter_context(
                started(
                    "postgresql",
                    ["platform", "--seed"],
                    server_env(url),
                    pg_database=make_url(url).database,
                )
            )
        ]
        if not args.no_sqlite:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench_api_"))
            sqlite_url = f"sqlite+aiosqlite:///{folder}/platform-core.db"
            platforms.append(
                stack.enter_context(
                    started("sqlite (embedded)", ["platform", "--seed"], env=server_env(sqlite_url))
                )
            )
        describe(sizes, hello, url, not args.no_sqlite, admin)
        hello_name = hello_route(hello).name
        phases = asyncio.run(measure(hello, platforms, sizes, CpuMeter(admin)))
    failed = summary(phases, hello_name)
    finish(began, failed)


if __name__ == "__main__":
    main()
