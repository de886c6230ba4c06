"""Property-based tests of automation: the step and manual-task state machines driven by random
commands, and whole runs against the fake legacy bridge under random failures."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from automation_deps import START, delivery, make_deps
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from platform_core.automation.model import (
    STEP_MACHINE,
    AutomationEvent,
    AutomationStep,
    ManualTask,
    ScenarioConfig,
    StepPayload,
    StepStatus,
    StepTrigger,
    TaskStatus,
)
from platform_core.automation.service import (
    RunAutomationStep,
    UpdateScenarioConfig,
    queue_steps_for_delivered_shipment,
    run_automation_step,
    update_scenario_config,
)
from platform_core.shared.errors import ConflictError, ValidationError
from platform_core.shared.events import DomainEvent
from platform_core.testing.automation import pending_steps, scenario_configs
from platform_core.testing.legacy import serial_numbers

STATEFUL = settings(
    max_examples=50, stateful_step_count=30, suppress_health_check=[HealthCheck.too_slow]
)
Command = Callable[[AutomationStep], tuple[AutomationStep, list[DomainEvent]]]


class AutomationStepMachine(RuleBasedStateMachine):
    """Random commands on one step; each is accepted exactly when the rules allow it.

    Guarded rules move the step forward (so deep states such as "exhausted, then retried by
    Ops" are reached often); `any_command` fires any command in any state to test refusals.
    """

    def __init__(self) -> None:
        super().__init__()
        self.step: AutomationStep
        self.now = START
        self.ops_grants = 0
        self.edits = 0
        self.settled_as: StepStatus | None = None

    @initialize(step=pending_steps(config=scenario_configs(max_attempts=3)))
    def create(self, step: AutomationStep) -> None:
        self.step = step

    def apply(self, allowed: bool, command: Command) -> list[DomainEvent]:
        """Run `command`; it must be accepted exactly when `allowed`. Its events, if any."""
        after: AutomationStep | None
        try:
            after, events = command(self.step)
        except (ConflictError, ValidationError):
            after, events = None, []
        verdict = "accepted" if after is not None else "refused"
        assert (after is not None) == allowed, f"{verdict} in {self.step.status}"
        if after is not None:
            self.step = after
        return events

    # -- the commands, each checking its own outcome ------------------------------------------
    def do_queue(self) -> None:
        events = self.apply(self.step.status is StepStatus.PENDING, lambda s: s.queue(self.now))
        assert [e.type for e in events] in ([], [AutomationEvent.STEP_QUEUED])

    def do_start(self) -> None:
        attempts = self.step.attempts
        if self.apply(self.step.status is StepStatus.QUEUED, lambda s: s.start(self.now)):
            assert self.step.attempts == attempts + 1

    def do_succeed(self) -> None:
        events = self.apply(
            self.step.status is StepStatus.RUNNING,
            lambda s: s.succeed(legacy_reference="LGY1", at=self.now),
        )
        for event in events:
            assert event.payload["fulfillment_order_id"] == self.step.fulfillment_order_id

    def do_fail(self, retryable: bool, delay: int = 60) -> None:
        had_attempts_left = self.step.attempts < self.step.attempt_limit
        retry_delay = timedelta(seconds=delay)
        events = self.apply(
            self.step.status is StepStatus.RUNNING,
            lambda s: s.fail("boom", retryable=retryable, retry_delay=retry_delay, at=self.now),
        )
        if events:
            expect_retry = retryable and had_attempts_left
            assert self.step.awaiting_retry == expect_retry
            expected = (
                AutomationEvent.STEP_RETRY_SCHEDULED
                if expect_retry
                else AutomationEvent.STEP_FAILED
            )
            assert [e.type for e in events] == [expected]

    def do_retry(self) -> None:
        self.apply(self.step.awaiting_retry, lambda s: s.retry(self.now))

    def do_ops_retry(self) -> None:
        exhausted = self.step.attempts >= self.step.attempt_limit
        allowed = self.step.status is StepStatus.FAILED
        if self.apply(allowed, lambda s: s.retry_by_ops("ops", self.now)):
            self.ops_grants += int(exhausted)

    def do_fallback(self, notes: str) -> None:
        allowed = self.step.status is StepStatus.FAILED and bool(notes.strip())
        events = self.apply(
            allowed, lambda s: s.trigger_fallback(notes=notes, actor="ops", at=self.now)
        )
        for event in events:
            assert event.payload["fulfillment_order_id"] == self.step.fulfillment_order_id

    def do_edit(self, serials: list[str]) -> None:
        editable = STEP_MACHINE.can(self.step.status, StepTrigger.EDIT)
        fits = len(serials) <= self.step.payload.quantity
        changes = tuple(serials) != self.step.payload.device_serials
        events = self.apply(
            editable and fits, lambda s: s.edit(actor="ops", at=self.now, device_serials=serials)
        )
        self.edits += int(bool(events))
        assert bool(events) == (editable and fits and changes)

    # -- rules --------------------------------------------------------------------------------
    @rule(minutes=st.integers(0, 30))
    def time_passes(self, minutes: int) -> None:
        self.now += timedelta(minutes=minutes)

    @precondition(lambda self: self.step.status is StepStatus.PENDING)
    @rule()
    def queue(self) -> None:
        self.do_queue()

    @precondition(lambda self: self.step.status is StepStatus.QUEUED)
    @rule()
    def start(self) -> None:
        self.do_start()

    @precondition(lambda self: self.step.status is StepStatus.RUNNING)
    @rule()
    def succeed(self) -> None:
        self.do_succeed()

    @precondition(lambda self: self.step.status is StepStatus.RUNNING)
    @rule(retryable=st.booleans(), delay=st.integers(0, 600))
    def fail(self, retryable: bool, delay: int) -> None:
        self.do_fail(retryable, delay)

    @precondition(lambda self: self.step.awaiting_retry)
    @rule()
    def automatic_retry(self) -> None:
        self.do_retry()

    @precondition(lambda self: self.step.status is StepStatus.FAILED)
    @rule()
    def ops_retry(self) -> None:
        self.do_ops_retry()

    @precondition(lambda self: self.step.status is StepStatus.FAILED)
    @rule(notes=st.sampled_from(["", "  ", "done by hand"]))
    def fallback(self, notes: str) -> None:
        self.do_fallback(notes)

    @rule(serials=st.lists(serial_numbers(), max_size=2, unique=True))
    def edit(self, serials: list[str]) -> None:
        self.do_edit(serials)

    @rule(
        name=st.sampled_from(["queue", "start", "succeed", "fail", "retry", "ops", "fallback"]),
        retryable=st.booleans(),
    )
    def any_command(self, name: str, retryable: bool) -> None:
        commands: dict[str, Callable[[], None]] = {
            "queue": self.do_queue,
            "start": self.do_start,
            "succeed": self.do_succeed,
            "fail": lambda: self.do_fail(retryable),
            "retry": self.do_retry,
            "ops": self.do_ops_retry,
            "fallback": lambda: self.do_fallback("done by hand"),
        }
        commands[name]()

    # -- invariants ---------------------------------------------------------------------------
    @invariant()
    def attempts_stay_within_the_limit_ops_granted(self) -> None:
        assert self.step.attempts <= self.step.attempt_limit
        assert self.step.attempt_limit == self.step.max_attempts + self.ops_grants

    @invariant()
    def settled_is_terminal(self) -> None:
        if self.settled_as is not None:
            assert self.step.status is self.settled_as
        if self.step.is_settled:
            self.settled_as = self.step.status

    @invariant()
    def terminal_failure_only_when_exhausted_or_refused(self) -> None:
        if self.step.is_terminally_failed:
            exhausted = self.step.attempts >= self.step.attempt_limit
            assert exhausted or self.step.last_error_retryable is False

    @invariant()
    def a_scheduled_retry_has_an_attempt_left(self) -> None:
        if self.step.next_attempt_at is not None:
            assert self.step.status is StepStatus.FAILED
            assert self.step.last_error_retryable is True
            assert self.step.attempts < self.step.attempt_limit

    @invariant()
    def outcomes_are_on_record(self) -> None:
        if self.step.status is StepStatus.SUCCEEDED:
            assert self.step.legacy_reference
            assert self.step.succeeded_at
        if self.step.status is StepStatus.FALLBACK_TRIGGERED:
            assert self.step.fallback_notes
            assert self.step.fallback_actor
            assert self.step.fallback_at

    @invariant()
    def keys_follow_attempts_and_edits(self) -> None:
        assert self.step.idempotency_key == f"{self.step.id}:{self.step.attempt_number}"
        assert self.step.legacy_request_key == f"{self.step.id}:r{1 + self.edits}"


AutomationStepMachine.TestCase.settings = STATEFUL
TestAutomationStepMachine = AutomationStepMachine.TestCase


class ManualTaskMachine(RuleBasedStateMachine):
    """Resolving a task works once; it stays resolved with who and how."""

    def __init__(self) -> None:
        super().__init__()
        step, _ = AutomationStep.create(
            "stp_1",
            shipment_id="shp_1",
            shipment_item_id="shi_1",
            fulfillment_order_id="ful_1",
            order_id="ord_1",
            company_id="cmp_1",
            scenario="sensor_return",
            payload=StepPayload(product_id="prd_1", quantity=1),
            config=ScenarioConfig.default("sensor_return"),
            at=START,
        )
        step, _ = step.queue(START)
        step, _ = step.start(START)
        step, _ = step.fail("refused", retryable=False, retry_delay=timedelta(0), at=START)
        self.task, _ = ManualTask.open(
            "mtk_1", step, ScenarioConfig.default("sensor_return"), START
        )
        self.resolutions = 0

    @rule(notes=st.sampled_from(["", "fixed by phone"]), actor=st.sampled_from(["", "ops"]))
    def resolve(self, notes: str, actor: str) -> None:
        allowed = self.task.is_open and bool(notes) and bool(actor)
        resolved: ManualTask | None
        try:
            resolved, _ = self.task.resolve(notes=notes, actor=actor, at=START)
        except (ConflictError, ValidationError):
            resolved = None
        assert (resolved is not None) == allowed
        if resolved is not None:
            self.task = resolved
            self.resolutions += 1

    @invariant()
    def resolved_once_with_its_record(self) -> None:
        assert self.resolutions <= 1
        if self.task.status is TaskStatus.RESOLVED:
            assert self.task.notes
            assert self.task.resolved_by
            assert self.task.resolved_at


ManualTaskMachine.TestCase.settings = settings(max_examples=20, stateful_step_count=5)
TestManualTaskMachine = ManualTaskMachine.TestCase


# -- whole runs --------------------------------------------------------------------------------

Outcome = str  # "ok" | "transient" | "permanent"


def expected_run(failures: list[Outcome], max_attempts: int) -> tuple[StepStatus, int]:
    """Status and attempts once quiet, when the legacy calls fail as `failures` say, then work."""
    for attempt, outcome in enumerate(failures, start=1):
        if outcome == "permanent" or attempt >= max_attempts:
            return StepStatus.FAILED, attempt
    return StepStatus.SUCCEEDED, len(failures) + 1


async def run_until_quiet(failures: list[Outcome], max_attempts: int, duplicate_jobs: bool) -> None:
    deps = make_deps()
    await update_scenario_config(
        deps,
        UpdateScenarioConfig(
            scenario="sensor_vendor_first_time", max_attempts=max_attempts, retry_delay_seconds=60
        ),
    )
    for outcome in failures:
        deps.bridge.fail_next(retryable=outcome == "transient")
    (step,) = await queue_steps_for_delivered_shipment(deps, delivery())
    for _ in range(2 * max_attempts + 2):
        if duplicate_jobs:
            await run_automation_step(deps, RunAutomationStep(step.id))
        await deps.queue.run_due()
        deps.clock.advance(timedelta(seconds=60))

    async with deps.uow() as uow:
        final = await uow.automation_steps.get(step.id)
        tasks = await uow.manual_tasks.for_step(step.id)
    status, attempts = expected_run(failures, max_attempts)
    assert (final.status, final.attempts) == (status, attempts)
    assert final.attempts <= final.max_attempts
    assert deps.queue.pending == {}
    # The legacy system applied the step's write at most once, and exactly once on success.
    assert len(deps.bridge.applied) == int(status is StepStatus.SUCCEEDED)
    assert len(tasks) == int(status is StepStatus.FAILED)
    assert len(deps.notifier.sent) == len(tasks)
    terminal = deps.payloads(AutomationEvent.STEP_SUCCEEDED) + deps.payloads(
        AutomationEvent.STEP_FAILED
    )
    assert len(terminal) == 1
    assert terminal[0]["fulfillment_order_id"] == "ful_1"


@settings(max_examples=40, deadline=None)
@given(
    plan=st.lists(st.sampled_from(["ok", "transient", "permanent"]), max_size=5),
    max_attempts=st.integers(1, 4),
    duplicate_jobs=st.booleans(),
)
def test_runs_settle_as_the_rules_say(
    plan: list[Outcome], max_attempts: int, duplicate_jobs: bool
) -> None:
    """Under any failure sequence (and duplicated jobs) a step ends succeeded or failed for good
    exactly as the rules say, applying its legacy write at most once."""
    failures = plan[: plan.index("ok")] if "ok" in plan else plan
    asyncio.run(run_until_quiet(failures, max_attempts, duplicate_jobs))
