"""Automation steps, Ops side: read a shipment's steps or one step (with its manual task), add
a step by hand, correct what it sends, retry it, or settle it with the fallback done by hand;
and the scenario configs (attempts, delay, timeout, fallback text) that steer every step.
Every role may read them; company-scoped keys have no access to these routes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from litestar import Controller, get, patch, post
from litestar.params import FromPath, JSONBody, Parameter

from entrypoints.api.dependencies import Caller, Deps, RequestId
from entrypoints.api.openapi import ERRORS_READ, ERRORS_WRITE
from entrypoints.api.routes.fulfillment import visible_shipment
from entrypoints.api.schemas import Body, View
from entrypoints.api.security import Principal
from platform_core.automation.model import (
    AutomationStep,
    ManualTask,
    ScenarioConfig,
    StepPayload,
    StepStatus,
    TaskStatus,
)
from platform_core.automation.service import (
    CreateStep,
    RetryStep,
    StepDetails,
    TriggerFallback,
    UpdateScenarioConfig,
    UpdateStep,
    create_step,
    get_step,
    list_scenario_configs,
    retry_step,
    steps_for_shipment,
    trigger_fallback,
    update_scenario_config,
    update_step,
)
from platform_core.shared.errors import ValidationError
from platform_core.shared.scenarios import AutomationScenario

Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Serials = Annotated[
    list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]],
    msgspec.Meta(max_length=1000),
]


def actor_of(principal: Principal) -> str:
    """Who Ops actions are recorded as: the API key that made them."""
    return f"api-key:{principal.key_id}"


# -- bodies ----------------------------------------------------------------------------------


class StepIn(Body):
    shipment_item_id: Identifier
    scenario: AutomationScenario
    device_serials: Serials = []
    replaced_serials: Serials = []
    company_legacy_id: Identifier | None = None


class StepPatchIn(Body):
    """What the step sends to the legacy system; a field left out keeps its value."""

    device_serials: Serials | None = None
    replaced_serials: Serials | None = None
    company_legacy_id: Identifier | None = None


class FallbackIn(Body):
    notes: Annotated[
        str,
        msgspec.Meta(min_length=1, max_length=4000, description="What was done by hand"),
    ]


class ScenarioConfigPatchIn(Body):
    """The settings to change; a field left out keeps its value."""

    max_attempts: Annotated[int, msgspec.Meta(ge=1, description="Attempts before Ops")] | None = (
        None
    )
    retry_delay_seconds: (
        Annotated[int, msgspec.Meta(ge=0, description="Wait between attempts")] | None
    ) = None
    timeout_seconds: (
        Annotated[int, msgspec.Meta(ge=1, description="How long one legacy call may take")] | None
    ) = None
    fallback_description: (
        Annotated[
            str,
            msgspec.Meta(min_length=1, max_length=4000, description="What Ops does by hand"),
        ]
        | None
    ) = None


# -- views -----------------------------------------------------------------------------------


class StepPayloadView(View):
    product_id: str
    quantity: int
    device_serials: list[str]
    replaced_serials: list[str]
    company_legacy_id: str | None


class StepView(View):
    id: str
    shipment_id: str
    shipment_item_id: str
    fulfillment_order_id: str
    order_id: str
    company_id: str
    scenario: AutomationScenario
    status: StepStatus
    payload: StepPayloadView
    attempts: int
    max_attempts: int
    granted_attempts: int
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None
    last_error_retryable: bool | None
    failed_at: datetime | None
    succeeded_at: datetime | None
    legacy_reference: str | None
    legacy_device_ids: list[str]
    manual_task_id: str | None
    fallback_notes: str | None
    fallback_actor: str | None
    fallback_at: datetime | None
    version: int


class ManualTaskView(View):
    """The Ops task a step that failed for good opened."""

    id: str
    status: TaskStatus
    title: str
    description: str
    created_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    notes: str | None


class StepDetailView(StepView):
    manual_task: ManualTaskView | None


class ShipmentStepsView(View):
    shipment_id: str
    items: list[StepDetailView]


class ScenarioConfigView(View):
    scenario: AutomationScenario
    max_attempts: int
    retry_delay_seconds: int
    timeout_seconds: int
    fallback_description: str
    is_default: Annotated[bool, msgspec.Meta(description="Never edited: the plan's defaults")]
    updated_at: datetime | None
    version: int


class ScenarioConfigList(View):
    items: list[ScenarioConfigView]


def scenario_config_view(config: ScenarioConfig) -> ScenarioConfigView:
    return ScenarioConfigView(
        scenario=config.scenario,
        max_attempts=config.max_attempts,
        retry_delay_seconds=config.retry_delay_seconds,
        timeout_seconds=config.timeout_seconds,
        fallback_description=config.fallback_description,
        # Defaults are not stored until edited, and an edit always stamps updated_at.
        is_default=config.updated_at is None,
        updated_at=config.updated_at,
        version=config.version,
    )


def _payload_view(payload: StepPayload) -> StepPayloadView:
    return StepPayloadView(
        product_id=payload.product_id,
        quantity=payload.quantity,
        device_serials=list(payload.device_serials),
        replaced_serials=list(payload.replaced_serials),
        company_legacy_id=payload.company_legacy_id,
    )


def step_view(step: AutomationStep) -> StepView:
    return StepView(
        id=step.id,
        shipment_id=step.shipment_id,
        shipment_item_id=step.shipment_item_id,
        fulfillment_order_id=step.fulfillment_order_id,
        order_id=step.order_id,
        company_id=step.company_id,
        scenario=step.scenario,
        status=step.status,
        payload=_payload_view(step.payload),
        attempts=step.attempts,
        max_attempts=step.max_attempts,
        granted_attempts=step.granted_attempts,
        created_at=step.created_at,
        queued_at=step.queued_at,
        started_at=step.started_at,
        next_attempt_at=step.next_attempt_at,
        last_error=step.last_error,
        last_error_retryable=step.last_error_retryable,
        failed_at=step.failed_at,
        succeeded_at=step.succeeded_at,
        legacy_reference=step.legacy_reference,
        legacy_device_ids=list(step.legacy_device_ids),
        manual_task_id=step.manual_task_id,
        fallback_notes=step.fallback_notes,
        fallback_actor=step.fallback_actor,
        fallback_at=step.fallback_at,
        version=step.version,
    )


def _task_view(task: ManualTask) -> ManualTaskView:
    return ManualTaskView(
        id=task.id,
        status=task.status,
        title=task.title,
        description=task.description,
        created_at=task.created_at,
        resolved_at=task.resolved_at,
        resolved_by=task.resolved_by,
        notes=task.notes,
    )


def step_detail_view(details: StepDetails) -> StepDetailView:
    task = details.manual_task
    return StepDetailView(
        **msgspec.structs.asdict(step_view(details.step)),
        manual_task=None if task is None else _task_view(task),
    )


def _optional_tuple(values: list[str] | None) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)


# -- routes ----------------------------------------------------------------------------------


class AutomationController(Controller):
    path = "/v1"
    tags = ["Automation"]
    opt = {"family": "automation"}

    @post(
        "/shipments/{shipment_id:str}/automation-steps",
        summary="Add an automation step for a shipment item by hand (queued at once)",
        responses=ERRORS_WRITE,
    )
    async def create(
        self,
        shipment_id: FromPath[str],
        data: JSONBody[StepIn],
        deps: Deps,
        principal: Caller,
        request_id: RequestId,
    ) -> StepView:
        # The automation context holds no shipments, so the item is looked up here (the
        # use case's documented contract) and its order, company and product copied over.
        shipment = await visible_shipment(deps, principal, shipment_id)
        item = next((i for i in shipment.items if i.id == data.shipment_item_id), None)
        if item is None:
            raise ValidationError(
                f"shipment {shipment_id} has no item {data.shipment_item_id}",
                {"field": "shipment_item_id", "shipment_id": shipment_id},
            )
        command = CreateStep(
            shipment_id=shipment.id,
            shipment_item_id=item.id,
            fulfillment_order_id=shipment.fulfillment_order_id,
            order_id=shipment.order_id,
            company_id=shipment.company_id,
            scenario=data.scenario,
            product_id=item.product_id,
            quantity=item.quantity,
            device_serials=tuple(data.device_serials),
            replaced_serials=tuple(data.replaced_serials),
            company_legacy_id=data.company_legacy_id,
            correlation_id=request_id,
        )
        return step_view(await create_step(deps, command))

    @get(
        "/shipments/{shipment_id:str}/automation-steps",
        summary="A shipment's automation steps, oldest first, each with its manual task",
        responses=ERRORS_READ,
    )
    async def for_shipment(
        self, shipment_id: FromPath[str], deps: Deps, principal: Caller
    ) -> ShipmentStepsView:
        # The automation context holds no shipments: looking the shipment up first makes an
        # unknown one 404 instead of an empty list.
        shipment = await visible_shipment(deps, principal, shipment_id)
        steps = await steps_for_shipment(deps, shipment.id)
        return ShipmentStepsView(
            shipment_id=shipment.id, items=[step_detail_view(each) for each in steps]
        )

    @get(
        "/automation-steps/{step_id:str}",
        summary="An automation step: status, attempts, last error, next attempt, manual task",
        responses=ERRORS_READ,
    )
    async def show(self, step_id: FromPath[str], deps: Deps) -> StepDetailView:
        return step_detail_view(await get_step(deps, step_id))

    @patch(
        "/automation-steps/{step_id:str}",
        summary="Correct the serials or legacy company a step sends (pending, queued or failed)",
        responses=ERRORS_WRITE,
    )
    async def update(
        self,
        step_id: FromPath[str],
        data: JSONBody[StepPatchIn],
        deps: Deps,
        principal: Caller,
        request_id: RequestId,
    ) -> StepView:
        command = UpdateStep(
            step_id=step_id,
            actor=actor_of(principal),
            device_serials=_optional_tuple(data.device_serials),
            replaced_serials=_optional_tuple(data.replaced_serials),
            company_legacy_id=data.company_legacy_id,
            correlation_id=request_id,
        )
        return step_view(await update_step(deps, command))

    @post(
        "/automation-steps/{step_id:str}/retry",
        status_code=200,
        summary="Run a failed step again now",
        responses=ERRORS_WRITE,
    )
    async def retry(
        self, step_id: FromPath[str], deps: Deps, principal: Caller, request_id: RequestId
    ) -> StepView:
        command = RetryStep(step_id, actor_of(principal), request_id)
        return step_view(await retry_step(deps, command))

    @post(
        "/automation-steps/{step_id:str}/fallback",
        status_code=200,
        summary="Settle a failed step: the work was done by hand",
        responses=ERRORS_WRITE,
    )
    async def fallback(
        self,
        step_id: FromPath[str],
        data: JSONBody[FallbackIn],
        deps: Deps,
        principal: Caller,
        request_id: RequestId,
    ) -> StepView:
        command = TriggerFallback(step_id, data.notes, actor_of(principal), request_id)
        return step_view(await trigger_fallback(deps, command))


class ScenarioConfigController(Controller):
    path = "/v1/automation/scenario-configs"
    tags = ["Automation"]
    opt = {"family": "automation"}

    @get(
        "/",
        summary="How each of the five scenarios runs (its defaults until edited)",
        responses=ERRORS_READ,
    )
    async def list(self, deps: Deps) -> ScenarioConfigList:
        configs = await list_scenario_configs(deps)
        return ScenarioConfigList(items=[scenario_config_view(each) for each in configs])

    @patch(
        "/{scenario:str}",
        summary="Change a scenario's attempts, retry delay, call timeout or fallback text",
        description="Existing steps keep their max_attempts; delay and timeout apply from "
        "their next attempt.",
        responses=ERRORS_WRITE,
    )
    async def update(
        self,
        scenario: Annotated[AutomationScenario, Parameter(description="The scenario to change")],
        data: JSONBody[ScenarioConfigPatchIn],
        deps: Deps,
        request_id: RequestId,
    ) -> ScenarioConfigView:
        command = UpdateScenarioConfig(
            scenario=scenario,
            max_attempts=data.max_attempts,
            retry_delay_seconds=data.retry_delay_seconds,
            timeout_seconds=data.timeout_seconds,
            fallback_description=data.fallback_description,
            correlation_id=request_id,
        )
        return scenario_config_view(await update_scenario_config(deps, command))


ROUTES = [AutomationController, ScenarioConfigController]
