"""Rules of the JobRun aggregate, its state machine and the retry policies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from platform_core.jobs.model import (
    JOB_RUN_MACHINE,
    MAX_ERROR_LENGTH,
    QUEUE_DEFAULTS,
    Backoff,
    JobEvent,
    JobRun,
    JobStatus,
    JobTrigger,
    QueueName,
    RetryPolicy,
    retry_policy_for,
)
from platform_core.shared.errors import IllegalTransition, ValidationError
from platform_core.testing.jobs import apply_trigger, job_runs

AT = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy(Backoff.EXPONENTIAL, 60, 1800, 3)


def queued(policy: RetryPolicy = POLICY, **overrides: Any) -> JobRun:
    arguments: dict[str, Any] = {
        "job_id": "job_1",
        "queue": "shipments",
        "job_name": "refresh_tracking",
        "job_key": "key_1",
        "retry_policy": policy,
        "at": AT,
        "payload": {"shipment_id": "shp_1"},
        "related_entity_type": "shipment",
        "related_entity_id": "shp_1",
    }
    job, _ = JobRun.enqueue(**{**arguments, **overrides})
    return job


def active(policy: RetryPolicy = POLICY) -> JobRun:
    job, _ = queued(policy).start(AT + timedelta(seconds=1))
    return job


def failed_once(policy: RetryPolicy = POLICY) -> JobRun:
    job, _ = active(policy).fail("timeout", AT + timedelta(seconds=2))
    return job


# -- retry policies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("backoff", "expected"),
    [
        (Backoff.FIXED, [60, 60, 60, 60, 60]),
        (Backoff.LINEAR, [60, 120, 180, 240, 300]),
        (Backoff.EXPONENTIAL, [60, 120, 240, 300, 300]),
    ],
)
def test_delay_grows_by_backoff_kind_and_stops_at_the_cap(
    backoff: Backoff, expected: list[int]
) -> None:
    """Fixed waits the base, linear base*n, exponential base*2**(n-1), all capped at max."""
    policy = RetryPolicy(backoff, 60, 300, 6)
    delays = [policy.delay_after(attempt).total_seconds() for attempt in range(1, 6)]
    assert delays == expected


def test_huge_attempt_numbers_stay_at_the_cap() -> None:
    """An exponential delay for an absurd attempt number is the cap, computed cheaply."""
    policy = RetryPolicy(Backoff.EXPONENTIAL, 1, 600, 3)
    assert policy.delay_after(10**9) == timedelta(seconds=600)


def test_delay_before_any_attempt_is_refused() -> None:
    """Attempt numbers start at 1, so asking for the delay after attempt 0 is a bad input."""
    with pytest.raises(ValidationError) as error:
        POLICY.delay_after(0)
    assert error.value.details["field"] == "attempt"


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ((Backoff.FIXED, 0, 10, 3), "base_delay_seconds"),
        ((Backoff.FIXED, -5, 10, 3), "base_delay_seconds"),
        ((Backoff.FIXED, 10, 5, 3), "max_delay_seconds"),
        ((Backoff.FIXED, 10, 10, 0), "max_attempts"),
        ((Backoff.FIXED, 10, 10, True), "max_attempts"),
        ((Backoff.LINEAR, 1.5, 10, 3), "base_delay_seconds"),
    ],
)
def test_invalid_retry_policies_are_refused(arguments: tuple[Any, ...], field: str) -> None:
    """Delays and attempt budgets must be positive integers and the cap at least the base."""
    with pytest.raises(ValidationError) as error:
        RetryPolicy(*arguments)
    assert error.value.details["field"] == field


def test_retries_are_allowed_only_while_attempts_remain() -> None:
    """max_attempts counts every attempt, so the last attempt is never followed by another."""
    assert [POLICY.allows_retry_after(n) for n in (1, 2, 3, 4)] == [True, True, False, False]


def test_queue_defaults_follow_the_product_plan() -> None:
    """Concurrency, attempts and backoff of each queue are the plan's figures."""
    summary = {
        name: (
            config.concurrency,
            config.retry.max_attempts,
            config.retry.backoff,
            config.retry.base_delay_seconds,
            config.retry.max_delay_seconds,
        )
        for name, config in QUEUE_DEFAULTS.items()
    }
    assert summary == {
        "orders": (5, 5, Backoff.EXPONENTIAL, 60, 1800),
        "shipments": (10, 3, Backoff.LINEAR, 300, 1800),
        "automation": (5, 3, Backoff.FIXED, 600, 600),
        "retarget": (2, 8, Backoff.EXPONENTIAL, 300, 1800),
    }
    assert all(config.name == name for name, config in QUEUE_DEFAULTS.items())


def test_retarget_waits_between_five_and_thirty_minutes() -> None:
    """The retarget queue's exponential backoff starts at 5 minutes and never exceeds 30."""
    policy = QUEUE_DEFAULTS[QueueName.RETARGET].retry
    delays = [policy.delay_after(n) for n in range(1, policy.max_attempts)]
    assert delays[0] == timedelta(minutes=5)
    assert max(delays) == timedelta(minutes=30)


def test_a_run_gets_its_queue_default_policy() -> None:
    """Without an explicit policy a run of a known queue gets that queue's policy."""
    assert retry_policy_for("orders") == QUEUE_DEFAULTS["orders"].retry


def test_max_attempts_overrides_only_the_budget() -> None:
    """Automation passes its scenario's attempts; the queue's backoff stays."""
    policy = retry_policy_for("automation", max_attempts=7)
    assert policy.max_attempts == 7
    assert policy.base_delay_seconds == 600


def test_an_explicit_policy_replaces_the_queue_default() -> None:
    """A given policy wins over the queue default, also for queues without defaults."""
    assert retry_policy_for("custom", POLICY) == POLICY


def test_a_queue_without_defaults_needs_a_policy() -> None:
    """An unknown queue and no policy is a validation error naming the queue field."""
    with pytest.raises(ValidationError) as error:
        retry_policy_for("custom")
    assert error.value.details["field"] == "queue"


# -- enqueue ----------------------------------------------------------------------------------


def test_enqueue_makes_a_queued_run_and_a_queued_event() -> None:
    """A new run is queued with no attempt yet; job.queued carries what the relay needs."""
    job, events = JobRun.enqueue(
        "job_1", "shipments", "refresh_tracking", "key_1", POLICY, AT, {"shipment_id": "shp_1"},
        "shipment", "shp_1", AT + timedelta(minutes=5),
    )  # fmt: skip
    assert (job.status, job.attempts, job.progress, job.version) == (JobStatus.QUEUED, 0, 0, 1)
    assert job.scheduled_for == AT + timedelta(minutes=5)
    [event] = events
    assert event.type == JobEvent.QUEUED
    assert (event.aggregate_type, event.aggregate_id, event.source_module) == (
        "job_run",
        "job_1",
        "jobs",
    )
    assert event.payload == {
        "job_run_id": "job_1",
        "queue": "shipments",
        "job_name": "refresh_tracking",
        "job_key": "key_1",
        "status": "queued",
        "related_entity_type": "shipment",
        "related_entity_id": "shp_1",
        "payload": {"shipment_id": "shp_1"},
        "max_attempts": 3,
        "scheduled_for": (AT + timedelta(minutes=5)).isoformat(),
        "manual_retry": False,
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"queue": " "}, "queue"),
        ({"job_name": ""}, "job_name"),
        ({"job_key": ""}, "job_key"),
        ({"job_id": ""}, "id"),
        ({"at": datetime(2026, 1, 1)}, "at"),
        ({"scheduled_for": datetime(2026, 1, 1)}, "scheduled_for"),
        ({"payload": ["not", "a", "mapping"]}, "payload"),
        ({"payload": {"when": AT}}, "payload.when"),
        ({"payload": {"ratio": float("nan")}}, "payload.ratio"),
        ({"payload": {"nested": {1: "x"}}}, "payload.nested"),
        ({"payload": {"items": [1, {2}]}}, "payload.items[1]"),
        ({"related_entity_id": None}, "related_entity_id"),
        ({"related_entity_type": None}, "related_entity_id"),
        ({"related_entity_type": ""}, "related_entity_type"),
    ],
)
def test_enqueue_refuses_bad_input(overrides: dict[str, Any], field: str) -> None:
    """Blank names, naive times, non-JSON payloads and half a related entity are refused."""
    with pytest.raises(ValidationError) as error:
        queued(**overrides)
    assert error.value.details["field"] == field


def test_payload_is_a_read_only_copy() -> None:
    """Changing the caller's dict afterwards does not change the run, nor can the run's payload
    be written."""
    ids: list[str] = ["a"]
    options = {"force": False}
    job = queued(payload={"ids": ids, "options": options})
    ids.append("b")
    options["force"] = True
    assert job.payload == {"ids": ["a"], "options": {"force": False}}
    with pytest.raises(TypeError):
        job.payload["extra"] = 1  # type: ignore[index]


# -- commands ---------------------------------------------------------------------------------


def test_start_begins_an_attempt() -> None:
    """Starting counts an attempt, stamps started_at and emits job.started."""
    job, events = queued().start(AT + timedelta(seconds=1))
    assert (job.status, job.attempts, job.started_at) == (
        JobStatus.ACTIVE,
        1,
        AT + timedelta(seconds=1),
    )
    assert [(e.type, e.payload["attempt"], e.payload["max_attempts"]) for e in events] == [
        (JobEvent.STARTED, 1, 3)
    ]


def test_progress_is_recorded_without_an_event() -> None:
    """An active run's progress changes; progress is a gauge, not a business event."""
    job, events = active().report_progress(40, AT)
    assert (job.progress, job.status, events) == (40, JobStatus.ACTIVE, [])


@pytest.mark.parametrize("progress", [-1, 101, 50.5, True, "50"])
def test_progress_outside_0_to_100_is_refused(progress: Any) -> None:
    """Progress is a whole percentage; anything else is a validation error, run unchanged."""
    job = active()
    with pytest.raises(ValidationError) as error:
        job.report_progress(progress, AT)
    assert error.value.details["field"] == "progress"
    assert job.progress == 0


def test_success_completes_the_run() -> None:
    """Completion sets progress to 100 and finished_at, and emits job.completed."""
    job, events = active().succeed(AT + timedelta(minutes=1))
    assert (job.status, job.progress, job.finished_at) == (
        JobStatus.COMPLETED,
        100,
        AT + timedelta(minutes=1),
    )
    [event] = events
    assert event.type == JobEvent.COMPLETED
    assert event.payload["attempts"] == 1
    assert event.payload["started_at"] == (AT + timedelta(seconds=1)).isoformat()


def test_a_retryable_failure_with_attempts_left_schedules_a_retry() -> None:
    """The run waits in delayed until now + the policy's delay for that attempt."""
    at = AT + timedelta(seconds=2)
    job, events = active().fail("timeout", at)
    assert job.status is JobStatus.DELAYED
    assert job.scheduled_for == at + timedelta(seconds=60)
    assert job.last_error == "timeout"
    assert job.finished_at is None
    [event] = events
    assert event.type == JobEvent.RETRY_SCHEDULED
    assert event.payload["delay_seconds"] == 60
    assert event.payload["scheduled_for"] == (at + timedelta(seconds=60)).isoformat()
    assert event.payload["error"] == "timeout"


def test_the_second_retry_waits_longer_under_exponential_backoff() -> None:
    """Attempt 2 failing waits base*2 before attempt 3."""
    job, _ = failed_once().start(AT + timedelta(minutes=5))
    job, _ = job.fail("timeout again", AT + timedelta(minutes=6))
    assert job.scheduled_for == AT + timedelta(minutes=6, seconds=120)
    assert job.attempts == 2


def test_the_last_attempts_failure_fails_the_run() -> None:
    """When no attempt is left the run fails and emits job.failed, not a retry."""
    job = active(RetryPolicy(Backoff.FIXED, 10, 10, 1))
    job, events = job.fail("boom", AT + timedelta(minutes=1))
    assert (job.status, job.finished_at, job.last_error) == (
        JobStatus.FAILED,
        AT + timedelta(minutes=1),
        "boom",
    )
    [event] = events
    assert event.type == JobEvent.FAILED
    assert (event.payload["attempt"], event.payload["retryable"]) == (1, True)


def test_a_non_retryable_failure_fails_at_once() -> None:
    """A failure marked non-retryable fails the run even with attempts left."""
    job, events = active().fail("bad payload", AT, retryable=False)
    assert job.status is JobStatus.FAILED
    assert events[0].payload["retryable"] is False


@pytest.mark.parametrize("error", ["", "   ", None])
def test_a_failure_needs_an_error_message(error: Any) -> None:
    """An empty error is refused and the run stays active."""
    job = active()
    with pytest.raises(ValidationError) as error_info:
        job.fail(error, AT)
    assert error_info.value.details["field"] == "error"
    assert job.status is JobStatus.ACTIVE


def test_long_errors_are_trimmed() -> None:
    """A traceback-sized error is kept up to MAX_ERROR_LENGTH characters."""
    job, _ = active().fail("x" * (MAX_ERROR_LENGTH + 500), AT)
    assert job.last_error == "x" * MAX_ERROR_LENGTH


def test_a_delayed_run_starts_its_next_attempt() -> None:
    """Starting from delayed is attempt 2 and clears scheduled_for."""
    job, _ = failed_once().start(AT + timedelta(minutes=2))
    assert (job.status, job.attempts, job.scheduled_for) == (JobStatus.ACTIVE, 2, None)


def test_manual_retry_requeues_a_failed_run_with_a_fresh_budget() -> None:
    """Ops retry: attempts reset, job.queued says manual_retry and carries the payload."""
    job, _ = active(RetryPolicy(Backoff.FIXED, 10, 10, 1)).fail("boom", AT)
    job, events = job.retry(AT + timedelta(hours=1))
    assert (job.status, job.attempts, job.finished_at, job.started_at) == (
        JobStatus.QUEUED,
        0,
        None,
        None,
    )
    [event] = events
    assert event.type == JobEvent.QUEUED
    assert event.payload["manual_retry"] is True
    assert event.payload["payload"] == {"shipment_id": "shp_1"}


@pytest.mark.parametrize("make", [queued, failed_once], ids=["queued", "delayed"])
def test_queued_and_delayed_runs_can_be_cancelled(make: Any) -> None:
    """Cancelling stamps finished_at, clears any schedule and emits job.cancelled."""
    job, events = make().cancel(AT + timedelta(hours=1), "  duplicate  ")
    assert (job.status, job.finished_at, job.scheduled_for) == (
        JobStatus.CANCELLED,
        AT + timedelta(hours=1),
        None,
    )
    assert [(e.type, e.payload["reason"]) for e in events] == [(JobEvent.CANCELLED, "duplicate")]


def test_a_running_attempt_cannot_be_cancelled() -> None:
    """Active runs end by success or failure, so cancel is an illegal transition."""
    job = active()
    with pytest.raises(IllegalTransition):
        job.cancel(AT)
    assert job.status is JobStatus.ACTIVE


def test_commands_leave_the_version_alone() -> None:
    """Only the repository moves versions; a whole lifecycle keeps version 1."""
    job, _ = failed_once().start(AT)
    job, _ = job.succeed(AT)
    assert job.version == 1


# -- the machine, exhaustively ----------------------------------------------------------------


def test_completed_and_cancelled_are_the_terminal_states() -> None:
    """A finished or called-off run never changes again; a failed one can be retried."""
    assert JOB_RUN_MACHINE.terminal == {JobStatus.COMPLETED, JobStatus.CANCELLED}
    assert JOB_RUN_MACHINE.triggers_from(JobStatus.FAILED) == [JobTrigger.RETRY]


@settings(max_examples=80)
@given(job=job_runs(), trigger=st.sampled_from(JobTrigger))
def test_every_trigger_is_refused_or_leads_where_the_table_says(
    job: JobRun, trigger: JobTrigger
) -> None:
    """Triggers outside the table raise IllegalTransition and leave the run unchanged; legal
    ones land in the table's state (a retryable failure without attempts left lands in failed).
    """
    before = job
    if not JOB_RUN_MACHINE.can(job.status, trigger):
        with pytest.raises(IllegalTransition):
            apply_trigger(job, trigger, AT)
        assert job == before
        return
    after = apply_trigger(job, trigger, AT)
    expected = JOB_RUN_MACHINE.next_state(job.status, trigger)
    if trigger is JobTrigger.SCHEDULE_RETRY and not job.retry_policy.allows_retry_after(
        job.attempts
    ):
        expected = JobStatus.FAILED
    assert after.status is expected
