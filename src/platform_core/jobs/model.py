"""Jobs: the JobRun aggregate (one recorded run of a queued job), its machine and retry policies."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import attrs

from platform_core.shared.errors import ValidationError
from platform_core.shared.events import DomainEvent, JsonValue
from platform_core.shared.ids import (
    id_field,
    non_empty_text,
    non_negative_int,
    optional_id_field,
    positive_int,
)
from platform_core.shared.state_machine import StateMachine
from platform_core.shared.time import aware, require_aware

SOURCE_MODULE = "jobs"
AGGREGATE_TYPE = "job_run"

# Worker errors can carry whole tracebacks; a bounded text keeps rows and event payloads small.
MAX_ERROR_LENGTH = 2000


class JobStatus(StrEnum):
    QUEUED = "queued"
    ACTIVE = "active"
    DELAYED = "delayed"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobTrigger(StrEnum):
    START = "start"
    REPORT_PROGRESS = "report_progress"
    SUCCEED = "succeed"
    FAIL = "fail"
    SCHEDULE_RETRY = "schedule_retry"
    CANCEL = "cancel"
    RETRY = "retry"


_S, _T = JobStatus, JobTrigger

# A running job is not cancellable here: the record must not claim a cancellation the worker
# never saw. It ends as completed or failed, and a failed run can be retried by hand.
JOB_RUN_MACHINE: StateMachine[JobStatus, JobTrigger] = StateMachine(
    name="job_run",
    initial=_S.QUEUED,
    transitions={
        (_S.QUEUED, _T.START): _S.ACTIVE,
        (_S.DELAYED, _T.START): _S.ACTIVE,
        (_S.ACTIVE, _T.REPORT_PROGRESS): _S.ACTIVE,
        (_S.ACTIVE, _T.SUCCEED): _S.COMPLETED,
        (_S.ACTIVE, _T.FAIL): _S.FAILED,
        (_S.ACTIVE, _T.SCHEDULE_RETRY): _S.DELAYED,
        (_S.QUEUED, _T.CANCEL): _S.CANCELLED,
        (_S.DELAYED, _T.CANCEL): _S.CANCELLED,
        (_S.FAILED, _T.RETRY): _S.QUEUED,
    },
    terminal=frozenset({_S.COMPLETED, _S.CANCELLED}),
)


class JobEvent(StrEnum):
    QUEUED = "job.queued"
    STARTED = "job.started"
    COMPLETED = "job.completed"
    FAILED = "job.failed"
    RETRY_SCHEDULED = "job.retry_scheduled"
    CANCELLED = "job.cancelled"


# -- retry policies ---------------------------------------------------------------------------


class Backoff(StrEnum):
    """How the wait before the next attempt grows with the number of failed attempts."""

    FIXED = "fixed"
    LINEAR = "linear"
    EXPONENTIAL = "exponential"


@attrs.frozen
class RetryPolicy:
    """How often a job is attempted and how long to wait between attempts.

    `max_attempts` counts every attempt, the first one included (1 = never retried). The wait
    after the n-th failed attempt is `base` (fixed), `base * n` (linear) or `base * 2**(n-1)`
    (exponential), never more than `max_delay_seconds`.
    """

    backoff: Backoff
    base_delay_seconds: int = attrs.field(validator=positive_int)
    max_delay_seconds: int = attrs.field(validator=positive_int)
    max_attempts: int = attrs.field(validator=positive_int)

    def __attrs_post_init__(self) -> None:
        if self.max_delay_seconds < self.base_delay_seconds:
            raise ValidationError(
                "max_delay_seconds must not be below base_delay_seconds",
                {"field": "max_delay_seconds"},
            )

    def allows_retry_after(self, attempt: int) -> bool:
        """True when the attempt numbered `attempt` (1-based) may be followed by another."""
        return attempt < self.max_attempts

    def delay_after(self, attempt: int) -> timedelta:
        """The wait before the attempt that follows failed attempt number `attempt`."""
        if attempt < 1:
            raise ValidationError("attempt numbers start at 1", {"field": "attempt"})
        if self.backoff is Backoff.FIXED:
            seconds = self.base_delay_seconds
        elif self.backoff is Backoff.LINEAR:
            seconds = self.base_delay_seconds * attempt
        else:
            # The cap is reached long before 2**64; bounding the exponent keeps huge attempt
            # numbers cheap.
            seconds = self.base_delay_seconds * 2 ** min(attempt - 1, 64)
        return timedelta(seconds=min(seconds, self.max_delay_seconds))

    def with_max_attempts(self, max_attempts: int | None) -> RetryPolicy:
        """The same backoff with another attempt budget (automation: the scenario's attempts)."""
        if max_attempts is None:
            return self
        return attrs.evolve(self, max_attempts=max_attempts)


class QueueName(StrEnum):
    ORDERS = "orders"
    SHIPMENTS = "shipments"
    AUTOMATION = "automation"
    RETARGET = "retarget"


@attrs.frozen
class QueueConfig:
    """How many jobs of a queue one worker runs at once and how its jobs are retried."""

    name: str = attrs.field(validator=non_empty_text)
    concurrency: int = attrs.field(validator=positive_int)
    retry: RetryPolicy


_MINUTE = 60

# The product plan's queue defaults. Automation retries every 10 minutes; its attempt budget is
# the scenario's (3 unless the scenario config says otherwise), passed per job at enqueue.
QUEUE_DEFAULTS: Mapping[str, QueueConfig] = MappingProxyType(
    {
        QueueName.ORDERS: QueueConfig(
            QueueName.ORDERS, 5, RetryPolicy(Backoff.EXPONENTIAL, 60, 30 * _MINUTE, 5)
        ),
        QueueName.SHIPMENTS: QueueConfig(
            QueueName.SHIPMENTS, 10, RetryPolicy(Backoff.LINEAR, 5 * _MINUTE, 30 * _MINUTE, 3)
        ),
        QueueName.AUTOMATION: QueueConfig(
            QueueName.AUTOMATION, 5, RetryPolicy(Backoff.FIXED, 10 * _MINUTE, 10 * _MINUTE, 3)
        ),
        QueueName.RETARGET: QueueConfig(
            QueueName.RETARGET,
            2,
            RetryPolicy(Backoff.EXPONENTIAL, 5 * _MINUTE, 30 * _MINUTE, 8),
        ),
    }
)


def retry_policy_for(
    queue: str, policy: RetryPolicy | None = None, max_attempts: int | None = None
) -> RetryPolicy:
    """The policy a new run of `queue` gets: the given one, else the queue's default.

    Raises ValidationError for a queue without defaults when no policy is given.
    """
    if policy is None:
        config = QUEUE_DEFAULTS.get(queue)
        if config is None:
            raise ValidationError(
                f"queue {queue!r} has no default retry policy; pass one",
                {"field": "queue", "value": queue, "known": sorted(QUEUE_DEFAULTS)},
            )
        policy = config.retry
    return policy.with_max_attempts(max_attempts)


# -- payloads ----------------------------------------------------------------------------------


def _json_copy(value: object, path: str) -> JsonValue:
    """A plain copy of `value` (dicts, lists, scalars) or ValidationError if it is not JSON."""
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{path} must be a finite number", {"field": path})
        return value
    if isinstance(value, list | tuple):
        return [_json_copy(item, f"{path}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, Mapping):
        return _json_object(value, path)
    raise ValidationError(
        f"{path} must hold only JSON values, not {type(value).__name__}", {"field": path}
    )


def _json_object(value: Mapping[Any, Any], path: str) -> dict[str, JsonValue]:
    copied: dict[str, JsonValue] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise ValidationError(f"{path} keys must be strings", {"field": path})
        copied[key] = _json_copy(item, f"{path}.{key}")
    return copied


def job_payload(value: object) -> Mapping[str, JsonValue]:
    """A read-only deep copy of a job's arguments; refuses anything that is not JSON."""
    if not isinstance(value, Mapping):
        raise ValidationError("payload must be a mapping", {"field": "payload"})
    return MappingProxyType(_json_object(value, "payload"))


def _error_text(error: object) -> str:
    if not isinstance(error, str) or not error.strip():
        raise ValidationError("a failure needs an error message", {"field": "error"})
    return error.strip()[:MAX_ERROR_LENGTH]


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _check_progress(_: Any, attribute: attrs.Attribute[int], value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
        raise ValidationError(
            "progress must be an integer from 0 to 100",
            {"field": attribute.name, "value": repr(value)},
        )


def _optional_text(_: Any, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        non_empty_text(_, attribute, value)


# -- the aggregate -----------------------------------------------------------------------------


@attrs.frozen
class JobRun:
    """One job on one queue, from enqueue to its outcome, across all its attempts.

    `job_key` is the queue's key of the run (unique per run). `attempts` counts the attempts
    started since the run was queued or last retried by hand; it never exceeds the policy's
    `max_attempts`. `related_entity_*` names what the job works on (e.g. a shipment), so a
    timeline can show its jobs.
    """

    id: str = attrs.field(validator=id_field)
    queue: str = attrs.field(validator=non_empty_text)
    job_name: str = attrs.field(validator=non_empty_text)
    job_key: str = attrs.field(validator=non_empty_text)
    retry_policy: RetryPolicy
    enqueued_at: datetime = attrs.field(validator=aware)
    payload: Mapping[str, JsonValue] = attrs.field(factory=dict, converter=job_payload)
    status: JobStatus = JobStatus.QUEUED
    attempts: int = attrs.field(default=0, validator=non_negative_int)
    progress: int = attrs.field(default=0, validator=_check_progress)
    last_error: str | None = None
    related_entity_type: str | None = attrs.field(default=None, validator=_optional_text)
    related_entity_id: str | None = attrs.field(default=None, validator=optional_id_field)
    scheduled_for: datetime | None = attrs.field(default=None, validator=aware)
    started_at: datetime | None = attrs.field(default=None, validator=aware)
    finished_at: datetime | None = attrs.field(default=None, validator=aware)
    version: int = 1

    def __attrs_post_init__(self) -> None:
        if (self.related_entity_type is None) != (self.related_entity_id is None):
            raise ValidationError(
                "related_entity_type and related_entity_id go together",
                {"field": "related_entity_id"},
            )

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def enqueue(
        cls,
        job_id: str,
        queue: str,
        job_name: str,
        job_key: str,
        retry_policy: RetryPolicy,
        at: datetime,
        payload: Mapping[str, Any] | None = None,
        related_entity_type: str | None = None,
        related_entity_id: str | None = None,
        scheduled_for: datetime | None = None,
    ) -> tuple[JobRun, list[DomainEvent]]:
        """A run put on `queue`; `scheduled_for` holds it back until then."""
        require_aware(at, "at")
        job = cls(
            id=job_id,
            queue=queue,
            job_name=job_name,
            job_key=job_key,
            retry_policy=retry_policy,
            enqueued_at=at,
            payload=payload or {},
            related_entity_type=related_entity_type,
            related_entity_id=related_entity_id,
            scheduled_for=scheduled_for,
        )
        return job, [job._queued_event(at, manual_retry=False)]

    # -- reading --------------------------------------------------------------------------------
    @property
    def max_attempts(self) -> int:
        return self.retry_policy.max_attempts

    # -- commands -------------------------------------------------------------------------------
    def start(self, at: datetime) -> tuple[JobRun, list[DomainEvent]]:
        """A worker picked the run up: a new attempt begins."""
        status = JOB_RUN_MACHINE.next_state(self.status, JobTrigger.START)
        job = attrs.evolve(
            self, status=status, attempts=self.attempts + 1, progress=0, started_at=at,
            scheduled_for=None,
        )  # fmt: skip
        return job, [job._event(JobEvent.STARTED, at, job._attempt_payload())]

    def report_progress(self, progress: int, at: datetime) -> tuple[JobRun, list[DomainEvent]]:
        """The running attempt says how far it got (0..100); progress is not an event."""
        require_aware(at, "at")
        status = JOB_RUN_MACHINE.next_state(self.status, JobTrigger.REPORT_PROGRESS)
        return attrs.evolve(self, status=status, progress=progress), []

    def succeed(self, at: datetime) -> tuple[JobRun, list[DomainEvent]]:
        """The running attempt finished its work."""
        status = JOB_RUN_MACHINE.next_state(self.status, JobTrigger.SUCCEED)
        job = attrs.evolve(self, status=status, progress=100, finished_at=at)
        payload = {
            "attempts": job.attempts,
            "started_at": _iso(job.started_at),
            "finished_at": at.isoformat(),
        }
        return job, [job._event(JobEvent.COMPLETED, at, payload)]

    def fail(
        self, error: str, at: datetime, retryable: bool = True
    ) -> tuple[JobRun, list[DomainEvent]]:
        """The running attempt failed: retried after the policy's delay while attempts remain
        and the error is retryable, otherwise the run fails."""
        message = _error_text(error)
        if retryable and self.retry_policy.allows_retry_after(self.attempts):
            return self._schedule_retry(message, at)
        status = JOB_RUN_MACHINE.next_state(self.status, JobTrigger.FAIL)
        job = attrs.evolve(self, status=status, last_error=message, finished_at=at)
        payload = {**job._attempt_payload(), "error": message, "retryable": retryable}
        return job, [job._event(JobEvent.FAILED, at, payload)]

    def _schedule_retry(self, message: str, at: datetime) -> tuple[JobRun, list[DomainEvent]]:
        status = JOB_RUN_MACHINE.next_state(self.status, JobTrigger.SCHEDULE_RETRY)
        delay = self.retry_policy.delay_after(self.attempts)
        job = attrs.evolve(self, status=status, last_error=message, scheduled_for=at + delay)
        payload = {
            **job._attempt_payload(),
            "error": message,
            "delay_seconds": int(delay.total_seconds()),
            "scheduled_for": (at + delay).isoformat(),
        }
        return job, [job._event(JobEvent.RETRY_SCHEDULED, at, payload)]

    def retry(self, at: datetime) -> tuple[JobRun, list[DomainEvent]]:
        """Ops put a failed run back on its queue, with a fresh attempt budget."""
        status = JOB_RUN_MACHINE.next_state(self.status, JobTrigger.RETRY)
        job = attrs.evolve(
            self, status=status, attempts=0, progress=0, scheduled_for=None, started_at=None,
            finished_at=None,
        )  # fmt: skip
        return job, [job._queued_event(at, manual_retry=True)]

    def cancel(self, at: datetime, reason: str | None = None) -> tuple[JobRun, list[DomainEvent]]:
        """A run no worker has started yet (or that waits for a retry) is called off."""
        status = JOB_RUN_MACHINE.next_state(self.status, JobTrigger.CANCEL)
        job = attrs.evolve(self, status=status, scheduled_for=None, finished_at=at)
        reason = (reason or "").strip() or None
        return job, [job._event(JobEvent.CANCELLED, at, {"reason": reason})]

    # -- events ---------------------------------------------------------------------------------
    def _attempt_payload(self) -> dict[str, JsonValue]:
        return {"attempt": self.attempts, "max_attempts": self.max_attempts}

    def _queued_event(self, at: datetime, manual_retry: bool) -> DomainEvent:
        # Carries everything needed to put the run on the real queue (event-carried state).
        payload: dict[str, JsonValue] = {
            "payload": dict(self.payload),
            "max_attempts": self.max_attempts,
            "scheduled_for": _iso(self.scheduled_for),
            "manual_retry": manual_retry,
        }
        return self._event(JobEvent.QUEUED, at, payload)

    def _event(self, kind: JobEvent, at: datetime, payload: Mapping[str, JsonValue]) -> DomainEvent:
        require_aware(at, "at")
        return DomainEvent(
            type=str(kind),
            aggregate_type=AGGREGATE_TYPE,
            aggregate_id=self.id,
            payload={
                "job_run_id": self.id,
                "queue": self.queue,
                "job_name": self.job_name,
                "job_key": self.job_key,
                "status": str(self.status),
                "related_entity_type": self.related_entity_type,
                "related_entity_id": self.related_entity_id,
                **payload,
            },
            occurred_at=at,
            source_module=SOURCE_MODULE,
        )
