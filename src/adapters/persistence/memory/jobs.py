"""In-memory job-run repository and the jobs tables mixin of the in-memory unit of work."""

from __future__ import annotations

from adapters.persistence.memory.store import InMemoryRepository, Transaction
from platform_core.jobs.model import JobRun
from platform_core.jobs.ports import JobRunFilter
from platform_core.shared.errors import NotFoundError

JOB_KEY_SCOPE = "job_key"


class InMemoryJobRunRepository(InMemoryRepository[JobRun]):
    table = "job_runs"
    kind = "job_run"

    async def add(self, aggregate: JobRun) -> JobRun:
        # A job key names one run; the claim is checked again at commit, so two transactions
        # recording the same key cannot both succeed.
        self._tx.claim_unique(JOB_KEY_SCOPE, aggregate.job_key, aggregate.id)
        return await super().add(aggregate)

    async def find_by_key(self, job_key: str) -> JobRun | None:
        found = self._where(lambda job: job.job_key == job_key)
        return found[0] if found else None

    async def get_by_key(self, job_key: str) -> JobRun:
        found = await self.find_by_key(job_key)
        if found is None:
            raise NotFoundError(
                f"job run with key {job_key!r} not found", {"kind": self.kind, "job_key": job_key}
            )
        return found

    async def list(self, filters: JobRunFilter, limit: int, offset: int) -> list[JobRun]:
        runs = self._where(filters.matches)
        runs.sort(key=lambda job: (job.enqueued_at, job.id), reverse=True)
        return runs[offset : offset + limit]

    async def count(self, filters: JobRunFilter) -> int:
        return len(self._where(filters.matches))


class JobsTables:
    """Mixin for the in-memory unit of work: the jobs context's repositories."""

    _tx: Transaction

    @property
    def job_runs(self) -> InMemoryJobRunRepository:
        return InMemoryJobRunRepository(self._tx)
