"""Table, mapper and repository of job runs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Index, Integer, String, Table, Text

from adapters.persistence.sql.mapper import RowMapper
from adapters.persistence.sql.metadata import metadata
from adapters.persistence.sql.repository import SqlRepository
from adapters.persistence.sql.session import SqlSession
from adapters.persistence.sql.types import Instant, Json
from platform_core.jobs.model import JobRun
from platform_core.jobs.ports import JobRunFilter
from platform_core.shared.errors import NotFoundError

job_runs = Table(
    "job_runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("queue", String(50), nullable=False),
    Column("job_name", String(100), nullable=False),
    Column("job_key", String(255), nullable=False, unique=True),
    Column("retry_policy", Json, nullable=False),
    Column("enqueued_at", Instant, nullable=False),
    Column("payload", Json, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("progress", Integer, nullable=False),
    Column("last_error", Text),
    Column("related_entity_type", String(50)),
    Column("related_entity_id", String(64)),
    Column("scheduled_for", Instant),
    Column("started_at", Instant),
    Column("finished_at", Instant),
    Column("version", Integer, nullable=False),
    # The operations list: newest first by queue and/or status, or for one entity.
    Index(None, "enqueued_at", "id"),
    Index(None, "queue", "status", "enqueued_at", "id"),
    Index(None, "status", "enqueued_at", "id"),
    Index(None, "related_entity_type", "related_entity_id"),
)


def _conditions(filters: JobRunFilter) -> list[Any]:
    c = job_runs.c
    wanted = {
        c.queue: filters.queue,
        c.status: filters.status.value if filters.status is not None else None,
        c.job_name: filters.job_name,
        c.related_entity_type: filters.related_entity_type,
        c.related_entity_id: filters.related_entity_id,
    }
    return [column == value for column, value in wanted.items() if value is not None]


class SqlJobRunRepository(SqlRepository[JobRun]):
    mapper = RowMapper(JobRun, job_runs)
    kind = "job_run"

    def unique_details(self, aggregate: JobRun) -> dict[str, Any]:
        return {"job_key": aggregate.job_key}

    async def find_by_key(self, job_key: str) -> JobRun | None:
        return await self._first(job_runs.c.job_key == job_key)

    async def get_by_key(self, job_key: str) -> JobRun:
        found = await self.find_by_key(job_key)
        if found is None:
            raise NotFoundError(
                f"job run with key {job_key!r} not found", {"kind": self.kind, "job_key": job_key}
            )
        return found

    async def list(self, filters: JobRunFilter, limit: int, offset: int) -> list[JobRun]:
        return await self._where(
            *_conditions(filters),
            order_by=(job_runs.c.enqueued_at.desc(), job_runs.c.id.desc()),
            limit=limit,
            offset=offset,
        )

    async def count(self, filters: JobRunFilter) -> int:
        return await self._count(*_conditions(filters))


class JobsTables:
    """The job-run repository over the unit of work's session."""

    _session: SqlSession

    @property
    def job_runs(self) -> SqlJobRunRepository:
        return SqlJobRunRepository(self._session)
