"""Automation use cases: queue steps for a delivered shipment, run them against the legacy
system with retries, and the Ops actions (retry, fallback, edit, create, configure).

Jobs go to the `automation` queue as ``run_automation_step`` with payload
``{"step_id", "attempt"}``; they are enqueued only after the change that needs them committed,
and every handler tolerates duplicates, so a job delivered twice does the work once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

from platform_core.automation.model import (
    SYSTEM_ACTOR,
    AutomationStep,
    ManualTask,
    ScenarioConfig,
    StepPayload,
    StepStatus,
    automation_settled,
    default_scenario_configs,
    parse_scenario,
)
from platform_core.automation.ports import AutomationDeps, AutomationUnitOfWork
from platform_core.legacy.ports import (
    BridgeResult,
    InstallChannel,
    LegacyBridge,
    LegacyOperation,
    ProvisionDevice,
    ReplaceDevice,
    ReturnDevice,
)
from platform_core.ports.core import Notification
from platform_core.shared.errors import (
    ConflictError,
    ExternalServiceError,
    NotAttempted,
    StaleVersion,
    ValidationError,
)
from platform_core.shared.events import DomainEvent
from platform_core.shared.ids import id_field, optional_id_field, positive_int
from platform_core.shared.scenarios import AutomationScenario

AUTOMATION_QUEUE = "automation"
RUN_STEP_JOB = "run_automation_step"
DEFAULT_STALLED_AFTER_SECONDS = 900


def _optional_scenario(value: object) -> AutomationScenario | None:
    return None if value is None else parse_scenario(value)


def _optional_positive(
    instance: object, attribute: attrs.Attribute[int | None], value: object
) -> None:
    if value is not None:
        positive_int(instance, attribute, value)


# -- commands ----------------------------------------------------------------------------------


@attrs.frozen
class DeliveredItem:
    """A delivered shipment item; only items with a scenario get a step."""

    shipment_item_id: str
    product_id: str
    quantity: int
    automation_scenario: AutomationScenario | None = attrs.field(
        default=None, converter=_optional_scenario
    )
    device_serials: tuple[str, ...] = ()


@attrs.frozen
class QueueStepsForDeliveredShipment:
    """Queue one step per delivered item that has a scenario (idempotent)."""

    shipment_id: str
    fulfillment_order_id: str
    order_id: str
    company_id: str
    items: tuple[DeliveredItem, ...]
    correlation_id: str | None = None
    company_legacy_id: str | None = None  # the company's legacy mirror id, when known


@attrs.frozen
class RunAutomationStep:
    """Run the step's current attempt; `attempt` (from the job payload) guards stale jobs."""

    step_id: str
    attempt: int | None = None


@attrs.frozen
class RetryDueSteps:
    """Cron safety net: requeue due retries and re-enqueue steps whose job seems lost."""

    limit: int = attrs.field(default=100, validator=positive_int)
    stalled_after_seconds: int = attrs.field(
        default=DEFAULT_STALLED_AFTER_SECONDS, validator=positive_int
    )


@attrs.frozen
class RetryStep:
    """Ops: run a failed step again now."""

    step_id: str
    actor: str
    correlation_id: str | None = None


@attrs.frozen
class TriggerFallback:
    """Ops: the work was done by hand; settle the step with what was done."""

    step_id: str
    notes: str
    actor: str
    correlation_id: str | None = None


@attrs.frozen(kw_only=True)
class UpdateScenarioConfig:
    """Change a scenario's settings; None keeps a setting."""

    scenario: AutomationScenario = attrs.field(converter=parse_scenario)
    max_attempts: int | None = attrs.field(default=None, validator=_optional_positive)
    retry_delay_seconds: int | None = None
    timeout_seconds: int | None = attrs.field(default=None, validator=_optional_positive)
    fallback_description: str | None = None
    correlation_id: str | None = None


@attrs.frozen(kw_only=True)
class CreateStep:
    """Ops: add a step for a shipment item by hand (queued at once)."""

    shipment_id: str
    shipment_item_id: str
    fulfillment_order_id: str
    order_id: str
    company_id: str
    scenario: AutomationScenario = attrs.field(converter=parse_scenario)
    product_id: str
    quantity: int
    device_serials: tuple[str, ...] = ()
    replaced_serials: tuple[str, ...] = ()
    company_legacy_id: str | None = None
    correlation_id: str | None = None


@attrs.frozen(kw_only=True)
class UpdateStep:
    """Ops: correct what a not-yet-settled, not-running step sends to the legacy system."""

    step_id: str = attrs.field(validator=id_field)
    actor: str
    device_serials: tuple[str, ...] | None = None
    replaced_serials: tuple[str, ...] | None = None
    company_legacy_id: str | None = attrs.field(default=None, validator=optional_id_field)
    correlation_id: str | None = None


# -- reacting to deliveries --------------------------------------------------------------------


async def queue_steps_for_delivered_shipment(
    deps: AutomationDeps, command: QueueStepsForDeliveredShipment
) -> tuple[AutomationStep, ...]:
    """Queue the automation steps of a delivered shipment.

    Rules:
    - one step per shipment item with an automation scenario; items without one get none;
    - idempotent: an item that already has a step for its scenario gets no second one, so a
      redelivered `shipment.delivered` event changes nothing;
    - a step takes its scenario's current max_attempts;
    - each step still queued is (re-)enqueued after the commit under its attempt's key; the
      queue ignores a key it already holds, and a crash between commit and enqueue is repaired
      by the next delivery of the event or by `retry_due_steps`.
    Returns every step of the shipment.
    """
    _check_distinct_items(command.items)
    at = deps.clock.now()
    async with deps.uow() as uow:
        steps = await uow.automation_steps.for_shipment(command.shipment_id)
        existing = {(step.shipment_item_id, step.scenario) for step in steps}
        events: list[DomainEvent] = []
        for item in command.items:
            wanted = item.automation_scenario
            if wanted is None or (item.shipment_item_id, wanted) in existing:
                continue
            config = await _config(uow, wanted)
            payload = StepPayload(
                product_id=item.product_id,
                quantity=item.quantity,
                device_serials=item.device_serials,
                company_legacy_id=command.company_legacy_id,
            )
            step, _ = AutomationStep.create(
                deps.ids.new_id("stp"),
                shipment_id=command.shipment_id,
                shipment_item_id=item.shipment_item_id,
                fulfillment_order_id=command.fulfillment_order_id,
                order_id=command.order_id,
                company_id=command.company_id,
                scenario=wanted,
                payload=payload,
                config=config,
                at=at,
                correlation_id=command.correlation_id,
            )
            step, queued = step.queue(at)
            steps.append(await uow.automation_steps.add(step))
            events.extend(queued)
        if events:
            await uow.events.record(events)
            await uow.commit()
    for step in steps:
        if step.status is StepStatus.QUEUED:
            await _enqueue(deps, step)
    return tuple(steps)


def _check_distinct_items(items: Sequence[DeliveredItem]) -> None:
    seen: set[str] = set()
    for item in items:
        if item.shipment_item_id in seen:
            raise ValidationError(
                f"shipment item {item.shipment_item_id} is listed twice",
                {"field": "items", "shipment_item_id": item.shipment_item_id},
            )
        seen.add(item.shipment_item_id)


# -- running a step ----------------------------------------------------------------------------


async def run_automation_step(deps: AutomationDeps, command: RunAutomationStep) -> AutomationStep:
    """Run one attempt of a step against the legacy system.

    Rules:
    - a job for another attempt than the step's current one, or for a step that is settled,
      pending or failed for good, does nothing (duplicate or stale job);
    - a failed step whose automatic retry is scheduled is requeued and started;
    - starting commits `running` (attempts + 1) before the legacy call, so the attempt is on
      record even if the worker dies during the call;
    - the legacy write carries `legacy_request_key`, so a repeated call is answered with the
      legacy system's first result instead of being applied twice;
    - a running step is resumed (same attempt, same key) only once its call must have ended
      (started_at + timeout): that is a worker that died mid-call;
    - the call is cut off after the scenario's `timeout_seconds` (a retryable failure);
    - a call the bridge did not make (NotAttempted: its breaker is open) gives the attempt
      back and queues the step again after `retry_delay_seconds`;
    - success: succeeded, and the step's open manual task (if any) is resolved;
    - retryable failure with attempts left: retry scheduled `retry_delay_seconds` later and
      its job enqueued with that delay; any other failure: failed for good, a manual task
      for Ops (reusing one still open), and a notification.
    """
    step, config = await _begin_attempt(deps, command)
    if config is None:
        return step
    try:
        async with asyncio.timeout(config.timeout_seconds):
            result = await _call_legacy(deps.bridge, step)
    except NotAttempted as error:
        return await _defer(deps, step, config, error.message)
    except ExternalServiceError as error:
        return await _record_failure(deps, step, config, error.message, error.retryable)
    except TimeoutError:
        message = f"the legacy system did not answer within {config.timeout_seconds}s"
        return await _record_failure(deps, step, config, message, True)
    return await _record_success(deps, step, result)


async def _begin_attempt(
    deps: AutomationDeps, command: RunAutomationStep
) -> tuple[AutomationStep, ScenarioConfig | None]:
    """The step to call the legacy system for and its config, or (step, None) for a no-op."""
    now = deps.clock.now()
    async with deps.uow() as uow:
        step = await uow.automation_steps.get(command.step_id)
        if command.attempt is not None and command.attempt != step.attempt_number:
            return step, None
        config = await _config(uow, step.scenario)
        if step.status is StepStatus.RUNNING:
            return step, (config if _call_is_over(step, config, now) else None)
        events: list[DomainEvent] = []
        if step.awaiting_retry:
            step, requeued = step.retry(now)
            events.extend(requeued)
        if step.status is not StepStatus.QUEUED:
            return step, None
        step, started = step.start(now)
        events.extend(started)
        try:
            step = await uow.automation_steps.update(step)
            await uow.events.record(events)
            await uow.commit()
        except StaleVersion:
            # Another worker took this attempt first; it owns the call.
            return await _reload(deps, command.step_id), None
    return step, config


def _call_is_over(step: AutomationStep, config: ScenarioConfig, now: datetime) -> bool:
    """True once the running attempt's legacy call must have been cut off by the timeout."""
    started_at = step.started_at or step.created_at
    return started_at + timedelta(seconds=config.timeout_seconds) <= now


async def _call_legacy(bridge: LegacyBridge, step: AutomationStep) -> BridgeResult:
    """The scenario's legacy operation (SCENARIO_PLANS) for the step's payload."""
    plan = step.plan
    payload = step.payload
    correlation_id = step.correlation_id or step.id
    match plan.operation, plan.channel:
        case LegacyOperation.PROVISION_DEVICE, InstallChannel() as channel:
            request = ProvisionDevice(
                idempotency_key=step.legacy_request_key,
                correlation_id=correlation_id,
                channel=channel,
                company_id=step.company_id,
                company_legacy_id=payload.company_legacy_id,
                product_id=payload.product_id,
                quantity=payload.quantity,
                device_serials=payload.device_serials,
                order_id=step.order_id,
                shipment_id=step.shipment_id,
            )
            return await bridge.provision_device(request)
        case LegacyOperation.REPLACE_DEVICE, InstallChannel() as channel:
            replacement = ReplaceDevice(
                idempotency_key=step.legacy_request_key,
                correlation_id=correlation_id,
                channel=channel,
                company_id=step.company_id,
                company_legacy_id=payload.company_legacy_id,
                product_id=payload.product_id,
                quantity=payload.quantity,
                device_serials=payload.device_serials,
                replaced_serials=payload.replaced_serials,
                order_id=step.order_id,
                shipment_id=step.shipment_id,
            )
            return await bridge.replace_device(replacement)
        case LegacyOperation.RETURN_DEVICE, _:
            returned = ReturnDevice(
                idempotency_key=step.legacy_request_key,
                correlation_id=correlation_id,
                company_id=step.company_id,
                company_legacy_id=payload.company_legacy_id,
                product_id=payload.product_id,
                quantity=payload.quantity,
                device_serials=payload.device_serials,
                order_id=step.order_id,
                shipment_id=step.shipment_id,
            )
            return await bridge.return_device(returned)
    # SCENARIO_PLANS is data: a plan no branch above performs is a programming error.
    raise AssertionError(f"no legacy call for scenario {step.scenario}: {plan}")


async def _record_success(
    deps: AutomationDeps, step: AutomationStep, result: BridgeResult
) -> AutomationStep:
    now = deps.clock.now()
    try:
        async with deps.uow() as uow:
            done, events = step.succeed(
                legacy_reference=result.reference,
                device_legacy_ids=result.device_legacy_ids,
                at=now,
            )
            notes = (
                f"Resolved automatically: attempt {done.attempts} succeeded "
                f"(legacy reference {result.reference})."
            )
            events.extend(await _resolve_task(uow, done, notes, SYSTEM_ACTOR, now))
            done = await uow.automation_steps.update(done)
            await uow.events.record(events)
            await uow.commit()
    except StaleVersion:
        # A resumed run of the same attempt recorded the outcome first.
        return await _reload(deps, step.id)
    return done


async def _defer(
    deps: AutomationDeps, step: AutomationStep, config: ScenarioConfig, reason: str
) -> AutomationStep:
    """Queue the step again after the retry delay without spending the attempt. The job goes
    under a key of its own: the running job still holds the attempt's key."""
    now = deps.clock.now()
    try:
        async with deps.uow() as uow:
            deferred, events = step.defer(reason, until=now + config.retry_delay, at=now)
            deferred = await uow.automation_steps.update(deferred)
            await uow.events.record(events)
            await uow.commit()
    except StaleVersion:
        return await _reload(deps, step.id)
    key = f"{deferred.idempotency_key}:deferred:{now:%Y%m%dT%H%M%S%f}"
    await _enqueue(deps, deferred, key=key, delay_seconds=config.retry_delay_seconds)
    return deferred


async def _record_failure(
    deps: AutomationDeps,
    step: AutomationStep,
    config: ScenarioConfig,
    error: str,
    retryable: bool,
) -> AutomationStep:
    now = deps.clock.now()
    task: ManualTask | None = None
    try:
        async with deps.uow() as uow:
            failed, events = step.fail(
                error, retryable=retryable, retry_delay=config.retry_delay, at=now
            )
            if failed.is_terminally_failed:
                failed, task, opened = await _open_task(uow, deps, failed, config, now)
                events.extend(opened)
            failed = await uow.automation_steps.update(failed)
            await uow.events.record(events)
            await uow.commit()
    except StaleVersion:
        return await _reload(deps, step.id)
    if failed.awaiting_retry:
        await _enqueue(deps, failed, delay_seconds=config.retry_delay_seconds)
    if task is not None:
        await deps.notifier.notify(_task_notification(failed, task))
    return failed


async def _open_task(
    uow: AutomationUnitOfWork,
    deps: AutomationDeps,
    step: AutomationStep,
    config: ScenarioConfig,
    at: datetime,
) -> tuple[AutomationStep, ManualTask, list[DomainEvent]]:
    """The step's open manual task, opening one unless an earlier one is still open."""
    if step.manual_task_id is not None:
        earlier = await uow.manual_tasks.find(step.manual_task_id)
        if earlier is not None and earlier.is_open:
            return step, earlier, []
    task, events = ManualTask.open(deps.ids.new_id("mtk"), step, config, at)
    await uow.manual_tasks.add(task)
    return step.attach_manual_task(task.id), task, events


def _task_notification(step: AutomationStep, task: ManualTask) -> Notification:
    return Notification(
        subject=task.title,
        body=f"{task.description}\n\nManual task {task.id}: retry the step or trigger its "
        "fallback with notes.",
        severity="warning",
        tags=("automation", str(step.scenario)),
        related={
            "step_id": step.id,
            "manual_task_id": task.id,
            "fulfillment_order_id": step.fulfillment_order_id,
            "order_id": step.order_id,
            "shipment_id": step.shipment_id,
        },
    )


async def _resolve_task(
    uow: AutomationUnitOfWork, step: AutomationStep, notes: str, actor: str, at: datetime
) -> list[DomainEvent]:
    """Resolve the step's manual task if it is open; the events of doing so."""
    if step.manual_task_id is None:
        return []
    task = await uow.manual_tasks.find(step.manual_task_id)
    if task is None or not task.is_open:
        return []
    task, events = task.resolve(notes=notes, actor=actor, at=at, correlation_id=step.correlation_id)
    await uow.manual_tasks.update(task)
    return events


# -- the cron safety net -----------------------------------------------------------------------


async def retry_due_steps(
    deps: AutomationDeps, command: RetryDueSteps | None = None
) -> list[AutomationStep]:
    """Requeue steps whose retry is due and re-enqueue steps whose job seems lost.

    Rules:
    - a failed step whose `next_attempt_at` has passed is requeued (one transaction per step;
      a step changed concurrently is skipped: whoever changed it is handling it);
    - a step queued or running since before now - `stalled_after_seconds` is enqueued again
      under its attempt's key (the queue ignores it if the job still exists; the job itself
      decides whether a running step may be resumed);
    Returns the steps enqueued.
    """
    command = command or RetryDueSteps()
    now = deps.clock.now()
    async with deps.uow() as uow:
        due = await uow.automation_steps.due_for_retry(now, command.limit)
        stalled_before = now - timedelta(seconds=command.stalled_after_seconds)
        stalled = await uow.automation_steps.stalled(stalled_before, command.limit)
    enqueued: list[AutomationStep] = []
    for step in due:
        try:
            requeued = await _requeue(deps, step, now)
        except ConflictError:
            continue
        await _enqueue(deps, requeued)
        enqueued.append(requeued)
    for step in stalled:
        await _enqueue(deps, step)
        enqueued.append(step)
    return enqueued


async def _requeue(deps: AutomationDeps, step: AutomationStep, now: datetime) -> AutomationStep:
    async with deps.uow() as uow:
        step, events = step.retry(now)
        step = await uow.automation_steps.update(step)
        await uow.events.record(events)
        await uow.commit()
    return step


# -- Ops actions -------------------------------------------------------------------------------


async def retry_step(deps: AutomationDeps, command: RetryStep) -> AutomationStep:
    """Ops runs a failed step again now.

    Rules:
    - only a failed step (IllegalTransition otherwise);
    - a step that used all its attempts gets exactly one more (`granted_attempts` + 1); a step
      failed by a non-retryable error or waiting for its retry just runs now;
    - its manual task stays open until the step succeeds or its fallback is triggered;
    - the job is enqueued after the commit under a key of its own, so it runs now even while
      the automatic retry's delayed job waits (whichever runs second does nothing).
    """
    now = deps.clock.now()
    async with deps.uow() as uow:
        step = await uow.automation_steps.get(command.step_id)
        step, events = step.retry_by_ops(command.actor, now)
        step = await uow.automation_steps.update(step)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    await _enqueue(deps, step, key=f"{step.idempotency_key}:ops")
    return step


async def trigger_fallback(deps: AutomationDeps, command: TriggerFallback) -> AutomationStep:
    """Ops settles a failed step by hand.

    Rules:
    - only a failed step (IllegalTransition otherwise); `notes` and `actor` are required;
    - the step becomes fallback_triggered (settled) and its open manual task is resolved with
      the same notes, in the same transaction;
    - automation.fallback_triggered carries the fulfillment_order_id, so the fulfillment can
      complete once every step is settled.
    """
    now = deps.clock.now()
    async with deps.uow() as uow:
        step = await uow.automation_steps.get(command.step_id)
        step, events = step.trigger_fallback(notes=command.notes, actor=command.actor, at=now)
        events.extend(await _resolve_task(uow, step, step.fallback_notes or "", command.actor, now))
        step = await uow.automation_steps.update(step)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return step


async def update_step(deps: AutomationDeps, command: UpdateStep) -> AutomationStep:
    """Ops corrects a step's serials or legacy company before it runs (again).

    Rules:
    - pending, queued or failed steps only (IllegalTransition for running or settled ones);
    - serials are validated (distinct, no more than the quantity);
    - a changed payload gets a new legacy idempotency key; an unchanged one records nothing.
    """
    now = deps.clock.now()
    async with deps.uow() as uow:
        step = await uow.automation_steps.get(command.step_id)
        edited, events = step.edit(
            actor=command.actor,
            at=now,
            device_serials=command.device_serials,
            replaced_serials=command.replaced_serials,
            company_legacy_id=command.company_legacy_id,
        )
        if not events:
            return step
        edited = await uow.automation_steps.update(edited)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return edited


async def create_step(deps: AutomationDeps, command: CreateStep) -> AutomationStep:
    """Ops adds a step for a shipment item by hand; it is queued and enqueued at once.

    Rules:
    - at most one step per (shipment item, scenario): a second one is a ConflictError;
    - the caller (API) checks that the shipment item exists: this context holds no shipments;
    - the step takes the scenario's current max_attempts.
    """
    now = deps.clock.now()
    async with deps.uow() as uow:
        for existing in await uow.automation_steps.for_shipment_item(command.shipment_item_id):
            if existing.scenario is command.scenario:
                raise ConflictError(
                    f"shipment item {command.shipment_item_id} already has a "
                    f"{command.scenario} step ({existing.id})",
                    {"field": "shipment_item_id", "step_id": existing.id},
                )
        config = await _config(uow, command.scenario)
        payload = StepPayload(
            product_id=command.product_id,
            quantity=command.quantity,
            device_serials=command.device_serials,
            replaced_serials=command.replaced_serials,
            company_legacy_id=command.company_legacy_id,
        )
        step, events = AutomationStep.create(
            deps.ids.new_id("stp"),
            shipment_id=command.shipment_id,
            shipment_item_id=command.shipment_item_id,
            fulfillment_order_id=command.fulfillment_order_id,
            order_id=command.order_id,
            company_id=command.company_id,
            scenario=command.scenario,
            payload=payload,
            config=config,
            at=now,
            correlation_id=command.correlation_id,
        )
        step, queued = step.queue(now)
        events.extend(queued)
        step = await uow.automation_steps.add(step)
        await uow.events.record(events)
        await uow.commit()
    await _enqueue(deps, step)
    return step


async def update_scenario_config(
    deps: AutomationDeps, command: UpdateScenarioConfig
) -> ScenarioConfig:
    """Change how a scenario runs.

    Rules:
    - max_attempts and timeout_seconds positive, retry_delay_seconds not negative, the fallback
      description not empty (ValidationError otherwise);
    - existing steps keep their max_attempts; delay and timeout apply from their next attempt;
    - a change that changes nothing records nothing.
    """
    now = deps.clock.now()
    async with deps.uow() as uow:
        stored = await uow.scenario_configs.find(command.scenario.value)
        current = stored or ScenarioConfig.default(command.scenario)
        updated, events = current.update(
            at=now,
            max_attempts=command.max_attempts,
            retry_delay_seconds=command.retry_delay_seconds,
            timeout_seconds=command.timeout_seconds,
            fallback_description=command.fallback_description,
        )
        if not events:
            return current
        if stored is None:
            updated = await uow.scenario_configs.add(updated)
        else:
            updated = await uow.scenario_configs.update(updated)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return updated


async def ensure_scenario_configs(deps: AutomationDeps) -> list[ScenarioConfig]:
    """Store the default config of every scenario that has none yet (at start-up), so the
    configs Ops see and edit are rows like any other; stored ones are left as they are.
    Safe when several processes start together."""
    added = []
    for default in default_scenario_configs():
        try:
            async with deps.uow() as uow:
                if await uow.scenario_configs.find(default.id) is not None:
                    continue
                added.append(await uow.scenario_configs.add(default))
                await uow.commit()
        except ConflictError:
            continue  # another process stored it first
    return added


# -- queries -----------------------------------------------------------------------------------


@attrs.frozen
class StepDetails:
    """An automation step with the manual task Ops got when it failed for good (None until
    then): what someone looking at a stuck step needs in one read."""

    step: AutomationStep
    manual_task: ManualTask | None = None


async def get_step(deps: AutomationDeps, step_id: str) -> StepDetails:
    """A step and its manual task, read in one transaction so they agree. Rules: an unknown
    step is NOT_FOUND."""
    async with deps.uow() as uow:
        step = await uow.automation_steps.get(step_id)
        return await _details(uow, step)


async def steps_for_shipment(deps: AutomationDeps, shipment_id: str) -> list[StepDetails]:
    """The steps of a shipment's items, oldest first, each with its manual task. The
    automation context holds no shipments: a shipment without steps (or an unknown one) gives
    an empty list, so callers that must tell the two apart look the shipment up first."""
    async with deps.uow() as uow:
        steps = await uow.automation_steps.for_shipment(shipment_id)
        return [await _details(uow, step) for step in steps]


async def _details(uow: AutomationUnitOfWork, step: AutomationStep) -> StepDetails:
    if step.manual_task_id is None:
        return StepDetails(step)
    return StepDetails(step, await uow.manual_tasks.find(step.manual_task_id))


async def list_scenario_configs(deps: AutomationDeps) -> tuple[ScenarioConfig, ...]:
    """The config of every scenario: the stored one, else the default."""
    async with deps.uow() as uow:
        stored = {config.scenario: config for config in await uow.scenario_configs.all()}
    return tuple(stored.get(each) or ScenarioConfig.default(each) for each in AutomationScenario)


async def automation_settled_for(deps: AutomationDeps, fulfillment_order_id: str) -> bool:
    """True when every step of the fulfillment order succeeded or had its fallback triggered."""
    async with deps.uow() as uow:
        steps = await uow.automation_steps.for_fulfillment_order(fulfillment_order_id)
    return automation_settled(steps)


# -- internals ---------------------------------------------------------------------------------


async def _config(uow: AutomationUnitOfWork, wanted: AutomationScenario) -> ScenarioConfig:
    stored = await uow.scenario_configs.find(wanted.value)
    return stored or ScenarioConfig.default(wanted)


async def _reload(deps: AutomationDeps, step_id: str) -> AutomationStep:
    async with deps.uow() as uow:
        return await uow.automation_steps.get(step_id)


async def _enqueue(
    deps: AutomationDeps, step: AutomationStep, *, key: str | None = None, delay_seconds: float = 0
) -> None:
    await deps.queue.enqueue(
        AUTOMATION_QUEUE,
        RUN_STEP_JOB,
        {"step_id": step.id, "attempt": step.attempt_number},
        key=key or step.idempotency_key,
        delay_seconds=delay_seconds,
    )
