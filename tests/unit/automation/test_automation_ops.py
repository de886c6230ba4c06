"""Ops actions on automation steps (retry, fallback, edit, create, configure) and the cron
safety net that requeues due retries and lost jobs."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from automation_deps import VENDOR_FIRST, AutomationTestDeps, delivery

from platform_core.automation.model import (
    AutomationEvent,
    AutomationStep,
    ScenarioConfig,
    StepPayload,
    StepStatus,
)
from platform_core.automation.service import (
    CreateStep,
    RetryDueSteps,
    RetryStep,
    TriggerFallback,
    UpdateScenarioConfig,
    UpdateStep,
    automation_settled_for,
    create_step,
    list_scenario_configs,
    queue_steps_for_delivered_shipment,
    retry_due_steps,
    retry_step,
    trigger_fallback,
    update_scenario_config,
    update_step,
)
from platform_core.shared.errors import ConflictError, IllegalTransition, ValidationError
from platform_core.shared.scenarios import AutomationScenario

TEN_MINUTES = timedelta(minutes=10)
STEP = "stp_000001"


async def stored(deps: AutomationTestDeps, step_id: str = STEP) -> AutomationStep:
    async with deps.uow() as uow:
        return await uow.automation_steps.get(step_id)


async def failed_for_good(deps: AutomationTestDeps) -> AutomationStep:
    """A delivered step whose three attempts all failed."""
    await queue_steps_for_delivered_shipment(deps, delivery())
    deps.bridge.fail_next(3, retryable=True)
    for _ in range(3):
        await deps.queue.run_due()
        deps.clock.advance(TEN_MINUTES)
    step = await stored(deps)
    assert step.is_terminally_failed
    return step


async def waiting_for_retry(deps: AutomationTestDeps) -> AutomationStep:
    await queue_steps_for_delivered_shipment(deps, delivery())
    deps.bridge.fail_next(1, retryable=True)
    await deps.queue.run_due()
    step = await stored(deps)
    assert step.awaiting_retry
    return step


async def open_tasks(deps: AutomationTestDeps) -> int:
    async with deps.uow() as uow:
        return len(await uow.manual_tasks.open_tasks())


# -- Ops retry ---------------------------------------------------------------------------------


async def test_ops_retry_of_an_exhausted_step_runs_one_more_attempt(
    deps: AutomationTestDeps,
) -> None:
    """Ops' retry grants a fourth attempt; its success resolves the manual task."""
    await failed_for_good(deps)

    queued = await retry_step(deps, RetryStep(STEP, actor="ops@example.com"))
    await deps.queue.run_due()

    assert (queued.status, queued.granted_attempts) == (StepStatus.QUEUED, 1)
    step = await stored(deps)
    assert (step.status, step.attempts) == (StepStatus.SUCCEEDED, 4)
    assert await open_tasks(deps) == 0
    assert AutomationEvent.MANUAL_TASK_RESOLVED in deps.event_types()


async def test_a_failed_ops_retry_reuses_the_open_task(deps: AutomationTestDeps) -> None:
    """If Ops' extra attempt fails too, the step fails again without a second task."""
    await failed_for_good(deps)
    deps.bridge.fail_next(1, retryable=True)

    await retry_step(deps, RetryStep(STEP, actor="ops"))
    await deps.queue.run_due()

    step = await stored(deps)
    assert (step.is_terminally_failed, step.attempts) == (True, 4)
    assert await open_tasks(deps) == 1
    assert len(deps.payloads(AutomationEvent.MANUAL_TASK_CREATED)) == 1
    assert len(deps.notifier.sent) == 2


async def test_ops_retry_runs_a_waiting_step_now(deps: AutomationTestDeps) -> None:
    """Retrying a step that waits for its automatic retry runs it at once; the delayed job
    then finds nothing to do."""
    await waiting_for_retry(deps)

    await retry_step(deps, RetryStep(STEP, actor="ops"))
    await deps.queue.run_due()
    assert (await stored(deps)).status is StepStatus.SUCCEEDED
    deps.clock.advance(TEN_MINUTES)
    await deps.queue.run_due()

    step = await stored(deps)
    assert (step.status, step.attempts, step.granted_attempts) == (StepStatus.SUCCEEDED, 2, 0)
    assert len(deps.bridge.calls) == 2


async def test_ops_retry_of_a_succeeded_step_is_refused(deps: AutomationTestDeps) -> None:
    """Only failed steps can be retried; the step is left as it was."""
    await queue_steps_for_delivered_shipment(deps, delivery())
    await deps.queue.run_due()
    before = await stored(deps)

    with pytest.raises(IllegalTransition):
        await retry_step(deps, RetryStep(STEP, actor="ops"))

    assert await stored(deps) == before


# -- fallback ----------------------------------------------------------------------------------


async def test_fallback_settles_the_step_and_resolves_its_task(deps: AutomationTestDeps) -> None:
    """Ops' fallback settles the step and resolves its manual task with the same notes."""
    await failed_for_good(deps)

    step = await trigger_fallback(
        deps, TriggerFallback(STEP, notes="Provisioned by phone", actor="ops", correlation_id="c9")
    )

    assert step.status is StepStatus.FALLBACK_TRIGGERED
    async with deps.uow() as uow:
        (task,) = await uow.manual_tasks.for_step(STEP)
    assert (task.is_open, task.notes, task.resolved_by) == (False, "Provisioned by phone", "ops")
    (event,) = deps.payloads(AutomationEvent.FALLBACK_TRIGGERED)
    assert event["fulfillment_order_id"] == "ful_1"
    assert event["manual_task_id"] == task.id
    assert await automation_settled_for(deps, "ful_1")


async def test_fallback_without_notes_is_refused(deps: AutomationTestDeps) -> None:
    """Notes are required; the step and its task stay as they were."""
    before = await failed_for_good(deps)

    with pytest.raises(ValidationError) as error:
        await trigger_fallback(deps, TriggerFallback(STEP, notes="   ", actor="ops"))

    assert error.value.details["field"] == "notes"
    assert await stored(deps) == before
    assert await open_tasks(deps) == 1


async def test_fallback_of_a_queued_step_is_refused(deps: AutomationTestDeps) -> None:
    """A step that has not failed cannot fall back."""
    await queue_steps_for_delivered_shipment(deps, delivery())

    with pytest.raises(IllegalTransition):
        await trigger_fallback(deps, TriggerFallback(STEP, notes="n", actor="ops"))

    assert (await stored(deps)).status is StepStatus.QUEUED


# -- editing and creating ----------------------------------------------------------------------


async def test_update_step_changes_the_request_sent_next(deps: AutomationTestDeps) -> None:
    """Corrected serials are sent on the next attempt under a new legacy key."""
    await queue_steps_for_delivered_shipment(deps, delivery())
    deps.bridge.fail_next(1, retryable=False, message="serial SN-1 unknown")
    await deps.queue.run_due()

    edited = await update_step(
        deps, UpdateStep(step_id=STEP, actor="ops", device_serials=("SN-7", "SN-8"))
    )
    await retry_step(deps, RetryStep(STEP, actor="ops"))
    await deps.queue.run_due()

    assert edited.legacy_request_key == f"{STEP}:r2"
    assert (await stored(deps)).status is StepStatus.SUCCEEDED
    assert deps.bridge.calls[-1].idempotency_key == f"{STEP}:r2"
    assert {d.serial_number for d in deps.bridge.devices.values()} == {"SN-7", "SN-8"}


async def test_update_of_a_settled_step_is_refused(deps: AutomationTestDeps) -> None:
    """A succeeded step's request cannot change."""
    await queue_steps_for_delivered_shipment(deps, delivery())
    await deps.queue.run_due()

    with pytest.raises(IllegalTransition):
        await update_step(deps, UpdateStep(step_id=STEP, actor="ops", device_serials=("X",)))


async def test_update_without_change_records_nothing(deps: AutomationTestDeps) -> None:
    """Sending the current values back changes nothing."""
    await queue_steps_for_delivered_shipment(deps, delivery())
    before = await stored(deps)

    after = await update_step(
        deps, UpdateStep(step_id=STEP, actor="ops", device_serials=("SN-1", "SN-2"))
    )

    assert after == before
    assert AutomationEvent.STEP_UPDATED not in deps.event_types()


def manual(**changes: object) -> CreateStep:
    fields: dict[str, object] = {
        "shipment_id": "shp_1",
        "shipment_item_id": "shi_9",
        "fulfillment_order_id": "ful_1",
        "order_id": "ord_1",
        "company_id": "cmp_1",
        "scenario": "sensor_return",
        "product_id": "prd_1",
        "quantity": 1,
    }
    fields.update(changes)
    return CreateStep(**fields)  # type: ignore[arg-type]


async def test_create_step_queues_and_enqueues_it(deps: AutomationTestDeps) -> None:
    """A step created by Ops is queued, announced and run like any other."""
    step = await create_step(deps, manual())
    await deps.queue.run_due()

    assert step.status is StepStatus.QUEUED
    assert (await stored(deps, step.id)).status is StepStatus.SUCCEEDED
    assert deps.bridge.calls[0].operation == "return_device"


async def test_a_second_step_for_the_same_item_and_scenario_is_refused(
    deps: AutomationTestDeps,
) -> None:
    """One step per shipment item and scenario: a duplicate is a conflict."""
    await queue_steps_for_delivered_shipment(deps, delivery())

    with pytest.raises(ConflictError) as error:
        await create_step(deps, manual(shipment_item_id="shi_1", scenario=VENDOR_FIRST))

    assert error.value.details["step_id"] == STEP
    assert len(deps.db.table("automation_steps")) == 1


async def test_the_store_refuses_a_concurrent_duplicate(deps: AutomationTestDeps) -> None:
    """Two transactions adding a step for the same item and scenario: the second commit fails."""
    step, _ = AutomationStep.create(
        "stp_a",
        shipment_id="shp_1",
        shipment_item_id="shi_1",
        fulfillment_order_id="ful_1",
        order_id="ord_1",
        company_id="cmp_1",
        scenario=VENDOR_FIRST,
        payload=StepPayload(product_id="prd_1", quantity=1),
        config=ScenarioConfig.default(VENDOR_FIRST),
        at=deps.clock.now(),
    )
    first, second = deps.uow(), deps.uow()

    async with first, second:
        await first.automation_steps.add(step)
        await second.automation_steps.add(attrs.evolve(step, id="stp_b"))
        await first.commit()
        with pytest.raises(ConflictError):
            await second.commit()

    assert list(deps.db.table("automation_steps")) == ["stp_a"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"quantity": 0}, "quantity"), ({"shipment_item_id": ""}, "shipment_item_id")],
)
async def test_create_step_refuses_bad_input(
    deps: AutomationTestDeps, changes: dict[str, object], field: str
) -> None:
    """A manual step with a bad quantity or id is refused and nothing is stored."""
    with pytest.raises(ValidationError) as error:
        await create_step(deps, manual(**changes))

    assert error.value.details["field"] == field
    assert deps.queue.pending == {}


# -- scenario configs --------------------------------------------------------------------------


async def test_config_updates_are_stored_and_listed(deps: AutomationTestDeps) -> None:
    """An updated config replaces the default in the listing; others keep their defaults."""
    updated = await update_scenario_config(
        deps,
        UpdateScenarioConfig(scenario="sensor_return", max_attempts=5, retry_delay_seconds=60),
    )
    again = await update_scenario_config(
        deps, UpdateScenarioConfig(scenario="sensor_return", timeout_seconds=30)
    )

    configs = {config.scenario: config for config in await list_scenario_configs(deps)}
    assert (updated.max_attempts, updated.version) == (5, 1)
    assert (again.timeout_seconds, again.max_attempts, again.version) == (30, 5, 2)
    assert configs[AutomationScenario.SENSOR_RETURN] == again
    assert configs[VENDOR_FIRST].max_attempts == 3
    assert len(deps.payloads(AutomationEvent.SCENARIO_CONFIG_UPDATED)) == 2


async def test_existing_steps_keep_their_max_attempts(deps: AutomationTestDeps) -> None:
    """Lowering max_attempts does not cut short a step created before."""
    await queue_steps_for_delivered_shipment(deps, delivery())
    await update_scenario_config(deps, UpdateScenarioConfig(scenario=VENDOR_FIRST, max_attempts=1))
    deps.bridge.fail_next(1, retryable=True)

    await deps.queue.run_due()

    assert (await stored(deps)).awaiting_retry


async def test_config_update_with_bad_values_is_refused(deps: AutomationTestDeps) -> None:
    """A negative delay is refused and nothing is stored."""
    with pytest.raises(ValidationError):
        await update_scenario_config(
            deps, UpdateScenarioConfig(scenario=VENDOR_FIRST, retry_delay_seconds=-1)
        )

    assert deps.db.table("automation_scenario_configs") == {}


def test_config_command_refuses_non_positive_attempts() -> None:
    """The command itself refuses zero attempts."""
    with pytest.raises(ValidationError) as error:
        UpdateScenarioConfig(scenario=VENDOR_FIRST, max_attempts=0)

    assert error.value.details["field"] == "max_attempts"


# -- the cron safety net -----------------------------------------------------------------------


async def test_retry_due_steps_requeues_a_due_retry_whose_job_was_lost(
    deps: AutomationTestDeps,
) -> None:
    """A waiting step past next_attempt_at is requeued and enqueued; not before."""
    await waiting_for_retry(deps)
    deps.queue.pending.clear()

    assert await retry_due_steps(deps) == []
    deps.clock.advance(TEN_MINUTES)
    (requeued,) = await retry_due_steps(deps)
    await deps.queue.run_due()

    assert requeued.status is StepStatus.QUEUED
    assert (await stored(deps)).status is StepStatus.SUCCEEDED


async def test_retry_due_steps_re_enqueues_a_stalled_queued_step(deps: AutomationTestDeps) -> None:
    """A step queued long ago whose job is gone is enqueued again under the same key."""
    await queue_steps_for_delivered_shipment(deps, delivery())
    deps.queue.pending.clear()
    deps.clock.advance(timedelta(minutes=16))

    (step,) = await retry_due_steps(deps, RetryDueSteps(stalled_after_seconds=900))

    assert step.status is StepStatus.QUEUED
    assert list(deps.queue.pending) == [f"{STEP}:1"]


async def test_retry_due_steps_leaves_settled_and_exhausted_steps(
    deps: AutomationTestDeps,
) -> None:
    """Steps that failed for good or succeeded are not touched by the cron."""
    await failed_for_good(deps)
    deps.clock.advance(timedelta(days=1))

    assert await retry_due_steps(deps) == []
    assert deps.queue.pending == {}


async def test_settled_for_reports_unsettled_steps(deps: AutomationTestDeps) -> None:
    """A fulfillment order's automation is settled only once every step is."""
    await queue_steps_for_delivered_shipment(deps, delivery())
    assert not await automation_settled_for(deps, "ful_1")

    await deps.queue.run_due()

    assert await automation_settled_for(deps, "ful_1")
    assert await automation_settled_for(deps, "ful_without_steps")
