"""SAQ's Redis queue with a sweep that leaves healthy jobs alone.

SAQ 0.26's Redis sweep takes every job in the active list whose status is not "active" for
lost. But a worker moves a job into the active list first and marks it active a moment
later, so a sweep landing in between aborts and retries a job that is running fine, and
retries it even when it finishes meanwhile: the job runs twice (tobymao/saq#277, #124).

This sweep differs in two ways: a job not yet marked active is swept only if it is still so
at the next sweep (a worker that died right after taking it), and a job that finished while
the sweep waited for its abort is left finished. Jobs marked active are swept as SAQ does:
when their timeout or heartbeat has run out.
"""

from __future__ import annotations

import logging
from typing import Any

from saq import Job, Status
from saq.queue.redis import RedisQueue

log = logging.getLogger(__name__)

# Takes the sweep lock (one sweeper per queue and lock period) and reads the active jobs.
_READ_ACTIVE = """
if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('SETEX', KEYS[1], ARGV[1], 1)
    local id_jobs = {}
    for i, v in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
        id_jobs[i] = {v, redis.call('GET', v)}
    end
    return id_jobs
end
return {}
"""

_RUNNING = frozenset({Status.ACTIVE, Status.ABORTING})
_FINISHED_ON_ITS_OWN = frozenset({Status.COMPLETE, Status.FAILED})


class SweepSafeRedisQueue(RedisQueue):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_active: Any = None
        # Jobs seen in the active list without being marked active, at the last sweep.
        self._suspects: set[str] = set()

    async def sweep(self, lock: int = 60, abort: float = 5.0) -> list[str]:
        if self._read_active is None:
            self._read_active = self.redis.register_script(_READ_ACTIVE)
        id_jobs = await self._read_active(
            keys=[self.namespace("sweep"), self.namespace("active")], args=[lock]
        )
        suspects: set[str] = set()
        swept: list[str] = []
        for raw_id, raw_job in id_jobs:
            job_id = raw_id.decode("utf-8")
            job = self.deserialize(raw_job)
            if job is None:
                await self._forget(raw_id)
                swept.append(job_id)
            elif job.status in _RUNNING and not job.stuck:
                continue
            elif job.status not in _RUNNING and job_id not in self._suspects:
                suspects.add(job_id)  # maybe just taken by a worker: look again next sweep
            else:
                await self._sweep_job(job, abort)
                swept.append(job_id)
        self._suspects = suspects
        return swept

    async def _sweep_job(self, job: Job, abort: float) -> None:
        log.info("sweeping %s", job.info())
        await self.abort(job, error=self.swept_error_message)
        try:
            await job.refresh(abort)
        except TimeoutError:
            log.info("could not abort job %s (its worker is gone)", job.id)
        if job.status in _FINISHED_ON_ITS_OWN:
            return
        if job.retryable:
            await self.retry(job, error=self.swept_error_message)
        else:
            await self.finish(job, Status.ABORTED, error=self.swept_error_message)

    async def _forget(self, raw_id: bytes) -> None:
        """Drop the id of a job whose data has expired from the active and incomplete sets."""
        job_id = raw_id.decode("utf-8")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lrem(self.namespace("active"), 0, job_id)
            pipe.zrem(self.namespace("incomplete"), job_id)
            await pipe.execute()
