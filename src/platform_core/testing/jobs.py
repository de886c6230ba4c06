"""Strategies for jobs: retry policies, job payloads and job runs in any reachable state."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from platform_core.jobs.model import (
    JOB_RUN_MACHINE,
    QUEUE_DEFAULTS,
    Backoff,
    JobRun,
    JobStatus,
    JobTrigger,
    RetryPolicy,
)
from platform_core.shared.events import DomainEvent, JsonValue
from platform_core.testing.shared import ids, instants

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)


def retry_policies(min_attempts: int = 1, max_attempts: int = 10) -> st.SearchStrategy[RetryPolicy]:
    """Valid policies of every backoff kind, with `min_attempts` to `max_attempts` attempts."""

    def build(backoff: Backoff, base: int, extra: int, attempts: int) -> RetryPolicy:
        return RetryPolicy(backoff, base, base + extra, attempts)

    return st.builds(
        build,
        st.sampled_from(Backoff),
        st.integers(1, 3_600),
        st.integers(0, 86_400),
        st.integers(min_attempts, max_attempts),
    )


def queue_names() -> st.SearchStrategy[str]:
    """The queues that have defaults (orders, shipments, automation, retarget)."""
    return st.sampled_from(sorted(QUEUE_DEFAULTS))


def job_payloads() -> st.SearchStrategy[dict[str, JsonValue]]:
    """JSON objects as a job's arguments: scalars, lists and nested objects."""
    values = st.recursive(
        _json_scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=8,
    )
    return st.dictionaries(st.text(max_size=12), values, max_size=5)


def queued_job_runs(
    policy: st.SearchStrategy[RetryPolicy] | None = None,
) -> st.SearchStrategy[JobRun]:
    """Freshly enqueued runs on any default queue, some tied to a shipment."""

    def build(
        job_id: str,
        queue: str,
        key: str,
        retry: RetryPolicy,
        at: datetime,
        payload: dict[str, Any],
        shipment_id: str | None,
    ) -> JobRun:
        job, _ = JobRun.enqueue(
            job_id, queue, f"{queue}.work", key, retry, at, payload,
            "shipment" if shipment_id else None, shipment_id,
        )  # fmt: skip
        return job

    return st.builds(
        build,
        ids("job"),
        queue_names(),
        ids("key"),
        policy if policy is not None else retry_policies(),
        instants(),
        job_payloads(),
        st.none() | ids("shp"),
    )


def apply_trigger(job: JobRun, trigger: JobTrigger, at: datetime) -> JobRun:
    """Apply one trigger through the aggregate's command.

    SCHEDULE_RETRY reports a retryable failure (which fails the run when no attempt is left);
    FAIL reports a non-retryable one.
    """
    result: tuple[JobRun, list[DomainEvent]]
    if trigger is JobTrigger.START:
        result = job.start(at)
    elif trigger is JobTrigger.REPORT_PROGRESS:
        result = job.report_progress(50, at)
    elif trigger is JobTrigger.SUCCEED:
        result = job.succeed(at)
    elif trigger is JobTrigger.FAIL:
        result = job.fail("worker raised", at, retryable=False)
    elif trigger is JobTrigger.SCHEDULE_RETRY:
        result = job.fail("worker raised", at, retryable=True)
    elif trigger is JobTrigger.RETRY:
        result = job.retry(at)
    else:
        result = job.cancel(at, "no longer needed")
    return result[0]


@st.composite
def job_runs(draw: st.DrawFn, status: JobStatus | None = None) -> JobRun:
    """Runs reached from enqueue by a random walk of legal commands; `status` pins the end.

    Every run drawn is one the domain itself can produce: nothing is built field by field.
    """
    policies = retry_policies(min_attempts=2 if status is JobStatus.DELAYED else 1)
    job = draw(queued_job_runs(policies))
    at = job.enqueued_at
    for _ in range(draw(st.integers(0, 12))):
        triggers = JOB_RUN_MACHINE.triggers_from(job.status)
        if not triggers:
            break
        at += timedelta(seconds=draw(st.integers(1, 3_600)))
        job = apply_trigger(job, draw(st.sampled_from(triggers)), at)
    return job if status is None else _steer(job, status, at)


# Legal routes back to a freshly queued run (attempt budget reset) and from there to each status.
_TO_QUEUED: dict[JobStatus, list[JobTrigger]] = {
    JobStatus.QUEUED: [],
    JobStatus.ACTIVE: [JobTrigger.FAIL, JobTrigger.RETRY],
    JobStatus.DELAYED: [JobTrigger.START, JobTrigger.FAIL, JobTrigger.RETRY],
    JobStatus.FAILED: [JobTrigger.RETRY],
}
_FROM_QUEUED: dict[JobStatus, list[JobTrigger]] = {
    JobStatus.QUEUED: [],
    JobStatus.ACTIVE: [JobTrigger.START],
    JobStatus.DELAYED: [JobTrigger.START, JobTrigger.SCHEDULE_RETRY],
    JobStatus.COMPLETED: [JobTrigger.START, JobTrigger.SUCCEED],
    JobStatus.FAILED: [JobTrigger.START, JobTrigger.FAIL],
    JobStatus.CANCELLED: [JobTrigger.CANCEL],
}


def _steer(job: JobRun, status: JobStatus, at: datetime) -> JobRun:
    if job.status is status:
        return job
    if JOB_RUN_MACHINE.is_terminal(job.status):
        # Nothing leaves a terminal state: start over from the same run's enqueue.
        job, _ = JobRun.enqueue(
            job.id, job.queue, job.job_name, job.job_key, job.retry_policy, job.enqueued_at,
            job.payload, job.related_entity_type, job.related_entity_id,
        )  # fmt: skip
    for trigger in [*_TO_QUEUED[job.status], *_FROM_QUEUED[status]]:
        at += timedelta(seconds=1)
        job = apply_trigger(job, trigger, at)
    return job
