"""The work the queues do: the task registry, the cron schedule, the outbox relay, and the
job-run telemetry every queue backend reports to.

One registry serves both backends: the inline queue (embedded default, tests) and the SAQ
workers run the same task functions, under the same names, on the same queues. Every task is
idempotent: the use cases it calls tolerate a duplicate delivery (the queues deliver at least
once, and a crashed worker's job runs again).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import attrs
from croniter import croniter  # type: ignore[import-untyped]

from adapters.queues.observer import JobHandler, JobInfo, QueueBackend, report_progress
from platform_core.automation.service import (
    AUTOMATION_QUEUE,
    RUN_STEP_JOB,
    RunAutomationStep,
    retry_due_steps,
    run_automation_step,
)
from platform_core.billing.service import MarkOverdueInvoices, mark_overdue_invoices
from platform_core.fulfillment.couriers import (
    POLL_COURIER_JOB,
    PROCESS_WEBHOOK_JOB,
    PollCourier,
    ProcessCourierWebhook,
    plan_tracking_polls,
    poll_courier,
    process_courier_webhook,
)
from platform_core.jobs.model import JobStatus, QueueName
from platform_core.jobs.ports import JobsDeps
from platform_core.jobs.service import (
    RecordJobEnqueued,
    RecordJobFailed,
    RecordJobProgress,
    RecordJobStarted,
    RecordJobSucceeded,
    record_job_enqueued,
    record_job_failed,
    record_job_progress,
    record_job_started,
    record_job_succeeded,
)
from platform_core.legacy.model import MirrorKind
from platform_core.legacy.service import DetectDrift, detect_drift
from platform_core.lifecycle import payloads
from platform_core.lifecycle.dispatcher import Subscription
from platform_core.ports.core import JobQueue
from platform_core.pricing.service import (
    ExpireDueAgreements,
    SyncPrices,
    expire_due_agreements,
    sync_prices,
)
from platform_core.shared.errors import (
    IllegalTransition,
    NotFoundError,
    ValidationError,
)
from platform_core.shared.events import JsonValue, StoredEvent

if TYPE_CHECKING:
    from entrypoints.bootstrap import Platform

log = logging.getLogger(__name__)

TaskResult = Mapping[str, JsonValue]
TaskRun = Callable[["Platform", Mapping[str, Any]], Awaitable[TaskResult]]
Related = Callable[[Mapping[str, Any]], tuple[str, str] | None]


def _unrelated(_: Mapping[str, Any]) -> tuple[str, str] | None:
    return None


@attrs.frozen
class Task:
    """A job the queues run: its (explicit, stable) name, its queue and what it does.

    `related` names the entity a run works on, for the job-run list and timelines.
    """

    name: str
    queue: str
    run: TaskRun
    related: Related = _unrelated


# -- the tasks ---------------------------------------------------------------------------------


async def _run_automation_step(platform: Platform, payload: Mapping[str, Any]) -> TaskResult:
    attempt = payload.get("attempt")
    command = RunAutomationStep(
        step_id=str(payload["step_id"]),
        attempt=attempt if isinstance(attempt, int) and not isinstance(attempt, bool) else None,
    )
    step = await run_automation_step(platform.deps, command)
    return {"step_id": step.id, "status": str(step.status), "attempts": step.attempts}


def _automation_step(payload: Mapping[str, Any]) -> tuple[str, str] | None:
    step_id = payload.get("step_id")
    return ("automation_step", step_id) if isinstance(step_id, str) else None


async def _refresh_tracking(platform: Platform, _: Mapping[str, Any]) -> TaskResult:
    """Plan this minute's courier polls (each courier on its own cadence and backoff) and
    re-enqueue courier webhooks whose processing job was lost."""
    batches = await plan_tracking_polls(platform.deps)
    return {"poll_jobs": [batch.key for batch in batches]}


async def _poll_courier(platform: Platform, payload: Mapping[str, Any]) -> TaskResult:
    numbers = payload.get("tracking_numbers")
    if not isinstance(numbers, list):
        raise ValidationError("tracking_numbers must be a list", {"field": "tracking_numbers"})
    command = PollCourier(str(payload["courier_code"]), tuple(str(each) for each in numbers))
    report = await poll_courier(platform.deps, command)
    return {
        "courier_code": command.courier_code,
        "recorded": report.recorded,
        "duplicates": report.duplicates,
        "unmatched": list(report.unmatched),
    }


def _courier(payload: Mapping[str, Any]) -> tuple[str, str] | None:
    code = payload.get("courier_code")
    return ("courier", code) if isinstance(code, str) else None


async def _process_courier_webhook(platform: Platform, payload: Mapping[str, Any]) -> TaskResult:
    webhook = await process_courier_webhook(
        platform.deps, ProcessCourierWebhook(str(payload["webhook_id"]))
    )
    return {
        "webhook_id": webhook.id,
        "status": str(webhook.status),
        "recorded": webhook.recorded,
        "duplicates": webhook.duplicates,
        "unmatched": list(webhook.unmatched),
    }


def _courier_webhook(payload: Mapping[str, Any]) -> tuple[str, str] | None:
    webhook_id = payload.get("webhook_id")
    return ("courier_webhook", webhook_id) if isinstance(webhook_id, str) else None


async def _retry_automation_steps(platform: Platform, _: Mapping[str, Any]) -> TaskResult:
    enqueued = await retry_due_steps(platform.deps)
    return {"enqueued": [step.id for step in enqueued]}


async def _detect_legacy_drift(platform: Platform, _: Mapping[str, Any]) -> TaskResult:
    reports: dict[str, JsonValue] = {}
    kinds = list(MirrorKind)
    for done, kind in enumerate(kinds, start=1):
        report = await detect_drift(platform.deps, DetectDrift(kind=kind))
        reports[str(kind)] = report.id
        await report_progress(done * 100 // len(kinds))
    return {"sync_reports": reports}


async def _mark_overdue_invoices(platform: Platform, _: Mapping[str, Any]) -> TaskResult:
    notified = await mark_overdue_invoices(platform.deps, MarkOverdueInvoices())
    return {"overdue": [invoice.id for invoice in notified]}


async def _purge_idempotency_keys(platform: Platform, _: Mapping[str, Any]) -> TaskResult:
    purged = await platform.deps.store.idempotency.purge_expired(platform.deps.clock.now())
    return {"purged": purged}


async def _expire_price_agreements(platform: Platform, _: Mapping[str, Any]) -> TaskResult:
    expired = await expire_due_agreements(platform.deps, ExpireDueAgreements())
    return {"expired": [agreement.id for agreement in expired]}


async def _sync_stripe_prices(platform: Platform, _: Mapping[str, Any]) -> TaskResult:
    # Failures are recorded on each price (sync_failed) and retried by the next run, so the
    # run itself succeeds: retrying it at once would only hammer a provider that is down.
    report = await sync_prices(platform.deps, SyncPrices())
    return {
        "synced": [f"{p.kind}:{p.target_id}:{p.product_id}" for p in report.synced],
        "failed": {f"{p.kind}:{p.target_id}:{p.product_id}": error for p, error in report.failed},
    }


REFRESH_TRACKING = "refresh_tracking"
RETRY_AUTOMATION_STEPS = "retry_automation_steps"
DETECT_LEGACY_DRIFT = "detect_legacy_drift"
MARK_OVERDUE_INVOICES = "mark_overdue_invoices"
PURGE_IDEMPOTENCY_KEYS = "purge_idempotency_keys"
EXPIRE_PRICE_AGREEMENTS = "expire_price_agreements"
SYNC_STRIPE_PRICES = "sync_stripe_prices"

# Names are what the queues store with every job: renaming one strands the jobs already queued.
TASKS: Mapping[str, Task] = MappingProxyType(
    {
        task.name: task
        for task in (
            Task(RUN_STEP_JOB, AUTOMATION_QUEUE, _run_automation_step, _automation_step),
            Task(REFRESH_TRACKING, QueueName.SHIPMENTS, _refresh_tracking),
            Task(POLL_COURIER_JOB, QueueName.SHIPMENTS, _poll_courier, _courier),
            Task(
                PROCESS_WEBHOOK_JOB,
                QueueName.SHIPMENTS,
                _process_courier_webhook,
                _courier_webhook,
            ),
            Task(RETRY_AUTOMATION_STEPS, QueueName.AUTOMATION, _retry_automation_steps),
            Task(DETECT_LEGACY_DRIFT, QueueName.RETARGET, _detect_legacy_drift),
            Task(MARK_OVERDUE_INVOICES, QueueName.ORDERS, _mark_overdue_invoices),
            Task(PURGE_IDEMPOTENCY_KEYS, QueueName.ORDERS, _purge_idempotency_keys),
            Task(EXPIRE_PRICE_AGREEMENTS, QueueName.ORDERS, _expire_price_agreements),
            Task(SYNC_STRIPE_PRICES, QueueName.ORDERS, _sync_stripe_prices),
        )
    }
)


def handlers(platform: Platform, tasks: Mapping[str, Task] = TASKS) -> dict[str, JobHandler]:
    """Each task bound to `platform`: what a queue backend calls with a job's payload."""

    def bind(task: Task) -> JobHandler:
        async def handle(payload: Mapping[str, Any]) -> object:
            return await task.run(platform, payload)

        return handle

    return {name: bind(task) for name, task in tasks.items()}


# -- the cron schedule -------------------------------------------------------------------------


@attrs.frozen
class CronEntry:
    """Run `task` at the times the cron expression `cron` names (UTC)."""

    task: str
    cron: str = attrs.field()

    @cron.validator
    def _valid(self, _: attrs.Attribute[str], value: str) -> None:
        if not croniter.is_valid(value):
            raise ValueError(f"invalid cron expression {value!r} for {self.task}")

    def next_after(self, moment: datetime) -> datetime:
        following: datetime = croniter(self.cron, moment.astimezone(UTC)).get_next(datetime)
        return following


# Every job here is idempotent, so a slot run twice (two workers racing) or late does no harm.
CRON_SCHEDULE: tuple[CronEntry, ...] = (
    CronEntry(RETRY_AUTOMATION_STEPS, "* * * * *"),
    # Every minute: each courier has its own cadence (and backoff) in the registry.
    CronEntry(REFRESH_TRACKING, "* * * * *"),
    CronEntry(MARK_OVERDUE_INVOICES, "5 * * * *"),
    CronEntry(EXPIRE_PRICE_AGREEMENTS, "10 * * * *"),
    CronEntry(DETECT_LEGACY_DRIFT, "20 * * * *"),
    CronEntry(PURGE_IDEMPOTENCY_KEYS, "35 * * * *"),
    # New prices cannot be sold until Stripe holds them, so this runs often.
    CronEntry(SYNC_STRIPE_PRICES, "*/5 * * * *"),
)


def cron_key(task: str, slot: datetime) -> str:
    """The job key of one scheduled run: the same on every worker, so the queue keeps one."""
    return f"cron:{task}:{slot.astimezone(UTC):%Y%m%dT%H%M%SZ}"


class CronScheduler:
    """Keeps the next run of every cron entry on its queue, ahead of time.

    Each entry's next slot is enqueued as soon as it is known, delayed until its time, under
    a key naming the slot: every worker enqueues the same key, and the queue holds it once
    while it waits. Nothing is backfilled: slots missed while no worker ran are skipped.
    """

    def __init__(
        self, schedule: Sequence[CronEntry] = CRON_SCHEDULE, tasks: Mapping[str, Task] = TASKS
    ) -> None:
        for entry in schedule:
            if entry.task not in tasks:
                raise ValueError(f"cron entry for unknown task {entry.task!r}")
        self._schedule = tuple(schedule)
        self._tasks = tasks
        self._enqueued: dict[str, datetime] = {}

    @property
    def schedule(self) -> tuple[CronEntry, ...]:
        return self._schedule

    async def tick(self, queue: JobQueue, now: datetime) -> list[str]:
        """Enqueue every entry's next slot not yet enqueued by this scheduler; the keys."""
        keys = []
        for entry in self._schedule:
            slot = entry.next_after(now)
            if self._enqueued.get(entry.task) == slot:
                continue
            task = self._tasks[entry.task]
            key = cron_key(entry.task, slot)
            await queue.enqueue(
                task.queue,
                task.name,
                {"slot": slot.isoformat()},
                key=key,
                delay_seconds=(slot - now).total_seconds(),
            )
            self._enqueued[entry.task] = slot
            keys.append(key)
        return keys


# -- the outbox relay --------------------------------------------------------------------------

RELAY_BATCH = 100
RELAY_MAX_BATCHES = 10


async def relay_outbox(
    platform: Platform, batch: int = RELAY_BATCH, max_batches: int = RELAY_MAX_BATCHES
) -> int:
    """Deliver due outbox events (the dispatcher's retries, backoff and dead letters apply)
    until none is due or `max_batches` were delivered; returns how many events were handled.

    Any number of processes may relay at once: each event is leased to one of them.
    """
    handled = 0
    for _ in range(max_batches):
        report = await platform.dispatch_events(batch)
        handled += report.claimed
        if report.claimed < batch:
            break
    return handled


def job_subscriptions(queue: QueueBackend) -> list[Subscription]:
    """What the relay does with job-run events: Ops' retry and cancel reach the queue.

    Subscription names are inbox keys: never rename one lightly.
    """

    async def when_job_retried_enqueue_it(stored: StoredEvent) -> None:
        payload = stored.event.payload
        if payload.get("manual_retry") is not True:
            return  # every enqueue records job.queued; only a retry by hand needs the queue
        await queue.enqueue(
            payloads.text(payload, "queue"),
            payloads.text(payload, "job_name"),
            dict(payloads.mapping(payload, "payload")),
            key=payloads.text(payload, "job_key"),
        )

    async def when_job_cancelled_drop_it(stored: StoredEvent) -> None:
        payload = stored.event.payload
        await queue.cancel(payloads.text(payload, "queue"), payloads.text(payload, "job_key"))

    return [
        Subscription("jobs.enqueue_manual_retry", "job.queued", when_job_retried_enqueue_it),
        Subscription("jobs.drop_cancelled_job", "job.cancelled", when_job_cancelled_drop_it),
    ]


# -- job-run telemetry -------------------------------------------------------------------------

LOST_ATTEMPT = "the worker running this attempt stopped before reporting its outcome"


class JobRunRecorder:
    """The JobObserver of the platform: records each job's run (queued, active, progress,
    completed, failed, attempts, last error, related entity) through the jobs use cases.

    Recording never fails the job it describes: a failure to record is logged and dropped.
    """

    def __init__(self, deps: JobsDeps, tasks: Mapping[str, Task] = TASKS) -> None:
        self._deps = deps
        self._tasks = tasks

    async def enqueued(self, job: JobInfo) -> None:
        await self._safely("enqueued", job, self._enqueued(job))

    async def started(self, job: JobInfo) -> None:
        await self._safely("started", job, self._started(job))

    async def progressed(self, job: JobInfo, percent: int) -> None:
        await self._safely(
            "progress", job, record_job_progress(self._deps, RecordJobProgress(job.key, percent))
        )

    async def succeeded(self, job: JobInfo) -> None:
        await self._safely(
            "succeeded", job, record_job_succeeded(self._deps, RecordJobSucceeded(job.key))
        )

    async def failed(self, job: JobInfo, error: str, retryable: bool) -> None:
        command = RecordJobFailed(job.key, error or "failed", retryable)
        await self._safely("failed", job, record_job_failed(self._deps, command))

    async def _enqueued(self, job: JobInfo) -> None:
        task = self._tasks.get(job.name)
        related = task.related(job.payload) if task is not None else None
        command = RecordJobEnqueued(
            queue=job.queue,
            job_name=job.name,
            job_key=job.key,
            payload=job.payload,
            related_entity_type=related[0] if related else None,
            related_entity_id=related[1] if related else None,
            max_attempts=job.max_attempts,
            scheduled_for=job.scheduled_for,
        )
        await record_job_enqueued(self._deps, command)

    async def _started(self, job: JobInfo) -> None:
        started = RecordJobStarted(job.key)
        try:
            await record_job_started(self._deps, started)
        except NotFoundError:
            # Enqueued before it could be recorded (or the record was lost): record it now.
            await self._enqueued(job)
            await record_job_started(self._deps, started)
        except IllegalTransition as refused:
            if refused.state != JobStatus.ACTIVE:
                raise
            # The previous attempt is still "active": its worker died and the job was swept
            # and handed to this one. Close that attempt as failed, then start this one.
            lost = RecordJobFailed(job.key, job.previous_error or LOST_ATTEMPT, True)
            await record_job_failed(self._deps, lost)
            await record_job_started(self._deps, started)

    async def _safely(self, what: str, job: JobInfo, recording: Awaitable[object]) -> None:
        try:
            await recording
        except Exception as error:  # telemetry must never fail or block the work itself
            log.warning("job run %s (%s) not recorded as %s: %r", job.key, job.name, what, error)
