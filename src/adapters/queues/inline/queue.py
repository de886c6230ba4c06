"""An in-process JobQueue: jobs wait until due by the Clock and run when `run_due` is called.

It keeps the JobQueue contract (a key still pending or running is not enqueued twice) so
code that works inline works on SAQ. A failing job is kept with its error and retried with
exponential backoff up to `max_attempts`, then parked in `failed`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from platform_core.ports.core import Clock

log = logging.getLogger(__name__)

JobHandler = Callable[[Mapping[str, Any]], Awaitable[object]]


@attrs.define
class QueuedJob:
    queue: str
    job: str
    payload: Mapping[str, Any]
    key: str
    due_at: datetime
    attempts: int = 0
    last_error: str | None = None


class InlineJobQueue:
    def __init__(self, clock: Clock, max_attempts: int = 3, backoff_seconds: float = 60) -> None:
        self._clock = clock
        self._max_attempts = max_attempts
        self._backoff = backoff_seconds
        self._handlers: dict[str, JobHandler] = {}
        self.pending: dict[str, QueuedJob] = {}
        self.completed: list[QueuedJob] = []
        self.failed: list[QueuedJob] = []

    def register(self, job: str, handler: JobHandler) -> None:
        self._handlers[job] = handler

    async def enqueue(
        self,
        queue: str,
        job: str,
        payload: Mapping[str, Any],
        *,
        key: str,
        delay_seconds: float = 0,
    ) -> None:
        if key in self.pending:
            return
        due = self._clock.now() + timedelta(seconds=delay_seconds)
        self.pending[key] = QueuedJob(queue, job, dict(payload), key, due)

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
        job.attempts += 1
        try:
            if handler is None:
                raise LookupError(f"no handler registered for job {job.job!r}")
            await handler(job.payload)
        except Exception as error:  # a job's failure must not stop the others
            self._failed(job, error)
        else:
            self.completed.append(job)

    def _failed(self, job: QueuedJob, error: Exception) -> None:
        job.last_error = f"{type(error).__name__}: {error}"
        log.warning("inline job %s (%s) failed: %s", job.key, job.job, job.last_error)
        if job.attempts >= self._max_attempts or isinstance(error, LookupError):
            self.failed.append(job)
            return
        delay = self._backoff * 2 ** (job.attempts - 1)
        job.due_at = self._clock.now() + timedelta(seconds=delay)
        self.pending[job.key] = job
