"""An in-process JobQueue: jobs wait until due by the Clock and run when `run_due` is called.

It keeps the JobQueue contract (a key still pending or running is not enqueued twice) so
code that works inline works on SAQ, and it follows the same queue options: a failing job is
retried after its queue's backoff while attempts remain and the error is retryable, then
parked in `failed`. It reports to the same JobObserver as the SAQ worker.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from adapters.queues.observer import (
    JobHandler,
    JobInfo,
    JobObserver,
    SilentObserver,
    describe,
    is_retryable,
    progress_sink,
    reset_progress_sink,
)
from adapters.queues.options import QueueOptions, options_for, queue_options
from platform_core.jobs.model import RetryPolicy
from platform_core.ports.core import Clock

log = logging.getLogger(__name__)


@attrs.define
class QueuedJob:
    queue: str
    job: str
    payload: Mapping[str, Any]
    key: str
    due_at: datetime
    retry: RetryPolicy
    attempts: int = 0
    last_error: str | None = None

    def info(self, scheduled_for: datetime | None = None) -> JobInfo:
        return JobInfo(
            queue=self.queue,
            name=self.job,
            key=self.key,
            payload=self.payload,
            max_attempts=self.retry.max_attempts,
            attempt=self.attempts,
            scheduled_for=scheduled_for,
            previous_error=self.last_error,
        )


class InlineJobQueue:
    """JobQueue in this process; nothing runs until `run_due` (the embedded default has no
    background worker: `Platform.settle` or the InlineWorker loop calls it)."""

    def __init__(
        self,
        clock: Clock,
        options: Mapping[str, QueueOptions] | None = None,
        observer: JobObserver | None = None,
    ) -> None:
        self._clock = clock
        self._options = dict(options or queue_options())
        self._observer: JobObserver = observer or SilentObserver()
        self._handlers: dict[str, JobHandler] = {}
        self._running: set[str] = set()
        self.pending: dict[str, QueuedJob] = {}
        self.completed: list[QueuedJob] = []
        self.failed: list[QueuedJob] = []

    def register(self, job: str, handler: JobHandler) -> None:
        self._handlers[job] = handler

    def attach(self, observer: JobObserver) -> None:
        self._observer = observer

    async def enqueue(
        self,
        queue: str,
        job: str,
        payload: Mapping[str, Any],
        *,
        key: str,
        delay_seconds: float = 0,
    ) -> None:
        options = options_for(self._options, queue)
        if key in self.pending or key in self._running:
            return
        due = self._clock.now() + timedelta(seconds=max(delay_seconds, 0))
        queued = QueuedJob(queue, job, dict(payload), key, due, options.retry)
        self.pending[key] = queued
        await self._observer.enqueued(queued.info(due if delay_seconds > 0 else None))

    async def cancel(self, queue: str, key: str) -> bool:
        queued = self.pending.get(key)
        if queued is None or queued.queue != queue:
            return False
        del self.pending[key]
        return True

    async def ping(self) -> bool:
        return True

    async def depth(self) -> dict[str, int]:
        now = self._clock.now()
        counts = dict.fromkeys(self._options, 0)
        for queued in self.pending.values():
            if queued.due_at <= now:
                counts[queued.queue] = counts.get(queued.queue, 0) + 1
        return counts

    async def close(self) -> None:
        return None

    async def run_due(self) -> int:
        """Run every job due now (including ones those jobs enqueue); return how many ran."""
        ran = 0
        while due := self._due():
            for job in due:
                await self._run(job)
                ran += 1
        return ran

    def _due(self) -> list[QueuedJob]:
        now = self._clock.now()
        return sorted(
            (job for job in self.pending.values() if job.due_at <= now), key=lambda j: j.due_at
        )

    async def _run(self, job: QueuedJob) -> None:
        handler = self._handlers.get(job.job)
        del self.pending[job.key]
        self._running.add(job.key)
        job.attempts += 1
        info = job.info()
        await self._observer.started(info)

        async def progressed(percent: int) -> None:
            await self._observer.progressed(info, percent)

        token = progress_sink(progressed)
        try:
            if handler is None:
                raise LookupError(f"no handler registered for job {job.job!r}")
            await handler(job.payload)
        except Exception as error:  # a job's failure must not stop the others
            await self._failed(job, info, error)
        else:
            self.completed.append(job)
            await self._observer.succeeded(info)
        finally:
            reset_progress_sink(token)
            self._running.discard(job.key)

    async def _failed(self, job: QueuedJob, info: JobInfo, error: Exception) -> None:
        job.last_error = describe(error)
        retryable = is_retryable(error)
        log.warning("inline job %s (%s) failed: %s", job.key, job.job, job.last_error)
        if retryable and job.retry.allows_retry_after(job.attempts):
            job.due_at = self._clock.now() + job.retry.delay_after(job.attempts)
            self.pending[job.key] = job
        else:
            self.failed.append(job)
        await self._observer.failed(info, job.last_error, retryable)
