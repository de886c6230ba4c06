"""Property-based walk of the job-run machine with its invariants."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from platform_core.jobs.model import JOB_RUN_MACHINE, JobEvent, JobRun, JobStatus, JobTrigger
from platform_core.shared.errors import DomainError
from platform_core.shared.events import DomainEvent
from platform_core.testing.jobs import queued_job_runs

# The event each state is entered with (progress re-enters active without one).
ENTRY_EVENTS = {
    JobStatus.QUEUED: JobEvent.QUEUED,
    JobStatus.ACTIVE: JobEvent.STARTED,
    JobStatus.DELAYED: JobEvent.RETRY_SCHEDULED,
    JobStatus.COMPLETED: JobEvent.COMPLETED,
    JobStatus.FAILED: JobEvent.FAILED,
    JobStatus.CANCELLED: JobEvent.CANCELLED,
}

Command = Callable[[], tuple[JobRun, list[DomainEvent]]]


class JobRunMachine(RuleBasedStateMachine):
    """Random worker reports and Ops actions on one run; refused ones leave it unchanged."""

    job: JobRun

    @initialize(job=queued_job_runs())
    def enqueue(self, job: JobRun) -> None:
        self.job = job
        self.steps = 0
        self.ever_terminal: JobStatus | None = None

    @property
    def _at(self) -> datetime:
        return self.job.enqueued_at + timedelta(minutes=self.steps)

    def _try(self, trigger: JobTrigger, command: Command) -> None:
        self.steps += 1
        before = self.job
        allowed = JOB_RUN_MACHINE.can(before.status, trigger)
        try:
            self.job, events = command()
        except DomainError:
            assert not allowed, f"{trigger} from {before.status} should have been allowed"
            assert self.job is before
            return
        assert allowed, f"{trigger} from {before.status} should have been refused"
        assert all(e.aggregate_id == self.job.id and e.source_module == "jobs" for e in events)
        if self.job.status is before.status:
            assert events == []
        else:
            assert [e.type for e in events] == [ENTRY_EVENTS[self.job.status]]
        if JOB_RUN_MACHINE.is_terminal(self.job.status):
            self.ever_terminal = self.job.status

    @rule()
    def start(self) -> None:
        self._try(JobTrigger.START, lambda: self.job.start(self._at))

    @rule(progress=st.integers(0, 100))
    def report_progress(self, progress: int) -> None:
        self._try(JobTrigger.REPORT_PROGRESS, lambda: self.job.report_progress(progress, self._at))

    @rule()
    def succeed(self) -> None:
        self._try(JobTrigger.SUCCEED, lambda: self.job.succeed(self._at))

    @rule(retryable=st.booleans())
    def fail(self, retryable: bool) -> None:
        has_attempts = self.job.retry_policy.allows_retry_after(self.job.attempts)
        trigger = JobTrigger.SCHEDULE_RETRY if retryable and has_attempts else JobTrigger.FAIL
        self._try(trigger, lambda: self.job.fail("worker raised", self._at, retryable))

    @rule()
    def retry(self) -> None:
        self._try(JobTrigger.RETRY, lambda: self.job.retry(self._at))

    @rule(reason=st.none() | st.sampled_from(["duplicate", "customer asked"]))
    def cancel(self, reason: str | None) -> None:
        self._try(JobTrigger.CANCEL, lambda: self.job.cancel(self._at, reason))

    @invariant()
    def progress_is_a_percentage(self) -> None:
        assert 0 <= self.job.progress <= 100

    @invariant()
    def attempts_never_exceed_the_budget(self) -> None:
        assert 0 <= self.job.attempts <= self.job.max_attempts

    @invariant()
    def terminal_states_are_final(self) -> None:
        assert self.ever_terminal in (None, self.job.status)

    @invariant()
    def timestamps_match_the_status(self) -> None:
        job = self.job
        finished = job.status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED)
        assert (job.finished_at is not None) == finished
        assert (job.started_at is not None) == (job.attempts > 0)
        if job.status is JobStatus.DELAYED:
            assert job.scheduled_for is not None
            assert job.last_error is not None
        if job.status is JobStatus.ACTIVE:
            assert job.attempts >= 1

    @invariant()
    def outcomes_are_recorded(self) -> None:
        if self.job.status is JobStatus.COMPLETED:
            assert self.job.progress == 100
        if self.job.status is JobStatus.FAILED:
            assert self.job.last_error

    @invariant()
    def the_domain_never_moves_the_version(self) -> None:
        assert self.job.version == 1


JobRunMachine.TestCase.settings = settings(max_examples=50, stateful_step_count=30, deadline=None)
TestJobRunMachine = JobRunMachine.TestCase
