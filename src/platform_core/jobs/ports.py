"""Ports of the jobs context: the job-run repository, its unit of work and deps."""

from __future__ import annotations

from typing import Protocol

import attrs

from platform_core.jobs.model import JobRun, JobStatus
from platform_core.ports.core import Repository, ServiceDeps, UnitOfWork


@attrs.frozen
class JobRunFilter:
    """Filters of the job-run list; `None` means any."""

    queue: str | None = None
    status: JobStatus | None = None
    job_name: str | None = None
    related_entity_type: str | None = None
    related_entity_id: str | None = None

    def matches(self, job: JobRun) -> bool:
        return (
            (self.queue is None or job.queue == self.queue)
            and (self.status is None or job.status == self.status)
            and (self.job_name is None or job.job_name == self.job_name)
            and (
                self.related_entity_type is None
                or job.related_entity_type == self.related_entity_type
            )
            and (self.related_entity_id is None or job.related_entity_id == self.related_entity_id)
        )


class JobRunRepository(Repository[JobRun], Protocol):
    """Job runs, found by id or by the queue's job key, or listed newest first."""

    async def find_by_key(self, job_key: str) -> JobRun | None: ...

    async def get_by_key(self, job_key: str) -> JobRun: ...

    async def list(self, filters: JobRunFilter, limit: int, offset: int) -> list[JobRun]:
        """Runs matching `filters`, newest `enqueued_at` first (ties by id, descending)."""
        ...

    async def count(self, filters: JobRunFilter) -> int: ...


class JobsUnitOfWork(UnitOfWork, Protocol):
    """A transaction over job runs and the events their changes caused."""

    @property
    def job_runs(self) -> JobRunRepository: ...


class JobsDeps(ServiceDeps, Protocol):
    """What the jobs use cases need: clock, ids and a unit of work over job runs."""

    def uow(self) -> JobsUnitOfWork: ...
