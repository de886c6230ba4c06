"""Queuing steps for a delivered shipment and running them against the fake legacy bridge."""

from __future__ import annotations

from datetime import timedelta

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
    AUTOMATION_QUEUE,
    DeliveredItem,
    RunAutomationStep,
    UpdateScenarioConfig,
    queue_steps_for_delivered_shipment,
    run_automation_step,
    update_scenario_config,
)
from platform_core.legacy.ports import BridgeResult, InstallChannel, ProvisionDevice
from platform_core.shared.errors import NotAttempted, ValidationError
from platform_core.shared.scenarios import AutomationScenario

RETURN = AutomationScenario.SENSOR_RETURN
TEN_MINUTES = timedelta(minutes=10)


async def one_step(deps: AutomationTestDeps) -> AutomationStep:
    (step,) = await queue_steps_for_delivered_shipment(deps, delivery())
    return step


async def stored(deps: AutomationTestDeps, step_id: str = "stp_000001") -> AutomationStep:
    async with deps.uow() as uow:
        return await uow.automation_steps.get(step_id)


# -- queuing -----------------------------------------------------------------------------------


async def test_delivery_queues_one_step_per_item_with_a_scenario(deps: AutomationTestDeps) -> None:
    """Items with a scenario get a queued step each; items without one get none."""
    steps = await queue_steps_for_delivered_shipment(
        deps,
        delivery(
            DeliveredItem("shi_1", "prd_1", 2, VENDOR_FIRST),
            DeliveredItem("shi_2", "prd_2", 1, None),
            DeliveredItem("shi_3", "prd_3", 1, "sensor_return"),
        ),
    )

    assert [(s.shipment_item_id, s.scenario, s.status) for s in steps] == [
        ("shi_1", VENDOR_FIRST, StepStatus.QUEUED),
        ("shi_3", RETURN, StepStatus.QUEUED),
    ]
    assert steps[0].payload == StepPayload(product_id="prd_1", quantity=2, company_legacy_id="C100")
    assert deps.event_types() == [AutomationEvent.STEP_QUEUED] * 2
    assert {s.event.correlation_id for s in deps.db.events} == {"corr_1"}


async def test_queued_steps_are_enqueued_after_commit_under_their_attempt_key(
    deps: AutomationTestDeps,
) -> None:
    """Each queued step has one job keyed `<step>:1` whose payload names step and attempt."""
    step = await one_step(deps)

    job = deps.queue.pending["stp_000001:1"]
    assert (job.queue, job.payload) == (AUTOMATION_QUEUE, {"step_id": step.id, "attempt": 1})
    assert deps.db.table("automation_steps")[step.id].status is StepStatus.QUEUED


async def test_delivery_is_idempotent(deps: AutomationTestDeps) -> None:
    """A second delivery of the same shipment creates no step, event or job."""
    first = await queue_steps_for_delivered_shipment(deps, delivery())

    again = await queue_steps_for_delivered_shipment(deps, delivery())

    assert again == first
    assert len(deps.db.events) == 1
    assert list(deps.queue.pending) == ["stp_000001:1"]


async def test_redelivery_re_enqueues_a_queued_step_whose_job_was_lost(
    deps: AutomationTestDeps,
) -> None:
    """If the enqueue after the commit was lost, the next delivery of the event enqueues it."""
    await one_step(deps)
    deps.queue.pending.clear()

    await queue_steps_for_delivered_shipment(deps, delivery())

    assert list(deps.queue.pending) == ["stp_000001:1"]


async def test_delivery_with_a_repeated_item_is_refused(deps: AutomationTestDeps) -> None:
    """A command listing a shipment item twice is refused and creates nothing."""
    item = DeliveredItem("shi_1", "prd_1", 1, VENDOR_FIRST)

    with pytest.raises(ValidationError) as error:
        await queue_steps_for_delivered_shipment(deps, delivery(item, item))

    assert error.value.details["field"] == "items"
    assert deps.db.table("automation_steps") == {}


async def test_delivery_with_a_bad_quantity_creates_nothing(deps: AutomationTestDeps) -> None:
    """A non-positive quantity is refused before anything is stored or enqueued."""
    with pytest.raises(ValidationError):
        await queue_steps_for_delivered_shipment(
            deps, delivery(DeliveredItem("shi_1", "prd_1", 0, VENDOR_FIRST))
        )

    assert deps.db.table("automation_steps") == {}
    assert deps.queue.pending == {}


async def test_steps_take_the_scenarios_current_max_attempts(deps: AutomationTestDeps) -> None:
    """A step created after a config change takes the new max_attempts."""
    await update_scenario_config(deps, UpdateScenarioConfig(scenario=VENDOR_FIRST, max_attempts=5))

    step = await one_step(deps)

    assert step.max_attempts == 5


# -- running -----------------------------------------------------------------------------------


async def test_successful_run_settles_the_step(deps: AutomationTestDeps) -> None:
    """The job provisions the devices once and the step succeeds with the legacy reference."""
    await one_step(deps)

    await deps.queue.run_due()

    step = await stored(deps)
    assert (step.status, step.attempts, step.legacy_reference) == (
        StepStatus.SUCCEEDED,
        1,
        "LGY000001",
    )
    (call,) = deps.bridge.calls_to("provision_device")
    assert isinstance(call.request, ProvisionDevice)
    assert call.request.channel is InstallChannel.VENDOR
    assert call.request.device_serials == ("SN-1", "SN-2")
    assert (call.idempotency_key, call.correlation_id) == ("stp_000001:r1", "corr_1")
    assert deps.event_types() == [
        AutomationEvent.STEP_QUEUED,
        AutomationEvent.STEP_STARTED,
        AutomationEvent.STEP_SUCCEEDED,
    ]
    (succeeded,) = deps.payloads(AutomationEvent.STEP_SUCCEEDED)
    assert succeeded["fulfillment_order_id"] == "ful_1"
    assert succeeded["legacy_device_ids"] == list(step.legacy_device_ids)


async def test_each_scenario_calls_its_legacy_operation(deps: AutomationTestDeps) -> None:
    """Returns call return_device, replacements replace_device, first installs provision."""
    await queue_steps_for_delivered_shipment(
        deps,
        delivery(
            DeliveredItem("shi_1", "prd_1", 1, AutomationScenario.SENSOR_PARTNER_REPLACEMENT),
            DeliveredItem("shi_2", "prd_1", 1, RETURN),
            DeliveredItem("shi_3", "prd_1", 1, AutomationScenario.SENSOR_PARTNER_FIRST_TIME),
        ),
    )

    await deps.queue.run_due()

    assert [call.operation for call in deps.bridge.calls] == [
        "replace_device",
        "return_device",
        "provision_device",
    ]


async def test_a_duplicate_job_does_nothing(deps: AutomationTestDeps) -> None:
    """Running a settled step again neither calls the legacy system nor records anything."""
    step = await one_step(deps)
    await deps.queue.run_due()
    events_before = len(deps.db.events)

    again = await run_automation_step(deps, RunAutomationStep(step.id))

    assert again.status is StepStatus.SUCCEEDED
    assert len(deps.bridge.calls) == 1
    assert len(deps.db.events) == events_before


async def test_a_job_for_another_attempt_does_nothing(deps: AutomationTestDeps) -> None:
    """A stale job (its attempt is not the step's current one) leaves the step alone."""
    step = await one_step(deps)

    result = await run_automation_step(deps, RunAutomationStep(step.id, attempt=2))

    assert result.status is StepStatus.QUEUED
    assert deps.bridge.calls == []


async def test_transient_failure_schedules_a_delayed_retry(deps: AutomationTestDeps) -> None:
    """A retryable failure waits retry_delay_seconds, then the delayed job's attempt succeeds."""
    await one_step(deps)
    deps.bridge.fail_next(1, retryable=True)

    await deps.queue.run_due()

    step = await stored(deps)
    assert step.awaiting_retry
    assert step.next_attempt_at == deps.clock.now() + TEN_MINUTES
    job = deps.queue.pending["stp_000001:2"]
    assert job.due_at == deps.clock.now() + TEN_MINUTES
    assert job.payload == {"step_id": step.id, "attempt": 2}
    (scheduled,) = deps.payloads(AutomationEvent.STEP_RETRY_SCHEDULED)
    assert scheduled["error"] == "legacy system unavailable"

    deps.clock.advance(TEN_MINUTES)
    await deps.queue.run_due()

    step = await stored(deps)
    assert (step.status, step.attempts) == (StepStatus.SUCCEEDED, 2)
    assert deps.notifier.sent == []


async def test_a_call_the_bridge_did_not_make_gives_the_attempt_back(
    deps: AutomationTestDeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the bridge's breaker is open (NotAttempted) the step is queued again after the
    retry delay with its attempt given back: an outage never uses up a step's attempts, and
    the next attempt sends the same legacy request key."""
    await one_step(deps)
    provision = deps.bridge.provision_device
    refusals = 0

    async def breaker_open_twice(request: ProvisionDevice) -> BridgeResult:
        nonlocal refusals
        if refusals < 2:
            refusals += 1
            raise NotAttempted("circuit breaker open", {"breaker": "open"})
        return await provision(request)

    monkeypatch.setattr(deps.bridge, "provision_device", breaker_open_twice)
    await deps.queue.run_due()

    step = await stored(deps)
    assert (step.status, step.attempts, step.queued_at) == (
        StepStatus.QUEUED,
        0,
        deps.clock.now() + TEN_MINUTES,
    )
    (deferred,) = deps.payloads(AutomationEvent.STEP_DEFERRED)
    assert (deferred["attempt"], deferred["reason"]) == (1, "circuit breaker open")
    assert [job.due_at for job in deps.queue.pending.values()] == [deps.clock.now() + TEN_MINUTES]

    for _ in range(2):
        deps.clock.advance(TEN_MINUTES)
        await deps.queue.run_due()

    step = await stored(deps)
    assert (step.status, step.attempts) == (StepStatus.SUCCEEDED, 1)
    (call,) = deps.bridge.calls_to("provision_device")
    assert call.idempotency_key == "stp_000001:r1"
    assert AutomationEvent.STEP_RETRY_SCHEDULED not in deps.event_types()
    assert deps.notifier.sent == []


async def test_exhausted_step_fails_opens_a_task_and_tells_ops(deps: AutomationTestDeps) -> None:
    """After max attempts the step fails for good: step_failed, one manual task, a notification."""
    await one_step(deps)
    deps.bridge.fail_next(3, retryable=True)

    for _ in range(3):
        await deps.queue.run_due()
        deps.clock.advance(TEN_MINUTES)

    step = await stored(deps)
    assert step.is_terminally_failed
    assert step.attempts == 3
    assert deps.queue.pending == {}
    async with deps.uow() as uow:
        (task,) = await uow.manual_tasks.open_tasks()
    assert step.manual_task_id == task.id
    config = ScenarioConfig.default(VENDOR_FIRST)
    assert task.description.startswith(config.fallback_description)
    (failed,) = deps.payloads(AutomationEvent.STEP_FAILED)
    assert (failed["attempts"], failed["fulfillment_order_id"]) == (3, "ful_1")
    assert deps.payloads(AutomationEvent.MANUAL_TASK_CREATED)[0]["step_id"] == step.id
    (notice,) = deps.notifier.sent
    assert notice.related["manual_task_id"] == task.id
    assert notice.severity == "warning"


async def test_non_retryable_error_fails_at_once(deps: AutomationTestDeps) -> None:
    """A refusal by the legacy system fails the step on its first attempt, with a task."""
    await one_step(deps)
    deps.bridge.fail_next(1, retryable=False, message="company locked")

    await deps.queue.run_due()

    step = await stored(deps)
    assert (step.is_terminally_failed, step.attempts, step.last_error) == (
        True,
        1,
        "company locked",
    )
    assert deps.queue.pending == {}
    assert len(deps.notifier.sent) == 1


async def test_legacy_refusal_from_bad_data_is_terminal(deps: AutomationTestDeps) -> None:
    """A step for a company the legacy system lacks fails for good on its first attempt."""
    await queue_steps_for_delivered_shipment(deps, delivery(company_legacy_id="C404"))

    await deps.queue.run_due()

    step = await stored(deps)
    assert step.is_terminally_failed
    assert step.last_error_retryable is False


async def test_a_call_past_the_timeout_is_a_retryable_failure(deps: AutomationTestDeps) -> None:
    """A legacy call that does not answer within timeout_seconds fails the attempt, retryably."""
    await update_scenario_config(
        deps, UpdateScenarioConfig(scenario=VENDOR_FIRST, timeout_seconds=1)
    )
    await one_step(deps)
    deps.bridge.stall_next()

    await deps.queue.run_due()

    step = await stored(deps)
    assert step.awaiting_retry
    assert step.last_error == "the legacy system did not answer within 1s"


async def test_a_write_already_applied_is_not_applied_twice(deps: AutomationTestDeps) -> None:
    """If an earlier attempt reached the legacy system, the next attempt gets its replay."""
    step = await one_step(deps)
    first = await deps.bridge.provision_device(
        ProvisionDevice(
            idempotency_key=step.legacy_request_key,
            correlation_id="corr_1",
            channel=InstallChannel.VENDOR,
            company_id="cmp_1",
            company_legacy_id="C100",
            product_id="prd_1",
            quantity=2,
            device_serials=("SN-1", "SN-2"),
            order_id="ord_1",
            shipment_id="shp_1",
        )
    )

    await deps.queue.run_due()

    assert (await stored(deps)).legacy_reference == first.reference
    assert len(deps.bridge.applied) == 1
    assert len(deps.bridge.devices) == 2


async def test_a_running_step_is_resumed_only_after_its_timeout(deps: AutomationTestDeps) -> None:
    """A step left running by a dead worker is resumed, same attempt and key, once its call
    must have ended; before that a job for it does nothing."""
    step = await one_step(deps)
    async with deps.uow() as uow:
        started, _ = (await uow.automation_steps.get(step.id)).start(deps.clock.now())
        await uow.automation_steps.update(started)
        await uow.commit()

    early = await run_automation_step(deps, RunAutomationStep(step.id, attempt=1))
    deps.clock.advance(timedelta(seconds=120))
    resumed = await run_automation_step(deps, RunAutomationStep(step.id, attempt=1))

    assert early.status is StepStatus.RUNNING
    assert (resumed.status, resumed.attempts) == (StepStatus.SUCCEEDED, 1)
    assert [call.idempotency_key for call in deps.bridge.calls] == ["stp_000001:r1"]
