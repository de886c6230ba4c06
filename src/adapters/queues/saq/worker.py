"""SaqWorkers: one SAQ Worker per queue, running the registered job handlers.

Around every handler it keeps the job's heartbeat (so a dead worker's job is swept and run
again by another worker), routes `report_progress` to SAQ and the observer, and decides the
retry: the queue's backoff for a retryable failure, no retry for the core's refusals. The
SAQ hooks (`before_process`, `after_process`) report each attempt to the JobObserver.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, Concatenate

from saq import Job, Status, Worker
from saq.types import Context
from saq.utils import now as saq_now

from adapters.queues.observer import (
    JobHandler,
    JobInfo,
    describe,
    is_retryable,
    progress_sink,
    reset_progress_sink,
)
from adapters.queues.options import QueueOptions, options_for
from adapters.queues.saq.queue import SaqJobQueue

log = logging.getLogger(__name__)

SaqFunction = Callable[Concatenate[Context, ...], Awaitable[None]]

DEFAULT_SHUTDOWN_GRACE_SECONDS = 30
# How long an idle worker waits on the queue before looking again; it bounds how long an idle
# worker takes to stop.
DEQUEUE_TIMEOUT_SECONDS = 1.0
# How long a stopped worker may take to wind down beyond its grace period.
STOP_WAIT_SECONDS = 5.0


def upkeep_seconds(heartbeat_seconds: int) -> int:
    """How often a worker sweeps for jobs of dead workers: often enough that a lost job waits
    little longer than its heartbeat, never less than a second nor more than ten."""
    return max(1, min(10, heartbeat_seconds // 2))


class SaqWorkers:
    """Runs the SAQ workers of `queues` (default: every queue) until told to stop."""

    def __init__(
        self,
        queue: SaqJobQueue,
        handlers: Mapping[str, JobHandler],
        *,
        queues: Collection[str] | None = None,
        shutdown_grace_seconds: int = DEFAULT_SHUTDOWN_GRACE_SECONDS,
    ) -> None:
        self._queue = queue
        self._handlers = dict(handlers)
        self._names = list(queues or queue.options)
        for name in self._names:
            options_for(queue.options, name)
        self._grace = shutdown_grace_seconds
        self.workers: list[Worker[Context]] = []

    async def run(self, stop: asyncio.Event) -> None:
        """Process jobs until `stop` is set, then let running jobs finish and report (up to the
        grace period; a job still running then is handed back to the queue) and return.

        An idle worker stops within its upkeep period (`upkeep_seconds`): SAQ lets its upkeep
        loops finish their sleep.
        """
        await self._queue.connect()
        self.workers = [self._worker(self._queue.options[name]) for name in self._names]
        running = [asyncio.create_task(worker.start()) for worker in self.workers]
        stopping = asyncio.create_task(stop.wait())
        try:
            # A worker that ends on its own (its queue's backend failed) ends the run too.
            await asyncio.wait([stopping, *running], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            # Each stops taking jobs, waits up to the grace period for its running jobs (and
            # their after_process reports), then cancels what is left: SAQ requeues those.
            await asyncio.gather(*(worker.stop() for worker in self.workers))
            # A worker told to stop before it got going resets its stop signal when it starts;
            # cancelling it makes it stop (and clean up) anyway.
            _, late = await asyncio.wait(running, timeout=self._grace + STOP_WAIT_SECONDS)
            for task in late:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    def _worker(self, options: QueueOptions) -> Worker[Context]:
        functions = [(name, self._function(name, options)) for name in self._handlers]
        every = upkeep_seconds(options.heartbeat_seconds)
        queue = self._queue

        async def before_process(ctx: Context) -> None:
            job = ctx.get("job")
            if job is not None:
                await queue.observer.started(_info(queue, job, options))

        async def after_process(ctx: Context) -> None:
            job = ctx.get("job")
            if job is not None:
                await _report_outcome(queue, job, options, ctx.get("exception"))

        worker: Worker[Context] = Worker(
            self._queue.saq_queue(options.name),
            functions,
            concurrency=options.concurrency,
            before_process=before_process,
            after_process=after_process,
            timers={"schedule": 1, "abort": 1, "sweep": every, "worker_info": every},
            dequeue_timeout=DEQUEUE_TIMEOUT_SECONDS,
            shutdown_grace_period_s=self._grace,
        )
        # The process owner (entrypoints.worker) handles SIGTERM for all workers at once; a
        # worker installing its own handler would replace the others'.
        worker.SIGNALS = []
        return worker

    # -- running one job ------------------------------------------------------------------------
    def _function(self, name: str, options: QueueOptions) -> SaqFunction:
        handler = self._handlers[name]

        async def run(ctx: Context, **payload: Any) -> None:
            job = ctx["job"]
            # A dead worker's job must run again at once when swept; the delay of a failure
            # is set below, once the attempt has failed.
            job.retry_delay = 0.0
            info = _info(self._queue, job, options)
            beat = _Heartbeat(job, options.heartbeat_seconds)
            token = progress_sink(lambda percent: self._progress(job, info, percent))
            try:
                await handler(payload)
            except BaseException as error:
                await beat.stop()
                _plan_retry(job, options, error)
                raise
            finally:
                await beat.stop()
                reset_progress_sink(token)

        return run

    async def _progress(self, job: Job, info: JobInfo, percent: int) -> None:
        try:
            await job.update(progress=percent / 100)
        except Exception as error:  # progress is a gauge; losing one reading is harmless
            log.warning("job %s: progress not stored: %s", job.key, error)
        await self._queue.observer.progressed(info, percent)


async def _report_outcome(
    queue: SaqJobQueue, job: Job, options: QueueOptions, error: BaseException | None
) -> None:
    """Tell the queue's observer how the attempt ended, by the status SAQ gave the job."""
    observer = queue.observer
    info = _info(queue, job, options)
    if job.status is Status.COMPLETE:
        await observer.succeeded(info)
    elif job.status is Status.QUEUED:  # SAQ retries it
        await observer.failed(info, _failure(job, error), True)
    elif job.status in (Status.FAILED, Status.ABORTED):
        retryable = error is not None and is_retryable(error)
        await observer.failed(info, _failure(job, error), retryable)


class _Heartbeat:
    """Touches the job every third of its heartbeat while its handler runs."""

    def __init__(self, job: Job, heartbeat_seconds: int) -> None:
        self._job = job
        self._interval = heartbeat_seconds / 3
        self._stopped = asyncio.Event()
        self._task = asyncio.create_task(self._beat())

    async def _beat(self) -> None:
        while not self._stopped.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), self._interval)
            if self._stopped.is_set():
                return
            try:
                await self._job.update()
            except Exception as error:  # one lost beat is not yet a lost job: keep beating
                log.warning("job %s: heartbeat not stored: %s", self._job.key, error)

    async def stop(self) -> None:
        """Stop beating; returns once no beat is in flight (so none lands after the outcome)."""
        self._stopped.set()
        await asyncio.gather(self._task, return_exceptions=True)


def _plan_retry(job: Job, options: QueueOptions, error: BaseException) -> None:
    """Set how SAQ retries the attempt that just failed with `error`."""
    if isinstance(error, asyncio.CancelledError):
        timed_out = job.timeout and saq_now() - job.started >= job.timeout * 1000
        if not timed_out:
            return  # the worker is stopping: another worker takes the job over at once
    elif not is_retryable(error):
        job.retries = job.attempts  # the core refused: the same job would be refused again
        return
    job.retry_delay = options.retry.delay_after(max(job.attempts, 1)).total_seconds()
    job.retry_backoff = False


def _info(queue: SaqJobQueue, job: Job, options: QueueOptions) -> JobInfo:
    return JobInfo(
        queue=options.name,
        name=job.function,
        key=queue.job_key(job.key),
        payload=dict(job.kwargs or {}),
        max_attempts=job.retries,
        attempt=job.attempts,
        previous_error=_last_line(job.error),
    )


def _failure(job: Job, error: BaseException | None) -> str:
    if isinstance(error, TimeoutError):
        return f"timed out after {job.timeout}s"
    if error is not None:
        return describe(error)
    return _last_line(job.error) or f"job ended {job.status.value}"


def _last_line(text: str | None) -> str | None:
    """The last line of a traceback: the error itself."""
    if not text or not text.strip():
        return None
    return text.strip().splitlines()[-1]
