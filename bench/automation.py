"""Automation throughput through a real SAQ worker against the fake legacy server over HTTP,
and the legacy bridge's behaviour under an outage.

Everything runs on 127.0.0.1: a scratch PostgreSQL database (migrated, dropped at the end),
the SAQ queue on Redis under a namespace of this run, the fake legacy server under uvicorn in
its own process, and one worker process (`serve_worker` on the automation queue, with the
outbox relay and the crons off, so the figure is the steps' own work). Steps are created
through the core (`create_step`, one product unit each); a step's time is counted from the
first step's start to the last step's success, as stored by the steps themselves.

Baselines measured in the same run: the raw call rate of the legacy server (an httpx loop
posting provisions, one client and five concurrent ones), and the same steps run by the inline
queue in this process against the in-process fake (no HTTP) and against the embedded server
over httpx's ASGI transport (the embedded default). Then an outage: the server answers 503 to
everything; time until the breaker opens, calls rejected while it is open (and what reached
the server: the probes), and the time to recover once the server is back.

`--quick` for a smoke run. Bounded: well under two minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import attrs
import httpx
import psycopg
from sqlalchemy.engine import make_url

from adapters.legacy.fake import FakeLegacyBridge
from adapters.legacy.http import BreakerState, Outcome, RedisBreakerStore, wire
from adapters.queues.inline import InlineJobQueue
from benchlib import (
    REDIS_URL,
    child,
    finish,
    forget_namespace,
    libpq,
    scratch_database,
    until,
    worker,
    worker_env,
)
from entrypoints.bootstrap import Platform, Settings, bootstrap
from platform_core.automation.service import (
    AUTOMATION_QUEUE,
    CreateStep,
    UpdateScenarioConfig,
    create_step,
    update_scenario_config,
)
from platform_core.legacy.ports import InstallChannel, ProvisionDevice
from platform_core.shared.scenarios import AutomationScenario

SCENARIO = AutomationScenario.SENSOR_VENDOR_FIRST_TIME
OPERATION = "provision_device"
WORKER_CONCURRENCY = 5  # the automation queue's default (adapters/queues/options.py)
POLL_S = 0.02  # the breaker's state, in Redis: cheap to read
DB_POLL_S = 0.2  # progress, in PostgreSQL: the figures come from the steps' own timestamps
# The outage: a short reset so the run shows probes and the recovery within seconds.
BREAKER_THRESHOLD = 5
BREAKER_RESET_S = 3
OUTAGE_HOLD_S = 7.0


@attrs.frozen
class Sizes:
    steps: int
    raw_calls: int
    outage_steps: int


FULL = Sizes(steps=300, raw_calls=1_000, outage_steps=20)
QUICK = Sizes(steps=40, raw_calls=200, outage_steps=5)


@attrs.frozen
class Rate:
    """`count` things done in `seconds`."""

    name: str
    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else float("inf")


# -- services ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.asynccontextmanager
async def legacy_server(logs: Path) -> AsyncIterator[str]:
    """The fake legacy server under uvicorn in its own process; yields its URL once it answers."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory",
               "adapters.legacy.server:create_legacy_app", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning", "--no-access-log"]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with child(command, dict(os.environ), logs / "legacy.log"):
        async with httpx.AsyncClient(base_url=url, timeout=5) as client:
            await until(lambda: _answers(client), "the legacy server to answer", logs, POLL_S)
        yield url


async def _answers(client: httpx.AsyncClient) -> bool:
    try:
        return (await client.get("/health")).status_code == 200
    except httpx.TransportError:
        return False


def legacy_worker_env(settings: Settings) -> dict[str, str]:
    """A worker's environment, with the legacy server over HTTP and its breaker."""
    return worker_env(settings) | {
        "PLATFORM_LEGACY_URL": settings.legacy_url or "",
        "PLATFORM_LEGACY_BREAKER_THRESHOLD": str(settings.legacy_breaker_threshold),
        "PLATFORM_LEGACY_BREAKER_RESET_SECONDS": str(settings.legacy_breaker_reset_seconds),
    }


# -- steps -------------------------------------------------------------------------------------


async def create_steps(platform: Platform, batch: str, count: int) -> None:
    """`count` steps of one unit each; their shipment ids start with `batch`."""
    for n in range(count):
        await create_step(
            platform.deps,
            CreateStep(
                shipment_id=f"shp_{batch}_{n}",
                shipment_item_id=f"shi_{batch}_{n}",
                fulfillment_order_id=f"ful_{batch}",
                order_id=f"ord_{batch}",
                company_id=f"cmp_{batch}",
                scenario=SCENARIO,
                product_id="prd_bench",
                quantity=1,
            ),
        )


@attrs.frozen
class BatchState:
    succeeded: int
    first_started: datetime | None
    last_succeeded: datetime | None
    attempts: int

    @property
    def seconds(self) -> float:
        if self.first_started is None or self.last_succeeded is None:
            return 0.0
        return (self.last_succeeded - self.first_started).total_seconds()


async def batch_state(url: str, batch: str) -> BatchState:
    query = (
        "SELECT count(*) FILTER (WHERE status = 'succeeded'), min(started_at), "
        "max(succeeded_at), coalesce(sum(attempts), 0) FROM automation_steps "
        "WHERE shipment_id LIKE %s"
    )
    async with await psycopg.AsyncConnection.connect(libpq(url), autocommit=True) as db:
        row = await (await db.execute(query, (f"shp_{batch}_%",))).fetchone()
    assert row is not None
    return BatchState(int(row[0]), row[1], row[2], int(row[3]))


# -- 1. the legacy server alone ----------------------------------------------------------------


def provision_body(n: int) -> tuple[dict[str, str], wire.JsonObject]:
    request = ProvisionDevice(
        idempotency_key=f"raw-{n}",
        correlation_id=f"raw-{n}",
        channel=InstallChannel.VENDOR,
        company_id="cmp_raw",
        product_id="prd_raw",
        quantity=1,
    )
    headers = {wire.IDEMPOTENCY_HEADER: request.idempotency_key,
               wire.CORRELATION_HEADER: request.correlation_id}  # fmt: skip
    return headers, wire.provision_to_json(request)


async def raw_calls(url: str, calls: int, concurrency: int, offset: int) -> Rate:
    """`calls` provisions posted by `concurrency` httpx clients (keep-alive)."""
    numbers = iter(range(offset, offset + calls))

    async def client_loop() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            for n in numbers:
                headers, body = provision_body(n)
                answer = await client.post("/api/v1/devices/provision", json=body, headers=headers)
                answer.raise_for_status()

    began = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(concurrency)))
    name = f"legacy server, raw httpx POST provision, {concurrency} client(s)"
    return Rate(name, calls, time.perf_counter() - began)


# -- 2. the inline queue in this process -------------------------------------------------------


async def inline_run(database_url: str, steps: int, *, over_http: bool) -> Rate:
    """The steps run one by one by the inline queue; the fake in process, or the embedded
    fake server through the HTTP client over httpx's ASGI transport (no socket)."""
    platform = bootstrap(Settings(database_url=database_url, migrate_on_start=False))
    try:
        if not over_http:
            platform.deps.bridge = FakeLegacyBridge()
        batch = uuid.uuid4().hex[:8]
        await create_steps(platform, batch, steps)
        queue = platform.deps.queue
        assert isinstance(queue, InlineJobQueue)
        await queue.run_due()
        state = await batch_state(database_url, batch)
    finally:
        await platform.close()
    assert state.succeeded == steps, f"{state.succeeded} of {steps} steps succeeded"
    how = "embedded server via ASGI transport" if over_http else "in-process fake, no HTTP"
    return Rate(f"inline queue (1 at a time), {how}", steps, state.seconds)


# -- 3. the SAQ worker over HTTP ---------------------------------------------------------------


def saq_settings(
    database_url: str, legacy_url: str, breaker_threshold: int = 5, breaker_reset_s: int = 30
) -> Settings:
    """The scratch database, the queue on Redis under a namespace of its own, the legacy
    server over HTTP, the breaker in the same Redis."""
    return Settings(
        database_url=database_url,
        migrate_on_start=False,
        queue_url=REDIS_URL,
        queue_namespace=f"bench{uuid.uuid4().hex[:8]}-",
        legacy_url=legacy_url,
        legacy_breaker_threshold=breaker_threshold,
        legacy_breaker_reset_seconds=breaker_reset_s,
    )


async def saq_run(database_url: str, legacy_url: str, steps: int, logs: Path) -> Rate:
    """Steps queued first, then one worker process drains them over HTTP."""
    settings = saq_settings(database_url, legacy_url)
    platform = bootstrap(settings)
    try:
        batch = uuid.uuid4().hex[:8]
        await create_steps(platform, batch, steps)

        async def drained() -> bool:
            return (await batch_state(database_url, batch)).succeeded == steps

        async with worker(AUTOMATION_QUEUE, legacy_worker_env(settings), logs):
            await until(drained, f"{steps} steps through the SAQ worker", logs, DB_POLL_S)
        state = await batch_state(database_url, batch)
    finally:
        await platform.close()
        await forget_namespace(settings.queue_namespace)
    name = f"SAQ worker (1 process, concurrency {WORKER_CONCURRENCY}), HTTP to 127.0.0.1"
    return Rate(name, steps, state.seconds)


# -- 4. an outage ------------------------------------------------------------------------------


@attrs.frozen
class Outage:
    steps: int
    to_open_s: float
    failed_before_open: int
    held_s: float
    rejected_while_open: int
    server_requests_while_open: int
    back_to_closed_s: float
    back_to_all_done_s: float
    attempts_per_step: float


async def server_requests(control: httpx.AsyncClient) -> int:
    return len((await control.get("/_control/calls")).json()["requests"])


async def outage_run(database_url: str, legacy_url: str, steps: int, logs: Path) -> Outage:
    settings = saq_settings(
        database_url,
        legacy_url,
        breaker_threshold=BREAKER_THRESHOLD,
        breaker_reset_s=BREAKER_RESET_S,
    )
    platform = bootstrap(settings)
    store = platform.deps.breaker.store
    assert isinstance(store, RedisBreakerStore)
    try:
        # Retries every second, and enough of them to outlast the outage.
        command = UpdateScenarioConfig(scenario=SCENARIO, max_attempts=100, retry_delay_seconds=1)
        await update_scenario_config(platform.deps, command)
        control = httpx.AsyncClient(base_url=legacy_url, timeout=10)
        env = legacy_worker_env(settings)
        async with control, worker(AUTOMATION_QUEUE, env, logs, "outage-worker"):
            return await _outage(platform, store, control, database_url, steps, logs)
    finally:
        await platform.close()
        await forget_namespace(settings.queue_namespace)


async def _outage(
    platform: Platform,
    store: RedisBreakerStore,
    control: httpx.AsyncClient,
    database_url: str,
    steps: int,
    logs: Path,
) -> Outage:
    await control.post("/_control/faults", json={"mode": "fail", "count": 1_000_000})
    began = time.monotonic()
    batch = uuid.uuid4().hex[:8]
    await create_steps(platform, batch, steps)

    async def state_is(wanted: BreakerState) -> bool:
        return (await store.snapshot()).state is wanted

    opened = await until(lambda: state_is(BreakerState.OPEN), "the breaker to open", logs, POLL_S)
    at_open = await store.snapshot()
    requests_at_open = await server_requests(control)
    await asyncio.sleep(OUTAGE_HOLD_S)  # the outage goes on: probes fail, calls are rejected
    before_back = await store.snapshot()
    requests_while_open = await server_requests(control) - requests_at_open
    await control.delete("/_control/faults")  # the legacy system is back
    back = time.monotonic()

    async def all_done() -> bool:
        return (await batch_state(database_url, batch)).succeeded == steps

    closed = await until(
        lambda: state_is(BreakerState.CLOSED), "the breaker to close", logs, POLL_S
    )
    done = await until(all_done, "every step after the outage", logs, DB_POLL_S)
    final = await batch_state(database_url, batch)
    return Outage(
        steps=steps,
        to_open_s=opened - began,
        failed_before_open=at_open.count(OPERATION, Outcome.FAILURE),
        held_s=back - opened,
        rejected_while_open=before_back.count(OPERATION, Outcome.REJECTED)
        - at_open.count(OPERATION, Outcome.REJECTED),
        server_requests_while_open=requests_while_open,
        back_to_closed_s=closed - back,
        back_to_all_done_s=done - back,
        attempts_per_step=final.attempts / steps,
    )


# -- report ------------------------------------------------------------------------------------


def print_rates(rates: list[Rate], baseline: Rate) -> None:
    print(f"\n  {'what':<68} {'count':>6} {'seconds':>8} {'per s':>8} {'x base':>7}")
    for rate in rates:
        ratio = rate.per_second / baseline.per_second
        print(f"  {rate.name:<68} {rate.count:>6} {rate.seconds:>8.2f} "
              f"{rate.per_second:>8.1f} {ratio:>7.2f}")  # fmt: skip


def print_outage(outage: Outage) -> None:
    rows = [
        ("steps queued while the server answers 503 to everything", f"{outage.steps}"),
        ("time from the first step to the breaker opening", f"{outage.to_open_s:.2f} s"),
        ("failed attempts counted before it opened", f"{outage.failed_before_open}"),
        ("outage held after the breaker opened", f"{outage.held_s:.1f} s"),
        ("attempts rejected by the open breaker (not sent)", f"{outage.rejected_while_open}"),
        ("requests that reached the server meanwhile (probes)",
         f"{outage.server_requests_while_open}"),
        ("server back -> breaker closed", f"{outage.back_to_closed_s:.2f} s"),
        ("server back -> every step succeeded", f"{outage.back_to_all_done_s:.2f} s"),
        ("step attempts used, mean", f"{outage.attempts_per_step:.1f}"),
    ]  # fmt: skip
    print(f"  (threshold {BREAKER_THRESHOLD}, reset {BREAKER_RESET_S} s, 3 attempts per call, "
          "scenario retry delay 1 s)")  # fmt: skip
    for label, value in rows:
        print(f"  {label:<56} {value:>10}")


async def run(sizes: Sizes) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-automation-") as tmp, scratch_database() as url:
        logs = Path(tmp)
        print(f"PostgreSQL scratch database {make_url(url).database}, Redis {REDIS_URL}, "
              f"{os.cpu_count()} CPUs")  # fmt: skip
        async with legacy_server(logs) as legacy_url:
            print("\n== 1. the legacy server alone (baseline)")
            raw_one = await raw_calls(legacy_url, sizes.raw_calls, 1, 0)
            raw_five = await raw_calls(legacy_url, sizes.raw_calls, 5, sizes.raw_calls)
            print_rates([raw_one, raw_five], raw_one)
            print(f"\n== 2/3. {sizes.steps} automation steps, first start to last success")
            inline_fake = await inline_run(url, sizes.steps, over_http=False)
            inline_asgi = await inline_run(url, sizes.steps, over_http=True)
            saq = await saq_run(url, legacy_url, sizes.steps, logs)
            print_rates([inline_fake, inline_asgi, saq], inline_fake)
            print(f"  SAQ worker steps/s vs raw server calls/s (5 clients): "
                  f"{saq.per_second / raw_five.per_second:.2f}")  # fmt: skip
            print("\n== 4. outage: the legacy server answers 503, then comes back")
            print_outage(await outage_run(url, legacy_url, sizes.outage_steps, logs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run with small sizes")
    args = parser.parse_args()
    began = time.perf_counter()
    asyncio.run(run(QUICK if args.quick else FULL))
    finish(began)


if __name__ == "__main__":
    main()
