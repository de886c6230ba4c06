"""What every queue backend reports about its jobs, and how a running job reports progress.

The inline queue and the SAQ worker call the same `JobObserver` at the same moments (enqueued,
started, progressed, succeeded, failed), so job-run telemetry reads the same whichever backend
ran the work. The observer lives outside the queue (the composition root gives one) because
recording a run is a use case of the core, which the queues do not call themselves.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

import attrs

from platform_core.shared.errors import DomainError, ExternalServiceError, StaleVersion

JobHandler = Callable[[Mapping[str, Any]], Awaitable[object]]


@attrs.frozen
class JobInfo:
    """One job as its queue knows it at a hook.

    `attempt` is the attempt starting or ending (0 while it waits for its first);
    `previous_error` is what ended the attempt before this one, when the queue knows it (a
    swept job of a dead worker carries the sweep's message).
    """

    queue: str
    name: str
    key: str
    payload: Mapping[str, Any]
    max_attempts: int
    attempt: int = 0
    scheduled_for: datetime | None = None
    previous_error: str | None = None


class JobObserver(Protocol):
    """Hears what happens to jobs. Implementations must not raise: telemetry never fails work."""

    async def enqueued(self, job: JobInfo) -> None: ...

    async def started(self, job: JobInfo) -> None: ...

    async def progressed(self, job: JobInfo, percent: int) -> None: ...

    async def succeeded(self, job: JobInfo) -> None: ...

    async def failed(self, job: JobInfo, error: str, retryable: bool) -> None: ...


class SilentObserver:
    """The observer of a queue nobody watches."""

    async def enqueued(self, job: JobInfo) -> None:
        return None

    async def started(self, job: JobInfo) -> None:
        return None

    async def progressed(self, job: JobInfo, percent: int) -> None:
        return None

    async def succeeded(self, job: JobInfo) -> None:
        return None

    async def failed(self, job: JobInfo, error: str, retryable: bool) -> None:
        return None


class QueueBackend(Protocol):
    """The JobQueue port plus what the application needs to operate a backend: drop a queued
    job, check it is reachable, count what waits, close its connections, and hear its jobs."""

    async def enqueue(
        self,
        queue: str,
        job: str,
        payload: Mapping[str, Any],
        *,
        key: str,
        delay_seconds: float = 0,
    ) -> None: ...

    async def cancel(self, queue: str, key: str) -> bool:
        """Drop the job `key` if it has not started; True when one was dropped."""
        ...

    async def ping(self) -> bool:
        """True when the backend answers (readiness checks)."""
        ...

    async def depth(self) -> dict[str, int]:
        """Jobs ready to run and waiting for a worker, per queue name."""
        ...

    async def close(self) -> None: ...

    def attach(self, observer: JobObserver) -> None:
        """Report every job from now on to `observer`."""
        ...


# -- progress --------------------------------------------------------------------------------

ProgressSink = Callable[[int], Awaitable[None]]

_progress: contextvars.ContextVar[ProgressSink | None] = contextvars.ContextVar(
    "job_progress", default=None
)


def progress_sink(sink: ProgressSink | None) -> contextvars.Token[ProgressSink | None]:
    """Route `report_progress` calls of the current task to `sink` (the queue running it)."""
    return _progress.set(sink)


def reset_progress_sink(token: contextvars.Token[ProgressSink | None]) -> None:
    _progress.reset(token)


async def report_progress(percent: int) -> None:
    """Tell the queue running the current job how far it got (0..100); outside a job, nothing."""
    sink = _progress.get()
    if sink is not None:
        await sink(max(0, min(100, int(percent))))


# -- failures --------------------------------------------------------------------------------


def is_retryable(error: BaseException) -> bool:
    """Whether running the job again can help.

    The core's own refusals (validation, not found, illegal transition) will refuse again;
    a lost optimistic-concurrency race, an outside service's transient failure and every
    error that is not the core's (a dropped connection, a timeout) may pass next time.
    """
    if isinstance(error, ExternalServiceError):
        return error.retryable
    if isinstance(error, StaleVersion):
        return True
    return not isinstance(error, DomainError | LookupError)


def describe(error: BaseException) -> str:
    """A one-line account of `error` for a job run's `last_error`."""
    text = str(error).strip()
    name = type(error).__name__
    return f"{name}: {text}" if text else name
