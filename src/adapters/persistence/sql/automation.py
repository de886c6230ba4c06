"""Tables, mappers and repositories of automation steps, scenario configs and manual tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    or_,
)

from adapters.persistence.sql.mapper import RowMapper
from adapters.persistence.sql.metadata import metadata
from adapters.persistence.sql.repository import SqlRepository
from adapters.persistence.sql.session import SqlSession
from adapters.persistence.sql.types import Instant, Json
from platform_core.automation.model import (
    AutomationStep,
    ManualTask,
    ScenarioConfig,
    StepStatus,
    TaskStatus,
)

automation_steps = Table(
    "automation_steps",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("shipment_id", String(64), nullable=False),
    Column("shipment_item_id", String(64), nullable=False),
    Column("fulfillment_order_id", String(64), nullable=False),
    Column("order_id", String(64), nullable=False),
    Column("company_id", String(64), nullable=False),
    Column("scenario", String(50), nullable=False),
    Column("payload", Json, nullable=False),
    Column("max_attempts", Integer, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("status", String(30), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("granted_attempts", Integer, nullable=False),
    Column("request_revision", Integer, nullable=False),
    Column("queued_at", Instant),
    Column("started_at", Instant),
    Column("next_attempt_at", Instant),
    Column("last_error", Text),
    Column("last_error_retryable", Boolean),
    Column("failed_at", Instant),
    Column("succeeded_at", Instant),
    Column("legacy_reference", String(255)),
    Column("legacy_device_ids", Json, nullable=False),
    Column("manual_task_id", String(64)),
    Column("fallback_notes", Text),
    Column("fallback_actor", String(200)),
    Column("fallback_at", Instant),
    Column("correlation_id", String(128)),
    Column("version", Integer, nullable=False),
    UniqueConstraint("shipment_item_id", "scenario"),
    Index(None, "shipment_id", "created_at"),
    Index(None, "fulfillment_order_id", "created_at"),
    Index(None, "status", "next_attempt_at"),
    Index(None, "status", "queued_at"),
    Index(None, "status", "started_at"),
)

automation_scenario_configs = Table(
    "automation_scenario_configs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("scenario", String(50), nullable=False, unique=True),
    Column("max_attempts", Integer, nullable=False),
    Column("retry_delay_seconds", Integer, nullable=False),
    Column("timeout_seconds", Integer, nullable=False),
    Column("fallback_description", Text, nullable=False),
    Column("updated_at", Instant),
    Column("version", Integer, nullable=False),
)

automation_manual_tasks = Table(
    "automation_manual_tasks",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("step_id", String(64), nullable=False),
    Column("fulfillment_order_id", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("status", String(20), nullable=False),
    Column("resolved_at", Instant),
    Column("resolved_by", String(200)),
    Column("notes", Text),
    Column("version", Integer, nullable=False),
    Index(None, "step_id", "created_at"),
    Index(None, "status", "created_at"),
)

_steps = automation_steps.c


class SqlAutomationStepRepository(SqlRepository[AutomationStep]):
    mapper = RowMapper(AutomationStep, automation_steps)
    kind = "automation step"

    def unique_details(self, aggregate: AutomationStep) -> dict[str, Any]:
        return {"shipment_item_id": aggregate.shipment_item_id, "scenario": str(aggregate.scenario)}

    async def for_shipment(self, shipment_id: str) -> list[AutomationStep]:
        return await self._where(
            _steps.shipment_id == shipment_id, order_by=(_steps.created_at, _steps.id)
        )

    async def for_fulfillment_order(self, fulfillment_order_id: str) -> list[AutomationStep]:
        return await self._where(
            _steps.fulfillment_order_id == fulfillment_order_id,
            order_by=(_steps.created_at, _steps.id),
        )

    async def for_shipment_item(self, shipment_item_id: str) -> list[AutomationStep]:
        return await self._where(
            _steps.shipment_item_id == shipment_item_id, order_by=(_steps.created_at, _steps.id)
        )

    async def due_for_retry(self, now: datetime, limit: int = 100) -> list[AutomationStep]:
        return await self._where(
            _steps.status == StepStatus.FAILED.value,
            _steps.next_attempt_at.is_not(None),
            _steps.next_attempt_at <= now,
            order_by=(_steps.next_attempt_at, _steps.id),
            limit=limit,
        )

    async def stalled(self, before: datetime, limit: int = 100) -> list[AutomationStep]:
        queued = and_(_steps.status == StepStatus.QUEUED.value, _steps.queued_at <= before)
        running = and_(_steps.status == StepStatus.RUNNING.value, _steps.started_at <= before)
        found = await self._where(or_(queued, running))
        found.sort(key=lambda step: (_waiting_since(step), step.id))
        return found[:limit]


def _waiting_since(step: AutomationStep) -> datetime:
    since = step.queued_at if step.status is StepStatus.QUEUED else step.started_at
    assert since is not None  # the query only returns steps that have it
    return since


class SqlScenarioConfigRepository(SqlRepository[ScenarioConfig]):
    mapper = RowMapper(ScenarioConfig, automation_scenario_configs)
    kind = "scenario config"

    async def all(self) -> list[ScenarioConfig]:
        return await self._where(order_by=(automation_scenario_configs.c.id,))


class SqlManualTaskRepository(SqlRepository[ManualTask]):
    mapper = RowMapper(ManualTask, automation_manual_tasks)
    kind = "manual task"

    async def for_step(self, step_id: str) -> list[ManualTask]:
        c = automation_manual_tasks.c
        return await self._where(c.step_id == step_id, order_by=(c.created_at, c.id))

    async def open_tasks(self, limit: int = 100) -> list[ManualTask]:
        c = automation_manual_tasks.c
        return await self._where(
            c.status == TaskStatus.OPEN.value, order_by=(c.created_at, c.id), limit=limit
        )


class AutomationTables:
    """The automation repositories over the unit of work's session."""

    _session: SqlSession

    @property
    def automation_steps(self) -> SqlAutomationStepRepository:
        return SqlAutomationStepRepository(self._session)

    @property
    def scenario_configs(self) -> SqlScenarioConfigRepository:
        return SqlScenarioConfigRepository(self._session)

    @property
    def manual_tasks(self) -> SqlManualTaskRepository:
        return SqlManualTaskRepository(self._session)
