"""The JobQueue contract, run on every backend: the inline queue, SAQ on Redis and SAQ on
PostgreSQL. One abstract suite, subclassed per backend (as SAQ's own tests do).

Each backend runs the same handlers and reports to the same JobRunRecorder over an in-memory
store, so the suite checks the job-run telemetry too. The inline queue runs on a fixed clock
that the suite moves forward; the SAQ queues run on real time with real workers in this
process, so their waits are bounded polls.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
import redis.asyncio as aioredis

from adapters.clock import FixedClock, SystemClock
from adapters.ids import SequentialIdGenerator
from adapters.persistence.memory.backend import InMemoryStore
from adapters.persistence.memory.unit_of_work import InMemoryUnitOfWork
from adapters.queues.inline import InlineJobQueue
from adapters.queues.observer import QueueBackend, report_progress
from adapters.queues.options import QueueOptions
from adapters.queues.saq import SaqJobQueue, SaqWorkers
from entrypoints.jobs import JobRunRecorder, job_subscriptions
from platform_core.jobs.model import Backoff, JobRun, JobStatus, RetryPolicy
from platform_core.jobs.service import RetryJob, retry_job
from platform_core.lifecycle.dispatcher import dispatch_due
from platform_core.ports.core import Clock
from platform_core.shared.errors import ExternalServiceError, ValidationError

# Short delays so SAQ's real-time retries stay quick: 1 s between attempts, 3 attempts.
POLICY = RetryPolicy(Backoff.FIXED, 1, 1, 3)
OPTIONS = {
    name: QueueOptions(name, 2, POLICY, timeout_seconds=10, heartbeat_seconds=2)
    for name in ("orders", "automation")
}
WAIT_SECONDS = 20.0
POLL_SECONDS = 0.05


@attrs.define
class Work:
    """The handlers every backend runs; they record what they were asked to do."""

    calls: list[tuple[str, dict[str, Any]]] = attrs.field(factory=list)
    refusing: bool = True
    progress_seen: list[int] = attrs.field(factory=list)
    runs: Callable[[str], Awaitable[JobRun | None]] | None = None

    def called(self, name: str) -> list[dict[str, Any]]:
        return [payload for job, payload in self.calls if job == name]

    async def echo(self, payload: Mapping[str, Any]) -> None:
        self.calls.append(("echo", dict(payload)))

    async def flaky(self, payload: Mapping[str, Any]) -> None:
        """Fails (retryably) the first `failures` times it is called for a payload id."""
        self.calls.append(("flaky", dict(payload)))
        tries = sum(1 for each in self.called("flaky") if each["id"] == payload["id"])
        if tries <= payload["failures"]:
            raise ExternalServiceError(f"try {tries} failed", retryable=True)

    async def refuse(self, payload: Mapping[str, Any]) -> None:
        """Refused by the core (not retryable) while `refusing`."""
        self.calls.append(("refuse", dict(payload)))
        if self.refusing:
            raise ValidationError("the core refuses this job", {"field": "payload"})

    async def gauge(self, payload: Mapping[str, Any]) -> None:
        """Reports progress, then reads its own run to see the progress recorded."""
        self.calls.append(("gauge", dict(payload)))
        await report_progress(40)
        assert self.runs is not None
        run = await self.runs(str(payload["key"]))
        self.progress_seen.append(run.progress if run else -1)

    def handlers(self) -> dict[str, Callable[[Mapping[str, Any]], Awaitable[object]]]:
        return {
            "echo": self.echo,
            "flaky": self.flaky,
            "refuse": self.refuse,
            "gauge": self.gauge,
        }


@attrs.define
class Telemetry:
    """The in-memory store the JobRunRecorder writes to: JobsDeps for the recorder."""

    clock: Clock
    store: InMemoryStore = attrs.field(factory=InMemoryStore)
    ids: SequentialIdGenerator = attrs.field(factory=SequentialIdGenerator)

    def uow(self) -> InMemoryUnitOfWork:
        return self.store.unit_of_work(self.ids)

    async def run(self, key: str) -> JobRun | None:
        async with self.uow() as uow:
            return await uow.job_runs.find_by_key(key)


class Harness:
    """One backend under test: its queue, its way of letting time pass and of working."""

    queue: QueueBackend
    telemetry: Telemetry
    work: Work
    prefix: str

    def key(self, name: str) -> str:
        """A job key of this test only (other runs may share the server)."""
        return f"{self.prefix}{name}"

    async def start(self) -> None:
        """Begin working the queue (jobs enqueued before this wait until now)."""

    async def idle(self, seconds: float) -> None:
        """Let `seconds` pass while the backend works."""
        raise NotImplementedError

    async def wait_for(self, condition: Callable[[], Awaitable[bool]]) -> None:
        """Work until `condition` holds; fail the test when it does not in bounded time."""
        raise NotImplementedError

    async def run(self, name: str) -> JobRun:
        run = await self.telemetry.run(self.key(name))
        assert run is not None, f"no job run recorded for {name}"
        return run

    async def run_ends(self, name: str, status: JobStatus) -> JobRun:
        async def ended() -> bool:
            run = await self.telemetry.run(self.key(name))
            return run is not None and run.status is status

        await self.wait_for(ended)
        return await self.run(name)


class InlineHarness(Harness):
    def __init__(self) -> None:
        self.clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
        self.telemetry = Telemetry(self.clock)
        self.work = Work(runs=self.telemetry.run)
        self.prefix = ""
        queue = InlineJobQueue(self.clock, OPTIONS, JobRunRecorder(self.telemetry))
        for name, handler in self.work.handlers().items():
            queue.register(name, handler)
        self.inline = queue
        self.queue = queue

    async def idle(self, seconds: float) -> None:
        await self.inline.run_due()
        self.clock.advance(timedelta(seconds=seconds))
        await self.inline.run_due()

    async def wait_for(self, condition: Callable[[], Awaitable[bool]]) -> None:
        # Simulated time: a second per round, as long as the real backends are given.
        for _ in range(int(WAIT_SECONDS)):
            await self.inline.run_due()
            if await condition():
                return
            self.clock.advance(timedelta(seconds=1))
        pytest.fail("the inline queue never got there")


class SaqHarness(Harness):
    def __init__(self, url: str) -> None:
        self.prefix = f"t{uuid.uuid4().hex[:10]}-"
        self.telemetry = Telemetry(SystemClock())
        self.work = Work(runs=self.telemetry.run)
        self.saq = SaqJobQueue(
            url,
            self.telemetry.clock,
            OPTIONS,
            JobRunRecorder(self.telemetry),
            namespace=self.prefix,
        )
        self.queue = self.saq
        self._stop = asyncio.Event()
        self._working: asyncio.Task[None] | None = None

    async def start(self) -> None:
        workers = SaqWorkers(self.saq, self.work.handlers(), shutdown_grace_seconds=2)
        self._working = asyncio.create_task(workers.run(self._stop))

    async def idle(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    async def wait_for(self, condition: Callable[[], Awaitable[bool]]) -> None:
        async with asyncio.timeout(WAIT_SECONDS):
            while not await condition():
                if self._working is not None and self._working.done():
                    self._working.result()  # the workers died: say why
                await asyncio.sleep(POLL_SECONDS)

    async def close(self) -> None:
        self._stop.set()
        if self._working is not None:
            async with asyncio.timeout(WAIT_SECONDS):
                await self._working
        await self.saq.close()


class JobQueueContract:
    """What every JobQueue backend does. Subclasses provide the `harness` fixture."""

    async def test_a_job_runs_with_its_payload_and_its_run_completes(
        self, harness: Harness
    ) -> None:
        """An enqueued job runs once with its payload; its run goes queued -> completed."""
        await harness.queue.enqueue("orders", "echo", {"n": 1}, key=harness.key("a"))
        queued = await harness.run("a")
        assert (queued.status, queued.queue, queued.job_name) == (
            JobStatus.QUEUED,
            "orders",
            "echo",
        )
        assert dict(queued.payload) == {"n": 1}
        assert queued.max_attempts == POLICY.max_attempts
        await harness.start()
        done = await harness.run_ends("a", JobStatus.COMPLETED)
        assert harness.work.called("echo") == [{"n": 1}]
        assert (done.attempts, done.progress, done.last_error) == (1, 100, None)
        assert done.started_at is not None
        assert done.finished_at is not None

    async def test_a_key_still_waiting_is_not_enqueued_twice(self, harness: Harness) -> None:
        """A second enqueue under a key that waits to run does nothing: one run, one record."""
        await harness.queue.enqueue("orders", "echo", {"n": 1}, key=harness.key("dup"))
        await harness.queue.enqueue("orders", "echo", {"n": 2}, key=harness.key("dup"))
        await harness.queue.enqueue("orders", "echo", {"n": 3}, key=harness.key("other"))
        await harness.start()
        await harness.run_ends("dup", JobStatus.COMPLETED)
        await harness.run_ends("other", JobStatus.COMPLETED)
        await harness.idle(1)
        assert sorted(p["n"] for p in harness.work.called("echo")) == [1, 3]

    async def test_a_failed_attempt_is_retried_after_the_backoff(self, harness: Harness) -> None:
        """A retryable failure waits for the queue's delay, then runs again; the run counts
        both attempts, keeps the error of the failed one and ends completed."""
        payload = {"id": "f1", "failures": 1}
        await harness.start()
        await harness.queue.enqueue("orders", "flaky", payload, key=harness.key("f1"))
        retrying = await harness.run_ends("f1", JobStatus.DELAYED)
        assert retrying.attempts == 1
        assert retrying.last_error == "ExternalServiceError: try 1 failed"
        assert retrying.scheduled_for is not None
        done = await harness.run_ends("f1", JobStatus.COMPLETED)
        assert done.attempts == 2
        assert len(harness.work.called("flaky")) == 2

    async def test_a_job_failing_every_attempt_fails_for_good(self, harness: Harness) -> None:
        """After max_attempts failures the run is failed, with the last error, and nothing
        runs it again."""
        payload = {"id": "f2", "failures": 99}
        await harness.start()
        await harness.queue.enqueue("orders", "flaky", payload, key=harness.key("f2"))
        failed = await harness.run_ends("f2", JobStatus.FAILED)
        assert failed.attempts == POLICY.max_attempts
        assert failed.last_error == f"ExternalServiceError: try {POLICY.max_attempts} failed"
        await harness.idle(2)
        assert len(harness.work.called("flaky")) == POLICY.max_attempts

    async def test_a_job_the_core_refuses_is_not_retried(self, harness: Harness) -> None:
        """A refusal of the core (here a validation error) fails the run at its first attempt."""
        await harness.start()
        await harness.queue.enqueue("automation", "refuse", {}, key=harness.key("r"))
        failed = await harness.run_ends("r", JobStatus.FAILED)
        assert failed.attempts == 1
        assert failed.last_error == "ValidationError: the core refuses this job"
        await harness.idle(2)
        assert len(harness.work.called("refuse")) == 1

    async def test_a_delayed_job_waits_for_its_time(self, harness: Harness) -> None:
        """A job enqueued with a delay is recorded with its time and does not run before it."""
        await harness.start()
        await harness.queue.enqueue(
            "orders", "echo", {"n": 7}, key=harness.key("later"), delay_seconds=3
        )
        waiting = await harness.run("later")
        assert waiting.scheduled_for is not None
        assert waiting.scheduled_for > waiting.enqueued_at
        await harness.idle(1)
        assert harness.work.called("echo") == []
        await harness.run_ends("later", JobStatus.COMPLETED)
        assert harness.work.called("echo") == [{"n": 7}]

    async def test_a_waiting_job_can_be_cancelled(self, harness: Harness) -> None:
        """Cancelling a job that has not started drops it; cancelling it again, or a key the
        queue does not hold, drops nothing."""
        await harness.start()
        await harness.queue.enqueue(
            "orders", "echo", {"n": 8}, key=harness.key("off"), delay_seconds=2
        )
        assert await harness.queue.cancel("orders", harness.key("off")) is True
        assert await harness.queue.cancel("orders", harness.key("off")) is False
        assert await harness.queue.cancel("orders", harness.key("unknown")) is False
        await harness.idle(4)
        assert harness.work.called("echo") == []

    async def test_progress_is_recorded_while_the_job_runs(self, harness: Harness) -> None:
        """A job's report_progress reaches its run while it runs; completion sets 100."""
        await harness.start()
        key = harness.key("g")
        await harness.queue.enqueue("orders", "gauge", {"key": key}, key=key)
        done = await harness.run_ends("g", JobStatus.COMPLETED)
        assert harness.work.progress_seen == [40]
        assert done.progress == 100

    async def test_an_unknown_queue_is_refused(self, harness: Harness) -> None:
        """Enqueueing on a queue the backend does not have is a validation error."""
        with pytest.raises(ValidationError) as refused:
            await harness.queue.enqueue("nowhere", "echo", {}, key=harness.key("x"))
        assert refused.value.details["field"] == "queue"

    async def test_ping_and_depth_describe_the_backend(self, harness: Harness) -> None:
        """The backend answers ping; depth counts the jobs ready and waiting on each queue."""
        assert await harness.queue.ping() is True
        assert await harness.queue.depth() == {"orders": 0, "automation": 0}
        await harness.queue.enqueue("orders", "echo", {}, key=harness.key("d1"))
        await harness.queue.enqueue("orders", "echo", {}, key=harness.key("d2"))
        assert await harness.queue.depth() == {"orders": 2, "automation": 0}

    async def test_a_failed_run_retried_by_ops_runs_again(self, harness: Harness) -> None:
        """retry_job on a failed run reaches the queue through the relay: the job runs again
        under the same key, with a fresh attempt budget, and its run completes."""
        await harness.start()
        await harness.queue.enqueue("automation", "refuse", {"n": 9}, key=harness.key("ops"))
        failed = await harness.run_ends("ops", JobStatus.FAILED)
        harness.work.refusing = False
        await retry_job(harness.telemetry, RetryJob(failed.id))
        report = await dispatch_due(harness.telemetry, job_subscriptions(harness.queue))
        assert report.dead_lettered == report.failed == 0
        done = await harness.run_ends("ops", JobStatus.COMPLETED)
        assert done.id == failed.id
        assert done.attempts == 1
        assert len(harness.work.called("refuse")) == 2


class TestInlineJobQueue(JobQueueContract):
    @pytest.fixture
    def harness(self) -> Harness:
        return InlineHarness()


@pytest.mark.integration
class TestSaqRedisJobQueue(JobQueueContract):
    @pytest.fixture
    async def harness(self, redis_url: str) -> AsyncIterator[Harness]:
        opened = SaqHarness(redis_url)
        try:
            yield opened
        finally:
            await opened.close()
            await _forget_redis_keys(redis_url, opened.prefix)


@pytest.mark.integration
class TestSaqPostgresJobQueue(JobQueueContract):
    @pytest.fixture
    async def harness(self, postgresql_url: str) -> AsyncIterator[Harness]:
        # SAQ keeps its own tables (saq_jobs...) beside the application's; each test works
        # under its own queue namespace and keys.
        opened = SaqHarness(postgresql_url)
        try:
            yield opened
        finally:
            await opened.close()


async def _forget_redis_keys(url: str, prefix: str) -> None:
    """Delete this test's keys (its queue namespace and its job keys) and nothing else."""
    client = aioredis.Redis.from_url(url)
    try:
        patterns = (f"saq:{prefix}*", f"saq:job:{prefix}*", f"saq:abort:{prefix}*")
        for pattern in patterns:
            keys = [key async for key in client.scan_iter(match=pattern, count=500)]
            if keys:
                await client.delete(*keys)
    finally:
        await client.aclose()
