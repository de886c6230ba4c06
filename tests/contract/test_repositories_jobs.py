"""Contract of the job-run repository on every adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

import attrs
import pytest
from hypothesis import given
from tests.contract.conftest import Backend
from tests.support.contract import ROUND_TRIP, unique

from platform_core.jobs.model import JobRun, JobStatus, retry_policy_for
from platform_core.jobs.ports import JobRunFilter, JobsUnitOfWork
from platform_core.shared.errors import ConflictError, NotFoundError, StaleVersion
from platform_core.shared.events import JsonValue
from platform_core.testing.jobs import job_runs

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ANY = JobRunFilter()


def jobs_uow(backend: Backend) -> JobsUnitOfWork:
    """The backend's unit of work, seen through the jobs port (it holds every context)."""
    return cast(JobsUnitOfWork, backend.uow())


async def add_all(backend: Backend, *jobs: JobRun) -> None:
    """Add `jobs` in one unit of work and commit it."""
    async with jobs_uow(backend) as uow:
        for job in jobs:
            await uow.job_runs.add(job)
        await uow.commit()


def job(
    job_id: str,
    queue: str = "orders",
    *,
    key: str | None = None,
    name: str = "orders.send_checkout",
    shipment_id: str | None = None,
    minutes: int = 0,
) -> JobRun:
    enqueued, _ = JobRun.enqueue(
        job_id, queue, name, key or unique("key"), retry_policy_for(queue),
        AT + timedelta(minutes=minutes), {"order_id": "ord_1"},
        "shipment" if shipment_id else None, shipment_id,
    )  # fmt: skip
    return enqueued


async def assert_payload_kept(backend: Backend, payload: dict[str, JsonValue]) -> None:
    stored = attrs.evolve(job("job_1"), payload=payload)
    await add_all(backend, stored)
    async with jobs_uow(backend) as uow:
        assert (await uow.job_runs.get("job_1")).payload == payload


def started(queued: JobRun) -> JobRun:
    running, _ = queued.start(AT + timedelta(hours=1))
    return running


class TestRoundTrip:
    @ROUND_TRIP
    @given(drawn=job_runs())
    async def test_job_run(self, backend: Backend, drawn: JobRun) -> None:
        """A run in any status, with its retry policy and JSON payload, is stored and read
        back whole, then updated."""
        stored = attrs.evolve(drawn, id=unique("job"), job_key=unique("key"))
        changed = attrs.evolve(
            stored, last_error="worker lost", scheduled_for=AT, payload={"retry": [1, 2.5]}
        )
        async with jobs_uow(backend) as uow:
            await uow.job_runs.add(stored)
            await uow.commit()
        async with jobs_uow(backend) as uow:
            assert await uow.job_runs.get(stored.id) == stored
            updated = await uow.job_runs.update(changed)
            await uow.commit()
        assert updated == attrs.evolve(changed, version=2)
        async with jobs_uow(backend) as uow:
            assert await uow.job_runs.get(stored.id) == updated
            with pytest.raises(StaleVersion):
                await uow.job_runs.update(changed)


class TestJobRuns:
    async def test_found_by_key_and_a_key_names_one_run(self, backend: Backend) -> None:
        """find_by_key/get_by_key find the run of a key (None/NotFoundError without one); a
        second run under a used key is a conflict."""
        first = job("job_1", key="orders:ord_1:1")
        await add_all(backend, first)
        with pytest.raises(ConflictError):
            await add_all(backend, job("job_2", key="orders:ord_1:1"))
        with pytest.raises(ConflictError):
            await add_all(backend, job("job_3", key="k"), job("job_4", key="k"))
        async with jobs_uow(backend) as uow:
            runs = uow.job_runs
            assert await runs.find_by_key("orders:ord_1:1") == first
            assert await runs.get_by_key("orders:ord_1:1") == first
            assert await runs.find_by_key("k") is None
            with pytest.raises(NotFoundError):
                await runs.get_by_key("k")

    async def test_list_is_newest_first_and_pages(self, backend: Backend) -> None:
        """Runs come newest enqueued first, ties by id descending; limit and offset page."""
        await add_all(
            backend,
            job("job_a", minutes=1),
            job("job_b", minutes=3),
            job("job_c", minutes=3),
            job("job_d", minutes=2),
        )
        async with jobs_uow(backend) as uow:
            runs = uow.job_runs
            every = await runs.list(ANY, 10, 0)
            page = await runs.list(ANY, 2, 1)
            assert await runs.list(ANY, 10, 4) == []
            assert await runs.count(ANY) == 4
        assert [j.id for j in every] == ["job_c", "job_b", "job_d", "job_a"]
        assert [j.id for j in page] == ["job_b", "job_d"]

    async def test_list_and_count_filter(self, backend: Backend) -> None:
        """Queue, status, job name and related entity must all match, in list and count."""
        await add_all(
            backend,
            job("job_1", minutes=1),
            started(job("job_2", minutes=2)),
            job("job_3", "shipments", name="shipments.poll", shipment_id="shp_1", minutes=3),
            started(job("job_4", "shipments", name="shipments.poll", shipment_id="shp_2")),
        )
        expectations = {
            JobRunFilter(queue="shipments"): ["job_3", "job_4"],
            JobRunFilter(status=JobStatus.ACTIVE): ["job_2", "job_4"],
            JobRunFilter(queue="orders", status=JobStatus.QUEUED): ["job_1"],
            JobRunFilter(job_name="shipments.poll"): ["job_3", "job_4"],
            JobRunFilter(related_entity_type="shipment"): ["job_3", "job_4"],
            JobRunFilter(related_entity_type="shipment", related_entity_id="shp_2"): ["job_4"],
            JobRunFilter(queue="retarget"): [],
        }
        async with jobs_uow(backend) as uow:
            runs = uow.job_runs
            for filters, expected in expectations.items():
                assert sorted(j.id for j in await runs.list(filters, 10, 0)) == expected
                assert await runs.count(filters) == len(expected)


class TestJsonPayloadsKept:
    """Free-form JSON comes back exactly as written on every store (PostgreSQL keeps it as
    `json` text: JSONB would refuse a NUL character and turn large floats into decimals)."""

    async def test_payload_text_may_hold_a_nul_character(self, backend: Backend) -> None:
        """A payload string (or key) with a NUL character is stored and read back."""
        await assert_payload_kept(backend, {"note": "a\x00b", "k\x00": 1})

    async def test_payload_floats_keep_their_type_and_value(self, backend: Backend) -> None:
        """Large floats come back as the same floats, not as ints."""
        await assert_payload_kept(backend, {"big": 5.987092387319402e16, "huge": 1e300})
