"""Automation steps, scenario configs and Ops manual tasks: aggregates, state machines, events.

A step is one legacy-system operation for one delivered shipment item. It is attempted up to
its scenario's `max_attempts`; a retryable failure below that schedules a retry, anything else
fails it for good, opens a manual task for Ops, and waits for Ops to retry it or trigger the
fallback (do the work by hand). A step is settled once it succeeded or its fallback was
triggered; the fulfillment order completes only when every step is settled.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any

import attrs

from platform_core.legacy.ports import InstallChannel, LegacyOperation, serial_numbers
from platform_core.shared.errors import ConflictError, ValidationError
from platform_core.shared.events import DomainEvent
from platform_core.shared.ids import (
    check_id,
    id_field,
    non_empty_text,
    non_negative_int,
    optional_id_field,
    positive_int,
)
from platform_core.shared.scenarios import AutomationScenario
from platform_core.shared.state_machine import StateMachine
from platform_core.shared.time import aware, require_aware

SOURCE_MODULE = "automation"
SYSTEM_ACTOR = "system"

DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_RETRY_DELAY_SECONDS = 600
DEFAULT_TIMEOUT_SECONDS = 120


class AutomationEvent(StrEnum):
    STEP_QUEUED = "automation.step_queued"
    STEP_STARTED = "automation.step_started"
    STEP_SUCCEEDED = "automation.step_succeeded"
    STEP_RETRY_SCHEDULED = "automation.step_retry_scheduled"
    STEP_DEFERRED = "automation.step_deferred"
    STEP_FAILED = "automation.step_failed"
    STEP_UPDATED = "automation.step_updated"
    FALLBACK_TRIGGERED = "automation.fallback_triggered"
    MANUAL_TASK_CREATED = "automation.manual_task_created"
    MANUAL_TASK_RESOLVED = "automation.manual_task_resolved"
    SCENARIO_CONFIG_UPDATED = "automation.scenario_config_updated"


def parse_scenario(value: object) -> AutomationScenario:
    """`value` as an AutomationScenario, or ValidationError (attrs converter)."""
    try:
        return AutomationScenario(str(value))
    except ValueError:
        raise ValidationError(
            f"unknown automation scenario {value!r}", {"field": "scenario", "value": repr(value)}
        ) from None


# -- what each scenario asks of the legacy system (data, not code) -----------------------------


@attrs.frozen
class ScenarioPlan:
    """The legacy operation a scenario performs, and who installs the devices."""

    operation: LegacyOperation
    channel: InstallChannel | None = None


SCENARIO_PLANS: Mapping[AutomationScenario, ScenarioPlan] = MappingProxyType(
    {
        AutomationScenario.SENSOR_VENDOR_FIRST_TIME: ScenarioPlan(
            LegacyOperation.PROVISION_DEVICE, InstallChannel.VENDOR
        ),
        AutomationScenario.SENSOR_PARTNER_FIRST_TIME: ScenarioPlan(
            LegacyOperation.PROVISION_DEVICE, InstallChannel.PARTNER
        ),
        AutomationScenario.SENSOR_VENDOR_REPLACEMENT: ScenarioPlan(
            LegacyOperation.REPLACE_DEVICE, InstallChannel.VENDOR
        ),
        AutomationScenario.SENSOR_PARTNER_REPLACEMENT: ScenarioPlan(
            LegacyOperation.REPLACE_DEVICE, InstallChannel.PARTNER
        ),
        AutomationScenario.SENSOR_RETURN: ScenarioPlan(LegacyOperation.RETURN_DEVICE),
    }
)

DEFAULT_FALLBACK_DESCRIPTIONS: Mapping[AutomationScenario, str] = MappingProxyType(
    {
        AutomationScenario.SENSOR_VENDOR_FIRST_TIME: (
            "Register the delivered devices for the company in the legacy system by hand and "
            "book the vendor installation."
        ),
        AutomationScenario.SENSOR_PARTNER_FIRST_TIME: (
            "Register the delivered devices for the company in the legacy system by hand and "
            "hand the installation to the partner."
        ),
        AutomationScenario.SENSOR_VENDOR_REPLACEMENT: (
            "Retire the replaced devices and register the replacements in the legacy system by "
            "hand; book the vendor swap."
        ),
        AutomationScenario.SENSOR_PARTNER_REPLACEMENT: (
            "Retire the replaced devices and register the replacements in the legacy system by "
            "hand; hand the swap to the partner."
        ),
        AutomationScenario.SENSOR_RETURN: (
            "Take the returned devices off the company in the legacy system by hand."
        ),
    }
)


# -- scenario configuration --------------------------------------------------------------------


def _config_event(config: ScenarioConfig, at: datetime, changed: Sequence[str]) -> DomainEvent:
    return DomainEvent(
        type=AutomationEvent.SCENARIO_CONFIG_UPDATED,
        aggregate_type="scenario_config",
        aggregate_id=config.id,
        payload={
            "scenario": str(config.scenario),
            "changed_fields": list(changed),
            "max_attempts": config.max_attempts,
            "retry_delay_seconds": config.retry_delay_seconds,
            "timeout_seconds": config.timeout_seconds,
            "fallback_description": config.fallback_description,
        },
        occurred_at=at,
        source_module=SOURCE_MODULE,
    )


@attrs.frozen(kw_only=True)
class ScenarioConfig:
    """How one scenario is run: attempts, delay between them, call timeout, Ops fallback text.

    Its id is the scenario's value: there is exactly one config per scenario.
    """

    id: str = attrs.field(validator=id_field)
    scenario: AutomationScenario = attrs.field(converter=parse_scenario)
    max_attempts: int = attrs.field(default=DEFAULT_MAX_ATTEMPTS, validator=positive_int)
    retry_delay_seconds: int = attrs.field(
        default=DEFAULT_RETRY_DELAY_SECONDS, validator=non_negative_int
    )
    timeout_seconds: int = attrs.field(default=DEFAULT_TIMEOUT_SECONDS, validator=positive_int)
    fallback_description: str = attrs.field(validator=non_empty_text)
    updated_at: datetime | None = attrs.field(default=None, validator=aware)
    version: int = 1

    def __attrs_post_init__(self) -> None:
        if self.id != self.scenario.value:
            raise ValidationError(
                "a scenario config's id is its scenario",
                {"field": "id", "value": self.id, "scenario": str(self.scenario)},
            )

    @classmethod
    def default(cls, for_scenario: AutomationScenario) -> ScenarioConfig:
        """The plan's defaults: 3 attempts, 10 minutes apart, 2-minute calls."""
        chosen = parse_scenario(for_scenario)
        return cls(
            id=chosen.value,
            scenario=chosen,
            fallback_description=DEFAULT_FALLBACK_DESCRIPTIONS[chosen],
        )

    @property
    def retry_delay(self) -> timedelta:
        return timedelta(seconds=self.retry_delay_seconds)

    def update(
        self,
        *,
        at: datetime,
        max_attempts: int | None = None,
        retry_delay_seconds: int | None = None,
        timeout_seconds: int | None = None,
        fallback_description: str | None = None,
    ) -> tuple[ScenarioConfig, list[DomainEvent]]:
        """Change the given settings (None keeps one). Steps already created keep the
        max_attempts they were created with; delay and timeout apply from their next attempt."""
        require_aware(at, "at")
        changes: dict[str, Any] = {
            name: value
            for name, value in (
                ("max_attempts", max_attempts),
                ("retry_delay_seconds", retry_delay_seconds),
                ("timeout_seconds", timeout_seconds),
                ("fallback_description", fallback_description),
            )
            if value is not None and value != getattr(self, name)
        }
        if not changes:
            return self, []
        updated = attrs.evolve(self, updated_at=at, **changes)
        return updated, [_config_event(updated, at, sorted(changes))]


def default_scenario_configs() -> tuple[ScenarioConfig, ...]:
    """The default config of every scenario, in the scenarios' declared order."""
    return tuple(ScenarioConfig.default(each) for each in AutomationScenario)


# -- automation steps --------------------------------------------------------------------------


class StepStatus(StrEnum):
    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    FALLBACK_TRIGGERED = "fallback_triggered"


class StepTrigger(StrEnum):
    QUEUE = "queue"
    START = "start"
    SUCCEED = "succeed"
    FAIL = "fail"
    RETRY = "retry"
    DEFER = "defer"
    TRIGGER_FALLBACK = "trigger_fallback"
    EDIT = "edit"


STEP_MACHINE: StateMachine[StepStatus, StepTrigger] = StateMachine(
    name="automation_step",
    initial=StepStatus.PENDING,
    transitions={
        (StepStatus.PENDING, StepTrigger.QUEUE): StepStatus.QUEUED,
        (StepStatus.PENDING, StepTrigger.EDIT): StepStatus.PENDING,
        (StepStatus.QUEUED, StepTrigger.START): StepStatus.RUNNING,
        (StepStatus.QUEUED, StepTrigger.EDIT): StepStatus.QUEUED,
        (StepStatus.RUNNING, StepTrigger.SUCCEED): StepStatus.SUCCEEDED,
        (StepStatus.RUNNING, StepTrigger.FAIL): StepStatus.FAILED,
        # The call was never made (the bridge's breaker is open): the attempt is given back.
        (StepStatus.RUNNING, StepTrigger.DEFER): StepStatus.QUEUED,
        # Below max attempts (or when Ops grants one more); guarded in AutomationStep.
        (StepStatus.FAILED, StepTrigger.RETRY): StepStatus.QUEUED,
        (StepStatus.FAILED, StepTrigger.EDIT): StepStatus.FAILED,
        (StepStatus.FAILED, StepTrigger.TRIGGER_FALLBACK): StepStatus.FALLBACK_TRIGGERED,
    },
    terminal=frozenset({StepStatus.SUCCEEDED, StepStatus.FALLBACK_TRIGGERED}),
)

SETTLED_STATUSES = STEP_MACHINE.terminal


def _serials(value: Iterable[str]) -> tuple[str, ...]:
    return serial_numbers(tuple(value))


@attrs.frozen(kw_only=True)
class StepPayload:
    """What the legacy operation needs to know about the delivered item."""

    product_id: str = attrs.field(validator=id_field)
    quantity: int = attrs.field(validator=positive_int)
    device_serials: tuple[str, ...] = attrs.field(default=(), converter=_serials)
    replaced_serials: tuple[str, ...] = attrs.field(default=(), converter=_serials)
    company_legacy_id: str | None = attrs.field(default=None, validator=optional_id_field)

    def __attrs_post_init__(self) -> None:
        for name in ("device_serials", "replaced_serials"):
            count = len(getattr(self, name))
            if count > self.quantity:
                raise ValidationError(
                    f"{name} lists {count} serials for a quantity of {self.quantity}",
                    {"field": name, "quantity": self.quantity, "count": count},
                )

    def to_payload(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "quantity": self.quantity,
            "device_serials": list(self.device_serials),
            "replaced_serials": list(self.replaced_serials),
            "company_legacy_id": self.company_legacy_id,
        }


@attrs.frozen(kw_only=True)
class AutomationStep:
    """One legacy operation for one delivered shipment item, with its attempts and outcome.

    `attempts` counts attempts started. `max_attempts` is the scenario's setting when the step
    was created; `granted_attempts` are extra attempts Ops allowed by retrying an exhausted step.
    A failed step with `next_attempt_at` set is waiting for its automatic retry; without it, the
    failure is terminal (attempts exhausted or a non-retryable error) and waits for Ops.
    """

    id: str = attrs.field(validator=id_field)
    shipment_id: str = attrs.field(validator=id_field)
    shipment_item_id: str = attrs.field(validator=id_field)
    fulfillment_order_id: str = attrs.field(validator=id_field)
    order_id: str = attrs.field(validator=id_field)
    company_id: str = attrs.field(validator=id_field)
    scenario: AutomationScenario = attrs.field(converter=parse_scenario)
    payload: StepPayload
    max_attempts: int = attrs.field(validator=positive_int)
    created_at: datetime = attrs.field(validator=aware)
    status: StepStatus = StepStatus.PENDING
    attempts: int = attrs.field(default=0, validator=non_negative_int)
    granted_attempts: int = attrs.field(default=0, validator=non_negative_int)
    request_revision: int = attrs.field(default=1, validator=positive_int)
    queued_at: datetime | None = attrs.field(default=None, validator=aware)
    started_at: datetime | None = attrs.field(default=None, validator=aware)
    next_attempt_at: datetime | None = attrs.field(default=None, validator=aware)
    last_error: str | None = None
    last_error_retryable: bool | None = None
    failed_at: datetime | None = attrs.field(default=None, validator=aware)
    succeeded_at: datetime | None = attrs.field(default=None, validator=aware)
    legacy_reference: str | None = None
    legacy_device_ids: tuple[str, ...] = ()
    manual_task_id: str | None = attrs.field(default=None, validator=optional_id_field)
    fallback_notes: str | None = None
    fallback_actor: str | None = None
    fallback_at: datetime | None = attrs.field(default=None, validator=aware)
    correlation_id: str | None = None
    version: int = 1

    # -- derived facts ------------------------------------------------------------------------
    @property
    def attempt_limit(self) -> int:
        return self.max_attempts + self.granted_attempts

    @property
    def is_settled(self) -> bool:
        """Succeeded or handed to the fallback: nothing more will happen to this step."""
        return self.status in SETTLED_STATUSES

    @property
    def awaiting_retry(self) -> bool:
        return self.status is StepStatus.FAILED and self.next_attempt_at is not None

    @property
    def is_terminally_failed(self) -> bool:
        """Failed with no automatic retry left: Ops must retry it or trigger the fallback."""
        return self.status is StepStatus.FAILED and self.next_attempt_at is None

    @property
    def attempt_number(self) -> int:
        """The attempt in progress (running or finished), else the next one to run."""
        if self.status in (StepStatus.RUNNING, *SETTLED_STATUSES) or self.is_terminally_failed:
            return self.attempts
        return self.attempts + 1

    @property
    def idempotency_key(self) -> str:
        """Key of `attempt_number`: de-duplicates the job that runs that attempt."""
        return f"{self.id}:{self.attempt_number}"

    @property
    def legacy_request_key(self) -> str:
        """Idempotency key of the legacy write: the same request content keeps the same key.

        It does not change between attempts, so an attempt that timed out after the legacy
        system applied the write is answered from the legacy system's replay on the next
        attempt instead of being applied twice; editing the payload makes a new request and
        therefore a new key.
        """
        return f"{self.id}:r{self.request_revision}"

    @property
    def plan(self) -> ScenarioPlan:
        return SCENARIO_PLANS[self.scenario]

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        step_id: str,
        *,
        shipment_id: str,
        shipment_item_id: str,
        fulfillment_order_id: str,
        order_id: str,
        company_id: str,
        scenario: AutomationScenario,
        payload: StepPayload,
        config: ScenarioConfig,
        at: datetime,
        correlation_id: str | None = None,
    ) -> tuple[AutomationStep, list[DomainEvent]]:
        """A pending step for one shipment item, with the scenario's current max attempts.

        Creation itself emits nothing: `queue` announces the step.
        """
        scenario = parse_scenario(scenario)
        if config.scenario is not scenario:
            raise ValidationError(
                f"config of {config.scenario} given for a {scenario} step",
                {"field": "config", "scenario": str(scenario)},
            )
        step = cls(
            id=step_id,
            shipment_id=shipment_id,
            shipment_item_id=shipment_item_id,
            fulfillment_order_id=fulfillment_order_id,
            order_id=order_id,
            company_id=company_id,
            scenario=scenario,
            payload=payload,
            max_attempts=config.max_attempts,
            created_at=require_aware(at, "at"),
            correlation_id=correlation_id,
        )
        return step, []

    # -- commands -----------------------------------------------------------------------------
    def queue(self, at: datetime) -> tuple[AutomationStep, list[DomainEvent]]:
        """Hand the pending step to the automation queue."""
        status = STEP_MACHINE.next_state(self.status, StepTrigger.QUEUE)
        queued = attrs.evolve(self, status=status, queued_at=require_aware(at, "at"))
        return queued, [queued._event(AutomationEvent.STEP_QUEUED, at, reason="delivered")]

    def start(self, at: datetime) -> tuple[AutomationStep, list[DomainEvent]]:
        """Begin the next attempt."""
        status = STEP_MACHINE.next_state(self.status, StepTrigger.START)
        if self.attempts >= self.attempt_limit:
            raise ConflictError(
                f"step {self.id} has used all {self.attempt_limit} attempts",
                {"attempts": self.attempts, "max_attempts": self.attempt_limit},
            )
        running = attrs.evolve(
            self,
            status=status,
            attempts=self.attempts + 1,
            started_at=require_aware(at, "at"),
            next_attempt_at=None,
        )
        return running, [
            running._event(
                AutomationEvent.STEP_STARTED,
                at,
                attempt=running.attempts,
                idempotency_key=running.idempotency_key,
            )
        ]

    def succeed(
        self, *, legacy_reference: str, device_legacy_ids: Sequence[str] = (), at: datetime
    ) -> tuple[AutomationStep, list[DomainEvent]]:
        """Record the legacy system's confirmation of the running attempt."""
        status = STEP_MACHINE.next_state(self.status, StepTrigger.SUCCEED)
        check_id(legacy_reference, "legacy_reference")
        done = attrs.evolve(
            self,
            status=status,
            succeeded_at=require_aware(at, "at"),
            legacy_reference=legacy_reference,
            legacy_device_ids=tuple(device_legacy_ids),
            next_attempt_at=None,
        )
        return done, [
            done._event(
                AutomationEvent.STEP_SUCCEEDED,
                at,
                attempt=done.attempts,
                legacy_reference=legacy_reference,
                legacy_device_ids=list(done.legacy_device_ids),
                succeeded_at=at.isoformat(),
            )
        ]

    def defer(
        self, reason: str, *, until: datetime, at: datetime
    ) -> tuple[AutomationStep, list[DomainEvent]]:
        """The running attempt's legacy call was not made (the bridge would not try: its
        circuit breaker is open). The attempt is given back, so an outage does not use up the
        step's attempts, and the step is queued again for `until`."""
        status = STEP_MACHINE.next_state(self.status, StepTrigger.DEFER)
        _require_text(reason, "reason")
        require_aware(at, "at")
        if require_aware(until, "until") < at:
            raise ValidationError("a step is deferred to a later time", {"field": "until"})
        deferred = attrs.evolve(
            self,
            status=status,
            attempts=self.attempts - 1,
            started_at=None,
            queued_at=until,
            last_error=reason,
            last_error_retryable=True,
        )
        return deferred, [
            deferred._event(
                AutomationEvent.STEP_DEFERRED,
                at,
                attempt=self.attempts,
                reason=reason,
                next_attempt_at=until.isoformat(),
            )
        ]

    def fail(
        self, error: str, *, retryable: bool, retry_delay: timedelta, at: datetime
    ) -> tuple[AutomationStep, list[DomainEvent]]:
        """Record the running attempt's failure.

        A retryable failure with attempts left schedules the next attempt `retry_delay` from
        now (automation.step_retry_scheduled). Otherwise the failure is terminal
        (automation.step_failed): attempts exhausted, or the legacy system refused the request.
        """
        status = STEP_MACHINE.next_state(self.status, StepTrigger.FAIL)
        if not isinstance(error, str) or not error.strip():
            raise ValidationError("a failure needs an error message", {"field": "error"})
        if retry_delay < timedelta(0):
            raise ValidationError("retry_delay must not be negative", {"field": "retry_delay"})
        require_aware(at, "at")
        will_retry = retryable and self.attempts < self.attempt_limit
        next_attempt_at = at + retry_delay if will_retry else None
        failed = attrs.evolve(
            self,
            status=status,
            last_error=error,
            last_error_retryable=retryable,
            failed_at=at,
            next_attempt_at=next_attempt_at,
        )
        if next_attempt_at is not None:
            return failed, [
                failed._event(
                    AutomationEvent.STEP_RETRY_SCHEDULED,
                    at,
                    attempt=failed.attempts,
                    error=error,
                    next_attempt=failed.attempts + 1,
                    next_attempt_at=next_attempt_at.isoformat(),
                )
            ]
        return failed, [
            failed._event(
                AutomationEvent.STEP_FAILED,
                at,
                attempts=failed.attempts,
                max_attempts=failed.attempt_limit,
                error=error,
                retryable=retryable,
            )
        ]

    def retry(self, at: datetime) -> tuple[AutomationStep, list[DomainEvent]]:
        """Requeue a failed step whose automatic retry is scheduled (only below max attempts)."""
        status = STEP_MACHINE.next_state(self.status, StepTrigger.RETRY)
        if not self.awaiting_retry:
            raise ConflictError(
                f"step {self.id} has no automatic retry left; Ops may retry it",
                {
                    "attempts": self.attempts,
                    "max_attempts": self.attempt_limit,
                    "retryable": self.last_error_retryable,
                },
            )
        return self._requeued(status, at, reason="retry", actor=SYSTEM_ACTOR)

    def retry_by_ops(self, actor: str, at: datetime) -> tuple[AutomationStep, list[DomainEvent]]:
        """Ops requeues a failed step now, whatever the error was.

        When the step has used all its attempts, Ops' retry grants exactly one more attempt
        (`granted_attempts`), so every extra call to the legacy system is a decision on record.
        """
        status = STEP_MACHINE.next_state(self.status, StepTrigger.RETRY)
        _require_text(actor, "actor")
        step = self
        if self.attempts >= self.attempt_limit:
            step = attrs.evolve(self, granted_attempts=self.granted_attempts + 1)
        return step._requeued(status, at, reason="ops_retry", actor=actor)

    def trigger_fallback(
        self, *, notes: str, actor: str, at: datetime
    ) -> tuple[AutomationStep, list[DomainEvent]]:
        """Ops settles a failed step by doing the work outside the automation.

        Allowed on any failed step: normally once it failed for good, but Ops may also stop
        waiting for a scheduled retry. `notes` (what was done by hand) are required.
        """
        status = STEP_MACHINE.next_state(self.status, StepTrigger.TRIGGER_FALLBACK)
        _require_text(notes, "notes")
        _require_text(actor, "actor")
        settled = attrs.evolve(
            self,
            status=status,
            fallback_notes=notes.strip(),
            fallback_actor=actor,
            fallback_at=require_aware(at, "at"),
            next_attempt_at=None,
        )
        return settled, [
            settled._event(
                AutomationEvent.FALLBACK_TRIGGERED,
                at,
                notes=settled.fallback_notes,
                actor=actor,
                attempts=settled.attempts,
                manual_task_id=settled.manual_task_id,
                fallback_at=at.isoformat(),
            )
        ]

    def edit(
        self,
        *,
        actor: str,
        at: datetime,
        device_serials: Sequence[str] | None = None,
        replaced_serials: Sequence[str] | None = None,
        company_legacy_id: str | None = None,
    ) -> tuple[AutomationStep, list[DomainEvent]]:
        """Ops corrects what will be sent to the legacy system (None keeps a value).

        Only before the step runs or while it is failed. A changed payload is a new request,
        so it gets a new legacy idempotency key (`request_revision` + 1).
        """
        status = STEP_MACHINE.next_state(self.status, StepTrigger.EDIT)
        _require_text(actor, "actor")
        changes: dict[str, Any] = {}
        if device_serials is not None:
            changes["device_serials"] = tuple(device_serials)
        if replaced_serials is not None:
            changes["replaced_serials"] = tuple(replaced_serials)
        if company_legacy_id is not None:
            changes["company_legacy_id"] = company_legacy_id
        payload = attrs.evolve(self.payload, **changes)
        if payload == self.payload:
            return self, []
        changed = sorted(
            name for name in changes if getattr(payload, name) != getattr(self.payload, name)
        )
        edited = attrs.evolve(
            self, status=status, payload=payload, request_revision=self.request_revision + 1
        )
        return edited, [
            edited._event(
                AutomationEvent.STEP_UPDATED,
                require_aware(at, "at"),
                actor=actor,
                changed_fields=changed,
                request_revision=edited.request_revision,
            )
        ]

    def attach_manual_task(self, task_id: str) -> AutomationStep:
        """Link the Ops task opened for this terminally failed step."""
        check_id(task_id, "manual_task_id")
        if not self.is_terminally_failed:
            raise ConflictError(
                f"step {self.id} is {self.status}: only a terminally failed step gets a task",
                {"status": str(self.status)},
            )
        return attrs.evolve(self, manual_task_id=task_id)

    # -- internals ----------------------------------------------------------------------------
    def _requeued(
        self, status: StepStatus, at: datetime, *, reason: str, actor: str
    ) -> tuple[AutomationStep, list[DomainEvent]]:
        queued = attrs.evolve(
            self, status=status, queued_at=require_aware(at, "at"), next_attempt_at=None
        )
        return queued, [
            queued._event(
                AutomationEvent.STEP_QUEUED,
                at,
                reason=reason,
                actor=actor,
                attempt=queued.attempt_number,
                max_attempts=queued.attempt_limit,
            )
        ]

    def _event(self, event_type: AutomationEvent, at: datetime, **details: Any) -> DomainEvent:
        # Every step event names the whole chain (fulfillment, shipment, order, company) so
        # subscribers never have to load the step.
        payload: dict[str, Any] = {
            "step_id": self.id,
            "shipment_id": self.shipment_id,
            "shipment_item_id": self.shipment_item_id,
            "fulfillment_order_id": self.fulfillment_order_id,
            "order_id": self.order_id,
            "company_id": self.company_id,
            "scenario": str(self.scenario),
            "status": str(self.status),
        }
        payload.update(details)
        return DomainEvent(
            type=event_type,
            aggregate_type="automation_step",
            aggregate_id=self.id,
            payload=payload,
            occurred_at=at,
            source_module=SOURCE_MODULE,
            correlation_id=self.correlation_id,
        )


def automation_settled(steps: Iterable[AutomationStep]) -> bool:
    """True when every step succeeded or had its fallback triggered (vacuously for none)."""
    return all(step.is_settled for step in steps)


def _require_text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} must not be empty", {"field": field})
    return value


# -- Ops manual tasks --------------------------------------------------------------------------


class TaskStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class TaskTrigger(StrEnum):
    RESOLVE = "resolve"


MANUAL_TASK_MACHINE: StateMachine[TaskStatus, TaskTrigger] = StateMachine(
    name="manual_task",
    initial=TaskStatus.OPEN,
    transitions={(TaskStatus.OPEN, TaskTrigger.RESOLVE): TaskStatus.RESOLVED},
    terminal=frozenset({TaskStatus.RESOLVED}),
)


@attrs.frozen(kw_only=True)
class ManualTask:
    """Work for Ops: a step failed for good; retry it or trigger its fallback."""

    id: str = attrs.field(validator=id_field)
    step_id: str = attrs.field(validator=id_field)
    fulfillment_order_id: str = attrs.field(validator=id_field)
    title: str = attrs.field(validator=non_empty_text)
    description: str = attrs.field(validator=non_empty_text)
    created_at: datetime = attrs.field(validator=aware)
    status: TaskStatus = TaskStatus.OPEN
    resolved_at: datetime | None = attrs.field(default=None, validator=aware)
    resolved_by: str | None = None
    notes: str | None = None
    version: int = 1

    @property
    def is_open(self) -> bool:
        return self.status is TaskStatus.OPEN

    @classmethod
    def open(
        cls, task_id: str, step: AutomationStep, config: ScenarioConfig, at: datetime
    ) -> tuple[ManualTask, list[DomainEvent]]:
        """The task for a terminally failed step; the description is the scenario's fallback."""
        if not step.is_terminally_failed:
            raise ConflictError(
                f"step {step.id} is {step.status}: only a terminally failed step gets a task",
                {"status": str(step.status)},
            )
        title = f"Automation failed: {step.scenario} for shipment item {step.shipment_item_id}"
        description = (
            f"{config.fallback_description}\n\n"
            f"Step {step.id} failed after {step.attempts} attempt(s): {step.last_error}"
        )
        task = cls(
            id=task_id,
            step_id=step.id,
            fulfillment_order_id=step.fulfillment_order_id,
            title=title,
            description=description,
            created_at=require_aware(at, "at"),
        )
        return task, [
            task._event(
                AutomationEvent.MANUAL_TASK_CREATED,
                at,
                step.correlation_id,
                title=title,
                scenario=str(step.scenario),
                order_id=step.order_id,
                shipment_id=step.shipment_id,
            )
        ]

    def resolve(
        self, *, notes: str, actor: str, at: datetime, correlation_id: str | None = None
    ) -> tuple[ManualTask, list[DomainEvent]]:
        """Close the task, saying what was done."""
        status = MANUAL_TASK_MACHINE.next_state(self.status, TaskTrigger.RESOLVE)
        _require_text(notes, "notes")
        _require_text(actor, "actor")
        resolved = attrs.evolve(
            self,
            status=status,
            resolved_at=require_aware(at, "at"),
            resolved_by=actor,
            notes=notes.strip(),
        )
        return resolved, [
            resolved._event(
                AutomationEvent.MANUAL_TASK_RESOLVED,
                at,
                correlation_id,
                resolved_by=actor,
                notes=resolved.notes,
            )
        ]

    def _event(
        self,
        event_type: AutomationEvent,
        at: datetime,
        correlation_id: str | None,
        **details: Any,
    ) -> DomainEvent:
        payload: dict[str, Any] = {
            "manual_task_id": self.id,
            "step_id": self.step_id,
            "fulfillment_order_id": self.fulfillment_order_id,
        }
        payload.update(details)
        return DomainEvent(
            type=event_type,
            aggregate_type="manual_task",
            aggregate_id=self.id,
            payload=payload,
            occurred_at=at,
            source_module=SOURCE_MODULE,
            correlation_id=correlation_id,
        )
