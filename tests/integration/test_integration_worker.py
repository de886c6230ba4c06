"""A real SAQ worker, on Redis and on PostgreSQL, against the application's PostgreSQL database.

The worker runs as its own process (`python -m entrypoints.worker`, or a script that builds
the same worker with a legacy bridge that never answers); the test process plays the API: it
enqueues through its own platform and reads the outcome from the database. Each test works
under its own queue namespace, so runs sharing the servers do not see each other's jobs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from integration_support import settings_for

from adapters.clock import SystemClock
from adapters.queues.saq import SaqJobQueue, SaqWorkers
from adapters.queues.saq.redis import SweepSafeRedisQueue
from entrypoints.bootstrap import Platform, Settings, bootstrap
from entrypoints.jobs import CRON_SCHEDULE
from entrypoints.worker import WorkerOptions, serve_worker
from platform_core.automation.model import AutomationStep, StepStatus
from platform_core.automation.service import (
    CreateStep,
    UpdateScenarioConfig,
    create_step,
    update_scenario_config,
)
from platform_core.jobs.model import JobRun, JobStatus
from platform_core.jobs.ports import JobRunFilter
from platform_core.ports.outbox import OutboxStatus
from platform_core.shared.scenarios import AutomationScenario

pytestmark = pytest.mark.integration

WAIT_SECONDS = 45.0
POLL_SECONDS = 0.05
HEARTBEAT_SECONDS = 2
# Longer than it takes the test to see the call start and kill the worker, shorter than the
# time the job takes to be found lost (heartbeat + sweep + SAQ's 5 s wait for the abort).
SCENARIO_TIMEOUT_SECONDS = 4

# A worker process whose legacy system never answers: it is killed in the middle of the call.
STALLED_WORKER = """
import asyncio
from entrypoints.bootstrap import Settings, bootstrap
from entrypoints.worker import WorkerOptions, serve_worker

async def main() -> None:
    platform = bootstrap(Settings.from_env())
    platform.deps.legacy_fake.stall_next()
    await serve_worker(platform, asyncio.Event(), WorkerOptions(cron=False))

asyncio.run(main())
"""


@pytest.fixture(params=["redis", "postgresql"])
async def settings(request: pytest.FixtureRequest, database_url: str) -> AsyncIterator[Settings]:
    """The deployment under test: the test database, and the queue on Redis or on the same
    PostgreSQL database, under a namespace of this test's own."""
    namespace = f"t{uuid.uuid4().hex[:10]}-"
    queue_url = request.getfixturevalue("redis_url") if request.param == "redis" else database_url
    base = settings_for(database_url)
    yield Settings(
        database_url=base.database_url,
        migrate_on_start=base.migrate_on_start,
        queue_url=queue_url,
        queue_heartbeat_seconds=HEARTBEAT_SECONDS,
        queue_namespace=namespace,
    )
    if request.param == "redis":
        await _forget_redis_keys(queue_url, namespace)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Platform]:
    """The platform of the test process (as the API would have it): it enqueues, the worker
    process runs."""
    platform = bootstrap(settings)
    try:
        yield platform
    finally:
        await platform.close()


def _environment(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "PLATFORM_DATABASE_URL": settings.database_url,
        "PLATFORM_MIGRATE_ON_START": "false",
        "PLATFORM_QUEUE_URL": settings.queue_url,
        "PLATFORM_QUEUE_NAMESPACE": settings.queue_namespace,
        "PLATFORM_QUEUE_HEARTBEAT_SECONDS": str(settings.queue_heartbeat_seconds),
    }


@contextmanager
def worker_process(
    settings: Settings, log: Path, *script: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A worker process (by default `python -m entrypoints.worker`); killed if still alive at
    the end, its output kept in `log` for the failure report."""
    command = [sys.executable, *(["-c", *script] if script else ["-m", "entrypoints.worker"])]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, env=_environment(settings), stdout=output, stderr=subprocess.STDOUT
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=WAIT_SECONDS)


@asynccontextmanager
async def in_process_worker(platform: Platform) -> AsyncIterator[None]:
    """`serve_worker` on `platform` in this process, stopped (gracefully) at the end."""
    stop = asyncio.Event()
    working = asyncio.create_task(serve_worker(platform, stop, WorkerOptions(cron=False)))
    try:
        yield
    finally:
        stop.set()
        async with asyncio.timeout(WAIT_SECONDS):
            await working


async def wait_until(
    condition: Callable[[], Awaitable[bool]], what: str, log: Path | None = None
) -> None:
    """Poll `condition` until it holds; fail (with the worker's output) after WAIT_SECONDS."""
    for _ in range(int(WAIT_SECONDS / POLL_SECONDS)):
        if await condition():
            return
        await asyncio.sleep(POLL_SECONDS)
    pytest.fail(f"{what} did not happen within {WAIT_SECONDS}s\n{_tail(log)}")


def _tail(log: Path | None) -> str:
    """The end of a worker's output, for a failure report."""
    return log.read_text(errors="replace")[-4000:] if log and log.exists() else ""


async def new_step(platform: Platform) -> AutomationStep:
    """An automation step queued by Ops (its job goes on the automation queue at once)."""
    return await create_step(
        platform.deps,
        CreateStep(
            shipment_id=f"shp_{uuid.uuid4().hex}",
            shipment_item_id=f"shi_{uuid.uuid4().hex}",
            fulfillment_order_id=f"ful_{uuid.uuid4().hex}",
            order_id=f"ord_{uuid.uuid4().hex}",
            company_id=f"cmp_{uuid.uuid4().hex}",
            scenario=AutomationScenario.SENSOR_VENDOR_FIRST_TIME,
            product_id=f"prd_{uuid.uuid4().hex}",
            quantity=1,
        ),
    )


async def step(platform: Platform, step_id: str) -> AutomationStep:
    async with platform.deps.uow() as uow:
        return await uow.automation_steps.get(step_id)


async def job_run(platform: Platform, key: str) -> JobRun | None:
    async with platform.deps.uow() as uow:
        return await uow.job_runs.find_by_key(key)


async def test_a_worker_process_runs_the_step_relays_its_events_and_keeps_crons_queued(
    api: Platform, settings: Settings, tmp_path: Path
) -> None:
    """`python -m entrypoints.worker` runs an automation step's job (its run completes),
    relays the events the step recorded, and enqueues the next slot of every cron job."""
    log = tmp_path / "worker.log"
    with worker_process(settings, log):
        created = await new_step(api)

        async def succeeded() -> bool:
            return (await step(api, created.id)).status is StepStatus.SUCCEEDED

        await wait_until(succeeded, "the step's success", log)
        run = await job_run(api, created.idempotency_key)
        assert run is not None
        assert (run.queue, run.job_name) == ("automation", "run_automation_step")
        assert (run.related_entity_type, run.related_entity_id) == ("automation_step", created.id)

        async def completed() -> bool:
            done = await job_run(api, created.idempotency_key)
            return done is not None and done.status is JobStatus.COMPLETED

        await wait_until(completed, "the job run's completion", log)

        async def relayed() -> bool:
            # Every event was taken by the relay at least once. (The step belongs to no real
            # fulfillment order, so the completion check of its success keeps failing and is
            # retried: that entry stays pending, with attempts.)
            async with api.deps.uow() as uow:
                pending = await uow.outbox.entries(OutboxStatus.PENDING, limit=1000)
                dispatched = await uow.outbox.entries(OutboxStatus.DISPATCHED, limit=1000)
            return bool(dispatched) and all(entry.attempts > 0 for entry in pending)

        await wait_until(relayed, "the outbox relay", log)

        async def crons_queued() -> bool:
            async with api.deps.uow() as uow:
                runs = await uow.job_runs.list(JobRunFilter(status=JobStatus.QUEUED), 100, 0)
            return {entry.task for entry in CRON_SCHEDULE} <= {run.job_name for run in runs}

        await wait_until(crons_queued, "the cron slots", log)
        async with api.deps.uow() as uow:
            cron_runs = await uow.job_runs.list(JobRunFilter(status=JobStatus.QUEUED), 100, 0)
        assert all(run.job_key.startswith("cron:") for run in cron_runs)
        assert all(run.scheduled_for is not None for run in cron_runs)


async def test_a_worker_stops_gracefully_on_sigterm(settings: Settings, tmp_path: Path) -> None:
    """SIGTERM ends the worker process cleanly (exit status 0) within its grace period."""
    log = tmp_path / "worker.log"
    with worker_process(settings, log) as process:
        await wait_until(_logged(log, "outbox relay on"), "the worker's start", log)
        process.send_signal(signal.SIGTERM)

        async def exited() -> bool:
            return process.poll() is not None

        await wait_until(exited, "the worker's exit", log)
        assert process.returncode == 0, _tail(log)
        assert "worker stopped" in _tail(log)


async def test_stopping_lets_the_running_job_finish_and_report(api: Platform) -> None:
    """A stop during a job: the running job finishes and its run is recorded completed before
    the workers return; nothing takes jobs afterwards."""
    queue = api.deps.queue
    assert isinstance(queue, SaqJobQueue)
    began = asyncio.Event()
    finished: list[str] = []

    async def slow(payload: Mapping[str, Any]) -> None:
        began.set()
        await asyncio.sleep(1)
        finished.append(str(payload["n"]))

    stop = asyncio.Event()
    working = asyncio.create_task(SaqWorkers(queue, {"slow": slow}).run(stop))
    await queue.enqueue("orders", "slow", {"n": 1}, key="slow-1")
    async with asyncio.timeout(WAIT_SECONDS):
        await began.wait()
    stop.set()
    async with asyncio.timeout(WAIT_SECONDS):
        await working
    assert finished == ["1"]
    await queue.enqueue("orders", "slow", {"n": 2}, key="slow-2")
    await asyncio.sleep(1)
    assert finished == ["1"]
    first, second = await job_run(api, "slow-1"), await job_run(api, "slow-2")
    assert first is not None
    assert first.status is JobStatus.COMPLETED
    assert second is not None
    assert second.status is JobStatus.QUEUED


async def test_a_job_of_a_killed_worker_is_recovered_and_its_effect_happens_once(
    api: Platform, settings: Settings, tmp_path: Path
) -> None:
    """A worker killed (SIGKILL) in the middle of the legacy call: once its heartbeat is
    missed, another worker runs the job again, resumes the same attempt with the same legacy
    idempotency key, and the device is provisioned once; the step succeeds once and the job
    run shows the lost attempt."""
    await update_scenario_config(
        api.deps,
        UpdateScenarioConfig(
            scenario=AutomationScenario.SENSOR_VENDOR_FIRST_TIME,
            timeout_seconds=SCENARIO_TIMEOUT_SECONDS,
        ),
    )
    log = tmp_path / "stalled-worker.log"
    with worker_process(settings, log, STALLED_WORKER) as stalled:
        created = await new_step(api)

        async def calling() -> bool:
            run = await job_run(api, created.idempotency_key)
            current = await step(api, created.id)
            active = run is not None and run.status is JobStatus.ACTIVE
            return active and current.status is StepStatus.RUNNING

        await wait_until(calling, "the stalled legacy call", log)
        stalled.send_signal(signal.SIGKILL)
        stalled.wait(timeout=WAIT_SECONDS)

    rescuer = bootstrap(settings)
    try:
        async with in_process_worker(rescuer):

            async def succeeded() -> bool:
                return (await step(api, created.id)).status is StepStatus.SUCCEEDED

            await wait_until(succeeded, "the recovered step's success")
        done = await step(api, created.id)
        assert done.attempts == 1  # the same attempt, resumed: not a second one
        provisions = rescuer.deps.legacy_fake.calls_to("provision_device")
        assert len(provisions) == 1
        assert list(rescuer.deps.legacy_fake.applied) == [done.legacy_request_key]
        async with api.deps.uow() as uow:
            events = await uow.events.for_aggregate("automation_step", created.id)
        assert [e.event.type for e in events].count("automation.step_succeeded") == 1
        run = await job_run(api, created.idempotency_key)
        assert run is not None
        assert (run.status, run.attempts) == (JobStatus.COMPLETED, 2)
        assert run.last_error is not None
    finally:
        await rescuer.close()


async def test_a_redis_sweep_leaves_a_just_taken_job_alone(redis_url: str) -> None:
    """A job a worker has taken but not yet marked active is not swept at once (SAQ would
    run it twice); if it is still unmarked at the next sweep, its worker died: it is swept
    and queued again."""
    name = f"t{uuid.uuid4().hex[:10]}-sweep"
    queue = SweepSafeRedisQueue.from_url(redis_url, name=name)
    try:
        await queue.enqueue("echo", key=f"{name}-job", retries=2)
        taken = await queue.dequeue(timeout=1)
        assert taken is not None
        assert taken.status.value == "queued"  # taken, not yet marked active
        assert await queue.sweep(lock=1, abort=0.1) == []
        await asyncio.sleep(1.1)  # the sweep lock lasts a second
        assert await queue.sweep(lock=1, abort=0.1) == [queue.job_id(taken.key)]
        assert await queue.count("queued") == 1
    finally:
        await queue.disconnect()
        await _forget_redis_keys(redis_url, name)


async def test_a_saq_queue_reports_an_unreachable_backend() -> None:
    """ping is False (not an exception) when the queue's server does not answer."""
    queue = SaqJobQueue("redis://127.0.0.1:1/0", SystemClock())
    try:
        assert await queue.ping() is False
    finally:
        await queue.close()


def _logged(log: Path, text: str) -> Callable[[], Awaitable[bool]]:
    async def found() -> bool:
        return text in _tail(log)

    return found


async def _forget_redis_keys(url: str, prefix: str) -> None:
    """Delete the keys of one namespace (queues, jobs, aborts) and nothing else."""
    client = aioredis.Redis.from_url(url)
    try:
        for pattern in (f"saq:{prefix}*", f"saq:job:{prefix}*", f"saq:abort:{prefix}*"):
            keys = [key async for key in client.scan_iter(match=pattern, count=500)]
            if keys:
                await client.delete(*keys)
    finally:
        await client.aclose()
