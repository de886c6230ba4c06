"""AutomationStep and ManualTask: construction, the state machine, retries and the fallback."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from platform_core.automation.model import (
    SCENARIO_PLANS,
    STEP_MACHINE,
    AutomationEvent,
    AutomationStep,
    ManualTask,
    ScenarioConfig,
    StepPayload,
    StepStatus,
    TaskStatus,
    automation_settled,
)
from platform_core.legacy.ports import InstallChannel, LegacyOperation
from platform_core.shared.errors import ConflictError, IllegalTransition, ValidationError
from platform_core.shared.scenarios import AutomationScenario

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DELAY = timedelta(minutes=10)
SCENARIO = AutomationScenario.SENSOR_PARTNER_FIRST_TIME
CONFIG = ScenarioConfig.default(SCENARIO)


def new_step(**changes: Any) -> AutomationStep:
    fields: dict[str, Any] = {
        "shipment_id": "shp_1",
        "shipment_item_id": "shi_1",
        "fulfillment_order_id": "ful_1",
        "order_id": "ord_1",
        "company_id": "cmp_1",
        "scenario": SCENARIO,
        "payload": StepPayload(product_id="prd_1", quantity=2),
        "config": CONFIG,
        "at": AT,
        "correlation_id": "corr_1",
    }
    fields.update(changes)
    step, events = AutomationStep.create("stp_1", **fields)
    assert events == []
    return step


def running(attempts: int = 1, **changes: Any) -> AutomationStep:
    """A step in its `attempts`-th attempt."""
    step, _ = new_step(**changes).queue(AT)
    step, _ = step.start(AT)
    for _ in range(attempts - 1):
        step, _ = step.fail("down", retryable=True, retry_delay=DELAY, at=AT)
        step, _ = step.retry(AT)
        step, _ = step.start(AT)
    return step


def exhausted() -> AutomationStep:
    step, _ = running(3).fail("down", retryable=True, retry_delay=DELAY, at=AT)
    return step


# -- construction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"shipment_id": ""}, "shipment_id"),
        ({"fulfillment_order_id": " "}, "fulfillment_order_id"),
        ({"scenario": "sensor_teleport"}, "scenario"),
        ({"at": datetime(2026, 3, 1, 9, 0)}, "at"),
        ({"config": ScenarioConfig.default(AutomationScenario.SENSOR_RETURN)}, "config"),
    ],
)
def test_create_refuses_bad_input(changes: dict[str, Any], field: str) -> None:
    """Missing ids, an unknown scenario, a naive time or another scenario's config are refused."""
    with pytest.raises(ValidationError) as error:
        new_step(**changes)

    assert error.value.details["field"] == field


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -2}, "quantity"),
        ({"quantity": 1, "device_serials": ("SN-1", "SN-2")}, "device_serials"),
        ({"quantity": 3, "replaced_serials": ("SN-1", "SN-1")}, "serial_numbers"),
        ({"quantity": 1, "device_serials": ("",)}, "serial_numbers"),
        ({"quantity": 1, "company_legacy_id": ""}, "company_legacy_id"),
    ],
)
def test_payload_refuses_bad_input(fields: dict[str, Any], field: str) -> None:
    """Non-positive quantities, too many or repeated serials and empty ids are refused."""
    with pytest.raises(ValidationError) as error:
        StepPayload(product_id="prd_1", **fields)

    assert error.value.details["field"] == field


def test_new_step_is_pending_with_the_configs_attempts() -> None:
    """A new step is pending, has made no attempt and takes the config's max_attempts."""
    config = attrs.evolve(CONFIG, max_attempts=5)

    step = new_step(config=config)

    assert (step.status, step.attempts, step.max_attempts) == (StepStatus.PENDING, 0, 5)
    assert step.idempotency_key == "stp_1:1"
    assert step.legacy_request_key == "stp_1:r1"


def test_every_scenario_has_a_legacy_plan() -> None:
    """Each scenario maps to a legacy operation; installs and replacements name a channel."""
    assert set(SCENARIO_PLANS) == set(AutomationScenario)
    assert SCENARIO_PLANS[SCENARIO].operation is LegacyOperation.PROVISION_DEVICE
    assert SCENARIO_PLANS[SCENARIO].channel is InstallChannel.PARTNER
    assert SCENARIO_PLANS[AutomationScenario.SENSOR_RETURN].channel is None
    for scenario, plan in SCENARIO_PLANS.items():
        if plan.operation is not LegacyOperation.RETURN_DEVICE:
            assert plan.channel is not None, scenario


# -- the happy path ----------------------------------------------------------------------------


def test_queue_announces_the_step_with_its_whole_chain() -> None:
    """Queuing emits step_queued naming fulfillment, shipment, order and company."""
    step, events = new_step().queue(AT)

    assert step.status is StepStatus.QUEUED
    (event,) = events
    assert event.type == AutomationEvent.STEP_QUEUED
    assert event.correlation_id == "corr_1"
    assert {
        key: event.payload[key]
        for key in ("step_id", "fulfillment_order_id", "shipment_id", "order_id", "company_id")
    } == {
        "step_id": "stp_1",
        "fulfillment_order_id": "ful_1",
        "shipment_id": "shp_1",
        "order_id": "ord_1",
        "company_id": "cmp_1",
    }


def test_start_counts_the_attempt() -> None:
    """Starting moves queued to running and counts one attempt with its own key."""
    step = running()

    assert (step.status, step.attempts, step.started_at) == (StepStatus.RUNNING, 1, AT)
    assert step.idempotency_key == "stp_1:1"


def test_succeed_settles_the_step_and_names_the_fulfillment() -> None:
    """Success records the legacy reference; the event carries fulfillment_order_id."""
    step, events = running().succeed(legacy_reference="LGY1", device_legacy_ids=["D1"], at=AT)

    assert step.is_settled
    assert (step.legacy_reference, step.legacy_device_ids, step.succeeded_at) == (
        "LGY1",
        ("D1",),
        AT,
    )
    assert events[0].type == AutomationEvent.STEP_SUCCEEDED
    assert events[0].payload["fulfillment_order_id"] == "ful_1"
    assert events[0].payload["legacy_reference"] == "LGY1"


# -- failures and retries ----------------------------------------------------------------------


def test_retryable_failure_below_max_schedules_a_retry() -> None:
    """A retryable failure with attempts left waits retry_delay for the next attempt."""
    step, events = running().fail("timeout", retryable=True, retry_delay=DELAY, at=AT)

    assert step.awaiting_retry
    assert step.next_attempt_at == AT + DELAY
    assert step.idempotency_key == "stp_1:2"
    assert events[0].type == AutomationEvent.STEP_RETRY_SCHEDULED
    assert events[0].payload["next_attempt_at"] == (AT + DELAY).isoformat()


def test_retryable_failure_at_max_is_terminal() -> None:
    """The last allowed attempt failing fails the step for good with step_failed."""
    step, events = running(3).fail("timeout", retryable=True, retry_delay=DELAY, at=AT)

    assert step.is_terminally_failed
    assert step.next_attempt_at is None
    assert events[0].type == AutomationEvent.STEP_FAILED
    assert events[0].payload["attempts"] == 3
    assert events[0].payload["retryable"] is True


def test_non_retryable_failure_is_terminal_at_once() -> None:
    """A refusal by the legacy system fails the step for good on the first attempt."""
    step, events = running().fail("unknown company", retryable=False, retry_delay=DELAY, at=AT)

    assert step.is_terminally_failed
    assert step.attempts == 1
    assert events[0].type == AutomationEvent.STEP_FAILED


def test_failure_needs_a_message() -> None:
    """A failure without an error message is refused."""
    with pytest.raises(ValidationError) as error:
        running().fail(" ", retryable=True, retry_delay=DELAY, at=AT)

    assert error.value.details["field"] == "error"


def test_automatic_retry_requeues_a_waiting_step() -> None:
    """The automatic retry moves a waiting step back to queued for its next attempt."""
    waiting, _ = running().fail("down", retryable=True, retry_delay=DELAY, at=AT)

    step, events = waiting.retry(AT + DELAY)

    assert step.status is StepStatus.QUEUED
    assert step.next_attempt_at is None
    assert events[0].payload["reason"] == "retry"
    assert events[0].payload["attempt"] == 2


def test_automatic_retry_is_refused_past_max_attempts() -> None:
    """An exhausted step cannot be retried automatically and stays as it was."""
    step = exhausted()

    with pytest.raises(ConflictError) as error:
        step.retry(AT)

    assert error.value.details["max_attempts"] == 3
    assert step.is_terminally_failed


def test_automatic_retry_is_refused_after_a_non_retryable_error() -> None:
    """A step refused by the legacy system is not retried automatically."""
    step, _ = running().fail("refused", retryable=False, retry_delay=DELAY, at=AT)

    with pytest.raises(ConflictError):
        step.retry(AT)


def test_ops_retry_of_an_exhausted_step_grants_one_attempt() -> None:
    """Ops retrying an exhausted step grants exactly one more attempt, on record."""
    step, events = exhausted().retry_by_ops("ops@example.com", AT)

    assert (step.status, step.granted_attempts, step.attempt_limit) == (StepStatus.QUEUED, 1, 4)
    assert events[0].payload["reason"] == "ops_retry"
    assert events[0].payload["actor"] == "ops@example.com"
    step, _ = step.start(AT)
    assert step.attempts == 4


def test_ops_retry_after_a_refusal_grants_nothing() -> None:
    """Ops retrying a step refused on its first attempt uses the attempts it has left."""
    refused, _ = running().fail("refused", retryable=False, retry_delay=DELAY, at=AT)

    step, _ = refused.retry_by_ops("ops", AT)

    assert step.granted_attempts == 0
    assert step.status is StepStatus.QUEUED


def test_ops_retry_needs_an_actor() -> None:
    """An ops retry without an actor is refused."""
    with pytest.raises(ValidationError) as error:
        exhausted().retry_by_ops("", AT)

    assert error.value.details["field"] == "actor"


# -- fallback ----------------------------------------------------------------------------------


def test_fallback_settles_a_failed_step_with_notes() -> None:
    """Ops' fallback settles a failed step; the event carries notes and fulfillment_order_id."""
    step, events = exhausted().trigger_fallback(notes="Provisioned by phone", actor="ops", at=AT)

    assert step.status is StepStatus.FALLBACK_TRIGGERED
    assert step.is_settled
    assert (step.fallback_notes, step.fallback_actor, step.fallback_at) == (
        "Provisioned by phone",
        "ops",
        AT,
    )
    assert events[0].type == AutomationEvent.FALLBACK_TRIGGERED
    assert events[0].payload["fulfillment_order_id"] == "ful_1"
    assert events[0].payload["notes"] == "Provisioned by phone"


def test_ops_may_fall_back_while_a_retry_waits() -> None:
    """Ops may stop waiting for a scheduled retry and fall back."""
    waiting, _ = running().fail("down", retryable=True, retry_delay=DELAY, at=AT)

    step, _ = waiting.trigger_fallback(notes="done by hand", actor="ops", at=AT)

    assert step.next_attempt_at is None
    assert step.is_settled


@pytest.mark.parametrize(("notes", "actor", "field"), [("", "ops", "notes"), ("x", " ", "actor")])
def test_fallback_needs_notes_and_actor(notes: str, actor: str, field: str) -> None:
    """A fallback without notes or actor is refused and the step stays failed."""
    step = exhausted()

    with pytest.raises(ValidationError) as error:
        step.trigger_fallback(notes=notes, actor=actor, at=AT)

    assert error.value.details["field"] == field
    assert step.is_terminally_failed


# -- illegal transitions -----------------------------------------------------------------------


def succeeded() -> AutomationStep:
    step, _ = running().succeed(legacy_reference="LGY1", at=AT)
    return step


def fallen_back() -> AutomationStep:
    step, _ = exhausted().trigger_fallback(notes="n", actor="ops", at=AT)
    return step


ILLEGAL: list[tuple[str, Callable[[], AutomationStep], Callable[[AutomationStep], object]]] = [
    ("start a pending step", new_step, lambda s: s.start(AT)),
    ("queue a running step", running, lambda s: s.queue(AT)),
    ("succeed a queued step", lambda: new_step().queue(AT)[0], lambda s: s.succeed(
        legacy_reference="L", at=AT)),
    ("fail a pending step", new_step, lambda s: s.fail("x", retryable=True, retry_delay=DELAY,
                                                       at=AT)),
    ("fall back a running step", running, lambda s: s.trigger_fallback(notes="n", actor="o",
                                                                       at=AT)),
    ("retry a succeeded step", succeeded, lambda s: s.retry_by_ops("ops", AT)),
    ("fail a succeeded step", succeeded, lambda s: s.fail("x", retryable=True, retry_delay=DELAY,
                                                          at=AT)),
    ("edit a running step", running, lambda s: s.edit(actor="ops", at=AT, device_serials=["S"])),
    ("edit a settled step", fallen_back, lambda s: s.edit(actor="ops", at=AT,
                                                          device_serials=["S"])),
    ("retry a fallen-back step", fallen_back, lambda s: s.retry_by_ops("ops", AT)),
]  # fmt: skip


@pytest.mark.parametrize(("name", "build", "command"), ILLEGAL, ids=[case[0] for case in ILLEGAL])
def test_illegal_transitions_are_refused(
    name: str, build: Callable[[], AutomationStep], command: Callable[[AutomationStep], object]
) -> None:
    """Every move outside the transition table raises IllegalTransition; nothing changes."""
    step = build()
    snapshot = attrs.asdict(step, recurse=False)

    with pytest.raises(IllegalTransition) as error:
        command(step)

    assert error.value.machine == STEP_MACHINE.name
    assert attrs.asdict(step, recurse=False) == snapshot


def test_settled_states_are_terminal() -> None:
    """succeeded and fallback_triggered have no way out in the table."""
    for status in (StepStatus.SUCCEEDED, StepStatus.FALLBACK_TRIGGERED):
        assert STEP_MACHINE.is_terminal(status)
        assert STEP_MACHINE.triggers_from(status) == []


# -- editing -----------------------------------------------------------------------------------


def test_edit_changes_the_request_and_its_legacy_key() -> None:
    """A changed payload is a new legacy request with a new idempotency key."""
    waiting, _ = running().fail("bad serial", retryable=False, retry_delay=DELAY, at=AT)

    step, events = waiting.edit(actor="ops", at=AT, device_serials=["SN-9"])

    assert step.payload.device_serials == ("SN-9",)
    assert step.legacy_request_key == "stp_1:r2"
    assert step.status is StepStatus.FAILED
    assert events[0].type == AutomationEvent.STEP_UPDATED
    assert events[0].payload["changed_fields"] == ["device_serials"]


def test_edit_without_change_records_nothing() -> None:
    """Editing to the same values keeps the step and its key."""
    step = new_step(payload=StepPayload(product_id="prd_1", quantity=1, device_serials=("S1",)))

    edited, events = step.edit(actor="ops", at=AT, device_serials=["S1"])

    assert (edited, events) == (step, [])


def test_edit_refuses_more_serials_than_units() -> None:
    """Serials beyond the quantity are refused."""
    with pytest.raises(ValidationError) as error:
        new_step().edit(actor="ops", at=AT, device_serials=["A", "B", "C"])

    assert error.value.details["field"] == "device_serials"


# -- manual tasks ------------------------------------------------------------------------------


def test_manual_task_describes_the_fallback_and_the_error() -> None:
    """The task for a failed step carries the scenario's fallback text and the last error."""
    task, events = ManualTask.open("mtk_1", exhausted(), CONFIG, AT)

    assert task.status is TaskStatus.OPEN
    assert CONFIG.fallback_description in task.description
    assert "down" in task.description
    assert events[0].type == AutomationEvent.MANUAL_TASK_CREATED
    assert events[0].payload["fulfillment_order_id"] == "ful_1"


def test_manual_task_only_for_a_terminal_failure() -> None:
    """No task is opened for a step still waiting for its retry."""
    waiting, _ = running().fail("down", retryable=True, retry_delay=DELAY, at=AT)

    with pytest.raises(ConflictError):
        ManualTask.open("mtk_1", waiting, CONFIG, AT)
    with pytest.raises(ConflictError):
        waiting.attach_manual_task("mtk_1")


def test_manual_task_resolves_once() -> None:
    """A resolved task records who and how; resolving it again is refused."""
    task, _ = ManualTask.open("mtk_1", exhausted(), CONFIG, AT)

    resolved, events = task.resolve(notes="done", actor="ops", at=AT)

    assert (resolved.status, resolved.resolved_by, resolved.notes) == (
        TaskStatus.RESOLVED,
        "ops",
        "done",
    )
    assert events[0].type == AutomationEvent.MANUAL_TASK_RESOLVED
    with pytest.raises(IllegalTransition):
        resolved.resolve(notes="again", actor="ops", at=AT)


def test_automation_is_settled_only_when_every_step_is() -> None:
    """Settled means every step succeeded or fell back; no steps is settled."""
    assert automation_settled([])
    assert automation_settled([succeeded(), fallen_back()])
    assert not automation_settled([succeeded(), exhausted()])
