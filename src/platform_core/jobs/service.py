"""Job-run use cases: what the worker reports about queued work, and what Ops do about it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from platform_core.jobs.model import JobRun, RetryPolicy, retry_policy_for
from platform_core.jobs.ports import JobRunFilter, JobsDeps, JobsUnitOfWork
from platform_core.shared.errors import ConflictError, ValidationError
from platform_core.shared.events import DomainEvent

MAX_PAGE_SIZE = 500


@attrs.frozen
class RecordJobEnqueued:
    """A job was put on a queue. `max_attempts` overrides the queue's attempt budget (automation
    passes its scenario's); `retry_policy` replaces the queue's policy altogether."""

    queue: str
    job_name: str
    job_key: str
    payload: Mapping[str, Any] = attrs.field(factory=dict)
    related_entity_type: str | None = None
    related_entity_id: str | None = None
    max_attempts: int | None = None
    retry_policy: RetryPolicy | None = None
    scheduled_for: datetime | None = None
    correlation_id: str | None = None


async def record_job_enqueued(deps: JobsDeps, command: RecordJobEnqueued) -> JobRun:
    """Record a new run of a queued job.

    Rules: the job key names one run, so recording the same key again returns the run already
    recorded and changes nothing (the queue reports at least once), while a key already used
    by another queue or job is a conflict; the retry policy is the queue's default unless the
    command gives one, and a queue without defaults needs one; related entity type and id go
    together.
    """
    async with deps.uow() as uow:
        existing = await uow.job_runs.find_by_key(command.job_key)
        if existing is not None:
            return _same_run(existing, command)
        policy = retry_policy_for(command.queue, command.retry_policy, command.max_attempts)
        job, events = JobRun.enqueue(
            deps.ids.new_id("job"), command.queue, command.job_name, command.job_key, policy,
            deps.clock.now(), command.payload, command.related_entity_type,
            command.related_entity_id, command.scheduled_for,
        )  # fmt: skip
        await uow.job_runs.add(job)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return job


def _same_run(existing: JobRun, command: RecordJobEnqueued) -> JobRun:
    if (existing.queue, existing.job_name) != (command.queue, command.job_name):
        raise ConflictError(
            f"job key {command.job_key!r} already names a run of "
            f"{existing.queue}/{existing.job_name}",
            {"field": "job_key", "job_run_id": existing.id},
        )
    return existing


@attrs.frozen
class RecordJobStarted:
    job_key: str
    correlation_id: str | None = None


async def record_job_started(deps: JobsDeps, command: RecordJobStarted) -> JobRun:
    """A worker began an attempt of the run.

    Rules: only a queued run or one waiting for its retry starts; each start is a new attempt
    and resets the progress.
    """
    async with deps.uow() as uow:
        job = await uow.job_runs.get_by_key(command.job_key)
        job, events = job.start(deps.clock.now())
        return await _save(uow, job, events, command.correlation_id)


@attrs.frozen
class RecordJobProgress:
    job_key: str
    progress: int


async def record_job_progress(deps: JobsDeps, command: RecordJobProgress) -> JobRun:
    """The running attempt reports how far it got.

    Rules: only an active run reports progress; progress is a whole percentage 0..100; it
    causes no event (it is not a business fact, just a gauge).
    """
    async with deps.uow() as uow:
        job = await uow.job_runs.get_by_key(command.job_key)
        job, events = job.report_progress(command.progress, deps.clock.now())
        return await _save(uow, job, events, None)


@attrs.frozen
class RecordJobSucceeded:
    job_key: str
    correlation_id: str | None = None


async def record_job_succeeded(deps: JobsDeps, command: RecordJobSucceeded) -> JobRun:
    """The running attempt finished its work.

    Rules: only an active run completes; completion is terminal and sets progress to 100.
    """
    async with deps.uow() as uow:
        job = await uow.job_runs.get_by_key(command.job_key)
        job, events = job.succeed(deps.clock.now())
        return await _save(uow, job, events, command.correlation_id)


@attrs.frozen
class RecordJobFailed:
    job_key: str
    error: str
    retryable: bool = True
    correlation_id: str | None = None


async def record_job_failed(deps: JobsDeps, command: RecordJobFailed) -> JobRun:
    """The running attempt failed.

    Rules: a retryable failure with attempts left schedules the next attempt after the
    policy's backoff (job.retry_scheduled, status delayed); a non-retryable failure or the
    last attempt's failure fails the run (job.failed). The error text is kept (trimmed to a
    bounded length) as `last_error`.
    """
    async with deps.uow() as uow:
        job = await uow.job_runs.get_by_key(command.job_key)
        job, events = job.fail(command.error, deps.clock.now(), command.retryable)
        return await _save(uow, job, events, command.correlation_id)


@attrs.frozen
class RetryJob:
    job_id: str
    correlation_id: str | None = None


async def retry_job(deps: JobsDeps, command: RetryJob) -> JobRun:
    """Ops put a failed run back on its queue.

    Rules: only a failed run is retried by hand; it gets a fresh attempt budget; job.queued
    (with `manual_retry: true` and the job's payload) tells the queue relay to enqueue it again
    under the same key.
    """
    async with deps.uow() as uow:
        job = await uow.job_runs.get(command.job_id)
        job, events = job.retry(deps.clock.now())
        return await _save(uow, job, events, command.correlation_id)


@attrs.frozen
class CancelJob:
    job_id: str
    reason: str | None = None
    correlation_id: str | None = None


async def cancel_job(deps: JobsDeps, command: CancelJob) -> JobRun:
    """Ops call off a run that has not started or waits for its retry.

    Rules: only queued and delayed runs are cancelled (a running attempt ends on its own);
    cancellation is terminal; job.cancelled tells the queue relay to drop the queued job.
    """
    async with deps.uow() as uow:
        job = await uow.job_runs.get(command.job_id)
        job, events = job.cancel(deps.clock.now(), command.reason)
        return await _save(uow, job, events, command.correlation_id)


async def get_job_run(deps: JobsDeps, job_id: str) -> JobRun:
    async with deps.uow() as uow:
        return await uow.job_runs.get(job_id)


@attrs.frozen
class JobRunPage:
    """One page of the job-run list and the number of runs matching the filters."""

    items: Sequence[JobRun]
    total: int
    limit: int
    offset: int


async def list_job_runs(
    deps: JobsDeps, filters: JobRunFilter, limit: int = 50, offset: int = 0
) -> JobRunPage:
    """Job runs matching the filters (queue, status, job name, related entity), newest first.

    Rules: `limit` is 1..500 and `offset` is not negative.
    """
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationError(f"limit must be 1..{MAX_PAGE_SIZE}", {"field": "limit"})
    if offset < 0:
        raise ValidationError("offset must not be negative", {"field": "offset"})
    async with deps.uow() as uow:
        items = await uow.job_runs.list(filters, limit, offset)
        total = await uow.job_runs.count(filters)
    return JobRunPage(tuple(items), total, limit, offset)


async def _save(
    uow: JobsUnitOfWork, job: JobRun, events: list[DomainEvent], correlation_id: str | None
) -> JobRun:
    stored = await uow.job_runs.update(job)
    await uow.events.record(events, correlation_id)
    await uow.commit()
    return stored
