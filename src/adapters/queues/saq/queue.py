"""SaqJobQueue: the JobQueue port over SAQ, one SAQ queue per queue name, on Redis or PostgreSQL.

The backend is chosen by URL (``redis://``, ``rediss://``, ``postgresql://``); a SQLAlchemy
style ``postgresql+psycopg://`` URL is accepted too, so the queue can share the database URL.
Every job is enqueued under the caller's key (SAQ refuses a key still queued, scheduled or
running), under its task name, with its queue's attempts, timeout and heartbeat. A
`namespace` prefixes every SAQ queue name and job key, so deployments (or test runs) can
share a server: SAQ's PostgreSQL queue keeps job keys unique across all its queues.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from saq import Job, Queue, Status
from saq.job import TERMINAL_STATUSES

from adapters.queues.observer import JobInfo, JobObserver, SilentObserver
from adapters.queues.options import QueueOptions, options_for, queue_options
from adapters.queues.saq.redis import SweepSafeRedisQueue
from platform_core.ports.core import Clock
from platform_core.shared.errors import ServiceUnavailable, ValidationError

log = logging.getLogger(__name__)

REDIS_SCHEMES = frozenset({"redis", "rediss"})
POSTGRES_SCHEMES = frozenset({"postgres", "postgresql"})

# How long SAQ keeps a finished job (its status, error and attempts) for inspection.
FINISHED_JOB_TTL_SECONDS = 24 * 60 * 60
PING_TIMEOUT_SECONDS = 2.0
CANCELLED = "cancelled"

# Connections SAQ's PostgreSQL queue holds beyond one per concurrently running job: its LISTEN
# connection, dequeue, sweep and the upkeep writes.
_PG_SPARE_CONNECTIONS = 4


def queue_backend(url: str) -> str:
    """``redis`` or ``postgresql`` for a queue URL; ValidationError for anything else."""
    scheme = urlsplit(url).scheme.lower().split("+", 1)[0]
    if scheme in REDIS_SCHEMES:
        return "redis"
    if scheme in POSTGRES_SCHEMES:
        return "postgresql"
    raise ValidationError(
        f"queue URL {redact(url)!r} is neither redis:// nor postgresql://",
        {"field": "queue_url"},
    )


def redact(url: str) -> str:
    """`url` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _libpq_url(url: str) -> str:
    """A ``postgresql+driver://`` URL as libpq reads it (psycopg's pool under SAQ)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql"))


class SaqJobQueue:
    """JobQueue on SAQ. Connects on first use; `close` releases every connection."""

    def __init__(
        self,
        url: str,
        clock: Clock,
        options: Mapping[str, QueueOptions] | None = None,
        observer: JobObserver | None = None,
        finished_ttl_seconds: int = FINISHED_JOB_TTL_SECONDS,
        namespace: str = "",
    ) -> None:
        self.backend = queue_backend(url)
        self.url = url
        self.namespace = namespace
        self.options: dict[str, QueueOptions] = dict(options or queue_options())
        self._clock = clock
        self._observer: JobObserver = observer or SilentObserver()
        self._ttl = finished_ttl_seconds
        self._queues = {name: self._saq_queue(url, opts) for name, opts in self.options.items()}
        self._connected = False
        self._connecting = asyncio.Lock()

    def _saq_queue(self, url: str, options: QueueOptions) -> Queue:
        name = self.namespace + options.name
        if self.backend == "redis":
            return SweepSafeRedisQueue.from_url(url, name=name)
        return Queue.from_url(
            _libpq_url(url),
            name=name,
            min_size=1,
            max_size=options.concurrency + _PG_SPARE_CONNECTIONS,
        )

    @property
    def observer(self) -> JobObserver:
        return self._observer

    def attach(self, observer: JobObserver) -> None:
        self._observer = observer

    def saq_key(self, key: str) -> str:
        """The key SAQ stores the job `key` under."""
        return self.namespace + key

    def job_key(self, saq_key: str) -> str:
        """The caller's key of a job SAQ stores under `saq_key`."""
        return saq_key.removeprefix(self.namespace)

    def saq_queue(self, name: str) -> Queue:
        """The SAQ queue behind `name` (the worker runs it)."""
        options_for(self.options, name)
        return self._queues[name]

    async def connect(self) -> None:
        """Open the backend's connections (and create SAQ's tables on PostgreSQL)."""
        async with self._connecting:
            if self._connected:
                return
            # One after the other: SAQ's PostgreSQL queue creates its tables under an advisory
            # lock and the losers of that lock return at once, before the tables exist.
            for queue in self._queues.values():
                await queue.connect()
            self._connected = True

    async def enqueue(
        self,
        queue: str,
        job: str,
        payload: Mapping[str, Any],
        *,
        key: str,
        delay_seconds: float = 0,
    ) -> None:
        options = options_for(self.options, queue)
        await self.connect()
        scheduled_for = self._clock.now() + timedelta(seconds=delay_seconds)
        delayed = delay_seconds > 0
        # Recorded first: a worker may start the job the moment it is stored. Recording is
        # idempotent per key, so a duplicate enqueue that SAQ refuses records nothing new.
        await self._observer.enqueued(
            JobInfo(
                queue=queue,
                name=job,
                key=key,
                payload=payload,
                max_attempts=options.max_attempts,
                scheduled_for=scheduled_for if delayed else None,
            )
        )
        saq_job = Job(
            function=job,
            kwargs=dict(payload),
            key=self.saq_key(key),
            timeout=options.timeout_seconds,
            heartbeat=options.heartbeat_seconds,
            retries=options.max_attempts,
            # 0 so that a job swept from a dead worker runs again at once; a job that failed
            # gets its queue's backoff from the worker when it fails (see SaqWorkers).
            retry_delay=0.0,
            ttl=self._ttl,
            scheduled=_epoch(scheduled_for) if delayed else 0,
        )
        try:
            stored = await self._store(self._queues[queue], saq_job)
        except (TypeError, ValueError):
            raise  # a payload the backend cannot store: the caller's mistake, not an outage
        except Exception as error:
            raise ServiceUnavailable(
                f"the {self.backend} queue cannot be reached", {"queue": queue}
            ) from error
        if stored is None:
            log.debug("job %s already on queue %s; not enqueued again", key, queue)

    async def _store(self, saq_queue: Queue, job: Job) -> Job | None:
        stored = await saq_queue.enqueue(job)
        if stored is not None or self.backend != "postgresql":
            return stored
        # SAQ's PostgreSQL queue takes a finished job's key again only when the new job is
        # scheduled later than the old one, to the second: a retry by hand in the same second
        # as the failure would be refused. The key is free once its job finished: take it.
        finished = await saq_queue.job(job.key)
        if finished is None or finished.status not in TERMINAL_STATUSES:
            return None
        job.scheduled = max(job.scheduled, finished.scheduled + 1)
        return await saq_queue.enqueue(job)

    async def cancel(self, queue: str, key: str) -> bool:
        saq_queue = self._queues[options_for(self.options, queue).name]
        await self.connect()
        job = await saq_queue.job(self.saq_key(key))
        if job is None or job.status not in (Status.NEW, Status.QUEUED):
            return False
        await saq_queue.abort(job, error=CANCELLED)
        left = await saq_queue.job(job.key)
        if left is not None and left.status is Status.ABORTING:
            # A job waiting for its scheduled time is not in the ready list that `abort`
            # empties, so SAQ leaves it "aborting" for a worker that never has it: close it.
            await saq_queue.finish(left, Status.ABORTED, error=CANCELLED)
        return True

    async def ping(self) -> bool:
        try:
            async with asyncio.timeout(PING_TIMEOUT_SECONDS):
                await self.connect()
                first = next(iter(self._queues.values()))
                await first.count("queued")
        except Exception as error:  # readiness reports any failure as "not ready"
            log.warning("queue %s does not answer: %s", redact(self.url), error)
            return False
        return True

    async def depth(self) -> dict[str, int]:
        await self.connect()
        return {name: await queue.count("queued") for name, queue in self._queues.items()}

    async def close(self) -> None:
        for queue in self._queues.values():
            try:
                await queue.disconnect()
            except Exception as error:  # closing must release the rest whatever one does
                log.warning("closing queue %s: %s", queue.name, error)
        self._connected = False


def _epoch(moment: datetime) -> int:
    # SAQ schedules in whole epoch seconds; rounding up never runs a job early.
    whole = int(moment.timestamp())
    return whole if whole == moment.timestamp() else whole + 1
