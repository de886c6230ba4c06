"""The inline worker, the cron schedule and the job-run recorder, on the embedded platform
(in-memory store, inline queue, a clock the tests move)."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

import pytest

from adapters.clock import FixedClock
from adapters.ids import SequentialIdGenerator
from adapters.queues.inline import InlineJobQueue
from adapters.queues.observer import JobInfo
from entrypoints.bootstrap import MEMORY_URL, Platform, Settings, bootstrap
from entrypoints.demo import DELIVERY_SCANS, Demo
from entrypoints.inline_worker import InlineWorker
from entrypoints.jobs import (
    CRON_SCHEDULE,
    REFRESH_TRACKING,
    RETRY_AUTOMATION_STEPS,
    CronEntry,
    CronScheduler,
    JobRunRecorder,
    cron_key,
)
from entrypoints.worker import serve_worker
from platform_core.fulfillment.model import FulfillmentStatus, ShipmentStatus
from platform_core.jobs.model import JobRun, JobStatus
from platform_core.jobs.service import CancelJob, cancel_job
from platform_core.shared.errors import ValidationError

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# The demo starts at 09:00; its first tracking-refresh slot is a quarter past.
START_OF_DEMO_SLOT = datetime(2026, 11, 22, 9, 1, tzinfo=UTC)


def embedded(clock: FixedClock) -> Platform:
    return bootstrap(Settings(database_url=MEMORY_URL), clock=clock, ids=SequentialIdGenerator())


async def job_run(platform: Platform, key: str) -> JobRun | None:
    async with platform.deps.uow() as uow:
        return await uow.job_runs.find_by_key(key)


async def test_cron_slots_are_enqueued_ahead_once_per_slot() -> None:
    """A tick enqueues each entry's next slot, delayed until then, under the slot's key; a
    tick before that slot enqueues nothing new; once it has passed, the following slot."""
    clock = FixedClock(START)
    queue = InlineJobQueue(clock)
    scheduler = CronScheduler(
        [
            CronEntry(RETRY_AUTOMATION_STEPS, "* * * * *"),
            CronEntry(REFRESH_TRACKING, "*/15 * * * *"),
        ]
    )
    first = await scheduler.tick(queue, clock.now())
    assert first == [
        cron_key(RETRY_AUTOMATION_STEPS, START + timedelta(minutes=1)),
        cron_key(REFRESH_TRACKING, START + timedelta(minutes=15)),
    ]
    assert first[0] == "cron:retry_automation_steps:20260302T090100Z"
    waiting = queue.pending[first[1]]
    assert (waiting.queue, waiting.job, waiting.due_at) == (
        "shipments",
        REFRESH_TRACKING,
        START + timedelta(minutes=15),
    )
    assert await scheduler.tick(queue, START + timedelta(seconds=30)) == []
    later = await scheduler.tick(queue, START + timedelta(minutes=1, seconds=5))
    assert later == [cron_key(RETRY_AUTOMATION_STEPS, START + timedelta(minutes=2))]


def test_the_cron_schedule_names_only_registered_tasks() -> None:
    """Every cron entry runs a task of the registry, and no task is scheduled twice."""
    scheduler = CronScheduler()
    tasks = [entry.task for entry in scheduler.schedule]
    assert len(tasks) == len(set(tasks)) == len(CRON_SCHEDULE)
    with pytest.raises(ValueError, match="unknown task"):
        CronScheduler([CronEntry("no_such_task", "* * * * *")])
    with pytest.raises(ValueError, match="invalid cron"):
        CronEntry(REFRESH_TRACKING, "every now and then")


async def test_the_inline_worker_polls_the_courier_on_schedule_and_completes_the_order() -> None:
    """With no webhook at all, the tracking-refresh cron slot polls the courier; the worker
    relays the delivery, runs the automation steps it causes and completes the fulfillment."""
    demo = await Demo.start(io.StringIO())
    order = await demo.draft([("GW-100", 1)])
    await demo.pay(order)
    shipment = await demo.ship(order)
    assert shipment.tracking_number is not None
    demo.deps.courier_simulator.script(
        shipment.tracking_number, DELIVERY_SCANS, every=timedelta(hours=1)
    )
    worker = InlineWorker(demo.platform)
    await worker.tick()
    demo.clock.advance(timedelta(hours=len(DELIVERY_SCANS)))
    for _ in range(5):
        await worker.tick()
    fulfillment = await demo.fulfillment(order)
    assert fulfillment.status is FulfillmentStatus.COMPLETED
    async with demo.deps.uow() as uow:
        delivered = await uow.shipments.get(shipment.id)
        (step,) = await uow.automation_steps.for_shipment(shipment.id)
    assert delivered.status is ShipmentStatus.DELIVERED
    refresh = await job_run(demo.platform, cron_key(REFRESH_TRACKING, START_OF_DEMO_SLOT))
    assert refresh is not None
    assert refresh.status is JobStatus.COMPLETED
    step_run = await job_run(demo.platform, step.idempotency_key)
    assert step_run is not None
    assert (step_run.status, step_run.related_entity_id) == (JobStatus.COMPLETED, step.id)


async def test_a_cancelled_run_is_dropped_from_the_inline_queue() -> None:
    """cancel_job reaches the queue through the relay: the waiting job never runs."""
    clock = FixedClock(START)
    platform = embedded(clock)
    queue = platform.deps.queue
    assert isinstance(queue, InlineJobQueue)
    await queue.enqueue("orders", "mark_overdue_invoices", {}, key="later", delay_seconds=60)
    run = await job_run(platform, "later")
    assert run is not None
    await cancel_job(platform.deps, CancelJob(run.id, reason="not needed"))
    await platform.settle()
    assert "later" not in queue.pending
    clock.advance(timedelta(minutes=5))
    assert await queue.run_due() == 0


async def test_the_recorder_closes_a_lost_attempt_before_the_next_one() -> None:
    """A job started again while its run is still active (its worker died) gets the lost
    attempt recorded as failed with the queue's message, then the new attempt; a start of a
    job never recorded as enqueued records both."""
    platform = embedded(FixedClock(START))
    recorder = JobRunRecorder(platform.deps)
    job = JobInfo("orders", "mark_overdue_invoices", "k1", {}, max_attempts=3)
    await recorder.enqueued(job)
    await recorder.started(JobInfo("orders", "mark_overdue_invoices", "k1", {}, 3, attempt=1))
    again = JobInfo("orders", "mark_overdue_invoices", "k1", {}, 3, 2, previous_error="swept")
    await recorder.started(again)
    run = await job_run(platform, "k1")
    assert run is not None
    assert (run.status, run.attempts, run.last_error) == (JobStatus.ACTIVE, 2, "swept")
    await recorder.started(JobInfo("orders", "mark_overdue_invoices", "k2", {}, 3, attempt=1))
    unseen = await job_run(platform, "k2")
    assert unseen is not None
    assert (unseen.status, unseen.attempts) == (JobStatus.ACTIVE, 1)


async def test_the_recorder_never_fails_the_job(caplog: pytest.LogCaptureFixture) -> None:
    """Recording what cannot be recorded (progress of a run nobody enqueued, a success of a
    run that never started) is logged, not raised."""
    platform = embedded(FixedClock(START))
    recorder = JobRunRecorder(platform.deps)
    job = JobInfo("orders", "mark_overdue_invoices", "ghost", {}, max_attempts=3)
    await recorder.progressed(job, 50)
    await recorder.enqueued(job)
    await recorder.succeeded(job)
    assert sum("not recorded" in message for message in caplog.messages) == 2


async def test_each_worker_refuses_the_other_backend() -> None:
    """The inline worker needs the inline queue; the SAQ worker needs a SAQ queue."""
    saq = bootstrap(Settings(database_url=MEMORY_URL, queue_url="redis://127.0.0.1:1/0"))
    inline = embedded(FixedClock(START))
    try:
        with pytest.raises(ValidationError) as refused:
            InlineWorker(saq)
        assert refused.value.details["field"] == "queue_url"
        with pytest.raises(ValidationError):
            await serve_worker(inline, asyncio.Event())
    finally:
        await saq.close()
        await inline.close()
