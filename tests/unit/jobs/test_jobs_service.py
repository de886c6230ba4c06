"""Job-run use cases over the in-memory unit of work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from adapters.clock import FixedClock
from adapters.ids import SequentialIdGenerator
from adapters.persistence.memory.jobs import JobsTables
from adapters.persistence.memory.store import InMemoryDatabase
from adapters.persistence.memory.uow import InMemoryUnitOfWorkBase
from platform_core.jobs.model import Backoff, JobEvent, JobRun, JobStatus, RetryPolicy
from platform_core.jobs.ports import JobRunFilter
from platform_core.jobs.service import (
    CancelJob,
    RecordJobEnqueued,
    RecordJobFailed,
    RecordJobProgress,
    RecordJobStarted,
    RecordJobSucceeded,
    RetryJob,
    cancel_job,
    get_job_run,
    list_job_runs,
    record_job_enqueued,
    record_job_failed,
    record_job_progress,
    record_job_started,
    record_job_succeeded,
    retry_job,
)
from platform_core.shared.errors import (
    ConflictError,
    IllegalTransition,
    NotFoundError,
    ValidationError,
)

START = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


class UoW(JobsTables, InMemoryUnitOfWorkBase):
    pass


@attrs.define
class Deps:
    clock: FixedClock = attrs.field(factory=lambda: FixedClock(START))
    ids: SequentialIdGenerator = attrs.field(factory=SequentialIdGenerator)
    db: InMemoryDatabase = attrs.field(factory=InMemoryDatabase)

    def uow(self) -> UoW:
        return UoW(self.db, self.ids)

    def event_types(self) -> list[str]:
        return [stored.event.type for stored in self.db.events]

    def stored(self, job_id: str) -> JobRun:
        job: JobRun = self.db.table("job_runs")[job_id]
        return job


@pytest.fixture
def deps() -> Deps:
    return Deps()


def enqueue_command(key: str = "outbox_1", **overrides: Any) -> RecordJobEnqueued:
    arguments: dict[str, Any] = {
        "queue": "shipments",
        "job_name": "refresh_tracking",
        "job_key": key,
        "payload": {"shipment_id": "shp_1"},
        "related_entity_type": "shipment",
        "related_entity_id": "shp_1",
    }
    return RecordJobEnqueued(**{**arguments, **overrides})


async def enqueued(deps: Deps, key: str = "outbox_1", **overrides: Any) -> JobRun:
    return await record_job_enqueued(deps, enqueue_command(key, **overrides))


async def started(deps: Deps, key: str = "outbox_1", **overrides: Any) -> JobRun:
    await enqueued(deps, key, **overrides)
    return await record_job_started(deps, RecordJobStarted(key))


# -- enqueue ----------------------------------------------------------------------------------


async def test_enqueue_stores_the_run_with_its_queue_policy_and_records_job_queued(
    deps: Deps,
) -> None:
    """The run is stored with the shipments queue's policy and job.queued goes to the outbox."""
    job = await record_job_enqueued(deps, enqueue_command(correlation_id="req_1"))
    assert deps.stored(job.id) == job
    assert job.id == "job_000001"
    assert job.enqueued_at == START
    assert (job.retry_policy.backoff, job.max_attempts) == (Backoff.LINEAR, 3)
    [stored] = deps.db.events
    assert stored.event.type == JobEvent.QUEUED
    assert stored.event.correlation_id == "req_1"
    assert len(deps.db.outbox) == 1


async def test_recording_the_same_key_twice_is_one_run(deps: Deps) -> None:
    """The queue reports at least once: a repeated key returns the first run, no new event."""
    first = await enqueued(deps)
    again = await enqueued(deps)
    assert again == first
    assert deps.event_types() == [JobEvent.QUEUED]
    assert len(deps.db.table("job_runs")) == 1


async def test_a_key_reused_by_another_job_is_a_conflict(deps: Deps) -> None:
    """A key already naming a run of another job is refused rather than silently merged."""
    await enqueued(deps)
    with pytest.raises(ConflictError) as error:
        await enqueued(deps, job_name="other_job")
    assert error.value.details["field"] == "job_key"


async def test_max_attempts_overrides_the_queue_budget(deps: Deps) -> None:
    """Automation passes its scenario's attempts; the queue's backoff is kept."""
    job = await enqueued(deps, queue="automation", job_name="run_step", max_attempts=5)
    assert (job.max_attempts, job.retry_policy.base_delay_seconds) == (5, 600)


async def test_an_explicit_policy_allows_a_custom_queue(deps: Deps) -> None:
    """A queue without defaults is fine when the command brings its own policy."""
    policy = RetryPolicy(Backoff.FIXED, 30, 30, 2)
    job = await enqueued(deps, queue="reports", retry_policy=policy)
    assert job.retry_policy == policy


async def test_a_custom_queue_without_a_policy_is_refused(deps: Deps) -> None:
    """No defaults and no policy: validation error on queue, nothing stored or recorded."""
    with pytest.raises(ValidationError) as error:
        await enqueued(deps, queue="reports")
    assert error.value.details["field"] == "queue"
    assert deps.db.table("job_runs") == {}
    assert deps.db.events == []


async def test_half_a_related_entity_is_refused(deps: Deps) -> None:
    """A related entity type without its id is a validation error."""
    with pytest.raises(ValidationError):
        await enqueued(deps, related_entity_id=None)
    assert deps.db.table("job_runs") == {}


async def test_two_transactions_cannot_claim_the_same_key(deps: Deps) -> None:
    """Concurrent recordings of one key: the second commit is refused, one run remains."""
    runs = []
    for job_id in ("job_a", "job_b"):
        job, _ = JobRun.enqueue(
            job_id, "orders", "sync", "key_1", RetryPolicy(Backoff.FIXED, 1, 1, 1), START
        )
        runs.append(job)
    first, second = deps.uow(), deps.uow()
    async with first, second:
        await first.job_runs.add(runs[0])
        await second.job_runs.add(runs[1])
        await first.commit()
        with pytest.raises(ConflictError):
            await second.commit()
    assert list(deps.db.table("job_runs")) == ["job_a"]


# -- worker reports ---------------------------------------------------------------------------


async def test_a_run_goes_from_start_through_progress_to_completion(deps: Deps) -> None:
    """Start, progress and success are stored in turn, each committed with its version."""
    await started(deps)
    deps.clock.advance(timedelta(seconds=30))
    job = await record_job_progress(deps, RecordJobProgress("outbox_1", 60))
    assert (job.progress, job.version) == (60, 3)
    job = await record_job_succeeded(deps, RecordJobSucceeded("outbox_1", correlation_id="c"))
    assert deps.stored(job.id) == job
    assert (job.status, job.progress, job.version) == (JobStatus.COMPLETED, 100, 4)
    assert deps.event_types() == [JobEvent.QUEUED, JobEvent.STARTED, JobEvent.COMPLETED]
    assert deps.db.events[-1].event.correlation_id == "c"


async def test_failures_retry_with_the_queue_backoff_then_fail(deps: Deps) -> None:
    """Orders retry exponentially from 60 s; the fifth failed attempt fails the run."""
    await enqueued(deps, queue="orders", job_name="send_checkout")
    waits = []
    for _ in range(5):
        await record_job_started(deps, RecordJobStarted("outbox_1"))
        job = await record_job_failed(deps, RecordJobFailed("outbox_1", "stripe timeout"))
        if job.scheduled_for is not None:
            waits.append((job.scheduled_for - deps.clock.now()).total_seconds())
            deps.clock.set(job.scheduled_for)
    assert waits == [60, 120, 240, 480]
    assert (job.status, job.attempts, job.last_error) == (JobStatus.FAILED, 5, "stripe timeout")
    assert deps.event_types().count(JobEvent.RETRY_SCHEDULED) == 4
    assert deps.event_types()[-1] == JobEvent.FAILED


async def test_a_non_retryable_failure_fails_the_run_at_once(deps: Deps) -> None:
    """A failure the worker marks non-retryable skips the remaining attempts."""
    await started(deps)
    job = await record_job_failed(
        deps, RecordJobFailed("outbox_1", "unknown shipment", retryable=False)
    )
    assert (job.status, job.attempts) == (JobStatus.FAILED, 1)


async def test_progress_out_of_range_changes_nothing(deps: Deps) -> None:
    """A bad progress value is a validation error and the stored run is unchanged."""
    job = await started(deps)
    with pytest.raises(ValidationError):
        await record_job_progress(deps, RecordJobProgress("outbox_1", 150))
    assert deps.stored(job.id) == job


async def test_reports_for_an_unknown_key_are_not_found(deps: Deps) -> None:
    """The worker reporting on a key never recorded gets NotFoundError."""
    with pytest.raises(NotFoundError):
        await record_job_started(deps, RecordJobStarted("missing"))


async def test_starting_a_running_job_is_an_illegal_transition(deps: Deps) -> None:
    """A second start of an active run is refused and nothing is recorded."""
    job = await started(deps)
    with pytest.raises(IllegalTransition):
        await record_job_started(deps, RecordJobStarted("outbox_1"))
    assert deps.stored(job.id) == job
    assert deps.event_types() == [JobEvent.QUEUED, JobEvent.STARTED]


# -- Ops actions ------------------------------------------------------------------------------


async def test_retrying_a_failed_run_requeues_it(deps: Deps) -> None:
    """A failed run goes back to queued with a fresh budget; job.queued marks the retry."""
    await started(deps)
    job = await record_job_failed(deps, RecordJobFailed("outbox_1", "bad", retryable=False))
    job = await retry_job(deps, RetryJob(job.id, correlation_id="ops_1"))
    assert (job.status, job.attempts) == (JobStatus.QUEUED, 0)
    last = deps.db.events[-1].event
    assert (last.type, last.payload["manual_retry"], last.correlation_id) == (
        JobEvent.QUEUED,
        True,
        "ops_1",
    )


async def test_retrying_a_completed_run_is_refused(deps: Deps) -> None:
    """Completed is terminal: retry raises IllegalTransition and the run is unchanged."""
    await started(deps)
    job = await record_job_succeeded(deps, RecordJobSucceeded("outbox_1"))
    with pytest.raises(IllegalTransition):
        await retry_job(deps, RetryJob(job.id))
    assert deps.stored(job.id) == job


async def test_cancelling_a_queued_run(deps: Deps) -> None:
    """A queued run is cancelled with its reason and job.cancelled is recorded."""
    job = await enqueued(deps)
    job = await cancel_job(deps, CancelJob(job.id, reason="duplicate"))
    assert job.status is JobStatus.CANCELLED
    assert deps.db.events[-1].event.payload["reason"] == "duplicate"


async def test_cancelling_a_running_run_is_refused(deps: Deps) -> None:
    """An active run cannot be cancelled; the stored run stays active."""
    job = await started(deps)
    with pytest.raises(IllegalTransition):
        await cancel_job(deps, CancelJob(job.id))
    assert deps.stored(job.id).status is JobStatus.ACTIVE


async def test_unknown_job_ids_are_not_found(deps: Deps) -> None:
    """Ops actions and reads on an unknown id raise NotFoundError."""
    with pytest.raises(NotFoundError):
        await cancel_job(deps, CancelJob("job_missing"))
    with pytest.raises(NotFoundError):
        await get_job_run(deps, "job_missing")


# -- listing ----------------------------------------------------------------------------------


async def seed_runs(deps: Deps) -> list[JobRun]:
    runs = []
    for number, queue in enumerate(["orders", "shipments", "orders", "retarget", "orders"]):
        deps.clock.advance(timedelta(minutes=1))
        runs.append(await enqueued(deps, f"key_{number}", queue=queue, job_name=f"{queue}_job"))
    await record_job_started(deps, RecordJobStarted("key_2"))
    return runs


async def test_listing_filters_by_queue_and_status_newest_first(deps: Deps) -> None:
    """Filters combine; runs come newest first."""
    runs = await seed_runs(deps)
    page = await list_job_runs(deps, JobRunFilter(queue="orders"))
    assert [job.id for job in page.items] == [runs[4].id, runs[2].id, runs[0].id]
    page = await list_job_runs(deps, JobRunFilter(queue="orders", status=JobStatus.QUEUED))
    assert [job.id for job in page.items] == [runs[4].id, runs[0].id]
    assert page.total == 2


async def test_listing_filters_by_related_entity_and_job_name(deps: Deps) -> None:
    """A shipment's timeline finds its jobs; job name narrows further."""
    await seed_runs(deps)
    await enqueued(deps, "other", related_entity_id="shp_2")
    page = await list_job_runs(deps, JobRunFilter(related_entity_id="shp_2"))
    assert [job.job_key for job in page.items] == ["other"]
    page = await list_job_runs(deps, JobRunFilter(job_name="retarget_job"))
    assert [job.job_key for job in page.items] == ["key_3"]


async def test_listing_pages_through_all_runs(deps: Deps) -> None:
    """Limit and offset cut the list; total counts every match."""
    runs = await seed_runs(deps)
    first = await list_job_runs(deps, JobRunFilter(), limit=2)
    second = await list_job_runs(deps, JobRunFilter(), limit=2, offset=2)
    last = await list_job_runs(deps, JobRunFilter(), limit=2, offset=4)
    seen = [job.id for page in (first, second, last) for job in page.items]
    assert seen == [job.id for job in reversed(runs)]
    assert (first.total, last.total, len(last.items)) == (5, 5, 1)


@pytest.mark.parametrize(("limit", "offset", "field"), [(0, 0, "limit"), (501, 0, "limit"),
                                                         (10, -1, "offset")])  # fmt: skip
async def test_listing_refuses_bad_pagination(
    deps: Deps, limit: int, offset: int, field: str
) -> None:
    """Page size is 1..500 and offset is not negative."""
    with pytest.raises(ValidationError) as error:
        await list_job_runs(deps, JobRunFilter(), limit=limit, offset=offset)
    assert error.value.details["field"] == field
