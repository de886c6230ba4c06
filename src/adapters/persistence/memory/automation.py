"""In-memory repositories of the automation context: steps, scenario configs, manual tasks."""

from __future__ import annotations

from datetime import datetime

from adapters.persistence.memory.store import InMemoryRepository, Transaction
from platform_core.automation.model import (
    AutomationStep,
    ManualTask,
    ScenarioConfig,
    StepStatus,
)

# One step per (shipment item, scenario), also under concurrent deliveries of the same event.
STEP_PER_ITEM_SCENARIO = "automation_step.shipment_item_scenario"


def _oldest_first(step: AutomationStep) -> tuple[datetime, str]:
    return step.created_at, step.id


class InMemoryAutomationStepRepository(InMemoryRepository[AutomationStep]):
    table = "automation_steps"
    kind = "automation step"

    async def add(self, aggregate: AutomationStep) -> AutomationStep:
        claim = f"{aggregate.shipment_item_id}:{aggregate.scenario}"
        self._tx.claim_unique(STEP_PER_ITEM_SCENARIO, claim, aggregate.id)
        return await super().add(aggregate)

    async def for_shipment(self, shipment_id: str) -> list[AutomationStep]:
        return sorted(self._where(lambda s: s.shipment_id == shipment_id), key=_oldest_first)

    async def for_fulfillment_order(self, fulfillment_order_id: str) -> list[AutomationStep]:
        found = self._where(lambda s: s.fulfillment_order_id == fulfillment_order_id)
        return sorted(found, key=_oldest_first)

    async def for_shipment_item(self, shipment_item_id: str) -> list[AutomationStep]:
        found = self._where(lambda s: s.shipment_item_id == shipment_item_id)
        return sorted(found, key=_oldest_first)

    async def due_for_retry(self, now: datetime, limit: int = 100) -> list[AutomationStep]:
        due = self._where(
            lambda s: (
                s.awaiting_retry and s.next_attempt_at is not None and s.next_attempt_at <= now
            )
        )
        due.sort(key=lambda s: (s.next_attempt_at, s.id))
        return due[:limit]

    async def stalled(self, before: datetime, limit: int = 100) -> list[AutomationStep]:
        def waiting_since(step: AutomationStep) -> datetime | None:
            if step.status is StepStatus.QUEUED:
                return step.queued_at
            if step.status is StepStatus.RUNNING:
                return step.started_at
            return None

        stalled = [
            (since, step.id, step)
            for step in self._all()
            if (since := waiting_since(step)) is not None and since <= before
        ]
        stalled.sort(key=lambda row: (row[0], row[1]))
        return [step for _, _, step in stalled[:limit]]


class InMemoryScenarioConfigRepository(InMemoryRepository[ScenarioConfig]):
    table = "automation_scenario_configs"
    kind = "scenario config"

    async def all(self) -> list[ScenarioConfig]:
        return sorted(self._all(), key=lambda config: config.id)


class InMemoryManualTaskRepository(InMemoryRepository[ManualTask]):
    table = "automation_manual_tasks"
    kind = "manual task"

    async def for_step(self, step_id: str) -> list[ManualTask]:
        found = self._where(lambda task: task.step_id == step_id)
        return sorted(found, key=lambda task: (task.created_at, task.id))

    async def open_tasks(self, limit: int = 100) -> list[ManualTask]:
        found = self._where(lambda task: task.is_open)
        found.sort(key=lambda task: (task.created_at, task.id))
        return found[:limit]


class AutomationTables:
    """Mixin for the in-memory unit of work: the automation context's repositories."""

    _tx: Transaction

    @property
    def automation_steps(self) -> InMemoryAutomationStepRepository:
        return InMemoryAutomationStepRepository(self._tx)

    @property
    def scenario_configs(self) -> InMemoryScenarioConfigRepository:
        return InMemoryScenarioConfigRepository(self._tx)

    @property
    def manual_tasks(self) -> InMemoryManualTaskRepository:
        return InMemoryManualTaskRepository(self._tx)
