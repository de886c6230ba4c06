"""Ports of the automation context: its repositories, unit of work and deps."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from platform_core.automation.model import AutomationStep, ManualTask, ScenarioConfig
from platform_core.legacy.ports import LegacyBridge
from platform_core.ports.core import JobQueue, Notifier, Repository, ServiceDeps, UnitOfWork


class AutomationStepRepository(Repository[AutomationStep], Protocol):
    """Automation steps. At most one step per (shipment item, scenario): `add` raises
    ConflictError for a second one. Queries return steps oldest first."""

    async def for_shipment(self, shipment_id: str) -> list[AutomationStep]: ...

    async def for_fulfillment_order(self, fulfillment_order_id: str) -> list[AutomationStep]: ...

    async def for_shipment_item(self, shipment_item_id: str) -> list[AutomationStep]: ...

    async def due_for_retry(self, now: datetime, limit: int = 100) -> list[AutomationStep]:
        """Failed steps whose automatic retry was due at or before `now`."""
        ...

    async def stalled(self, before: datetime, limit: int = 100) -> list[AutomationStep]:
        """Steps queued, or running, since before `before`: their job may have been lost."""
        ...


class ScenarioConfigRepository(Repository[ScenarioConfig], Protocol):
    """Stored scenario configs (id = scenario value); a scenario without one uses defaults."""

    async def all(self) -> list[ScenarioConfig]: ...


class ManualTaskRepository(Repository[ManualTask], Protocol):
    """Ops tasks opened for steps that failed for good."""

    async def for_step(self, step_id: str) -> list[ManualTask]: ...

    async def open_tasks(self, limit: int = 100) -> list[ManualTask]:
        """Open tasks, oldest first."""
        ...


class AutomationUnitOfWork(UnitOfWork, Protocol):
    """A transaction over automation steps, scenario configs and manual tasks."""

    @property
    def automation_steps(self) -> AutomationStepRepository: ...

    @property
    def scenario_configs(self) -> ScenarioConfigRepository: ...

    @property
    def manual_tasks(self) -> ManualTaskRepository: ...


class AutomationDeps(ServiceDeps, Protocol):
    """What the automation use cases need: storage, the legacy bridge, the job queue (jobs
    are enqueued only after the change that needs them has committed) and a notifier for Ops."""

    def uow(self) -> AutomationUnitOfWork: ...

    @property
    def bridge(self) -> LegacyBridge: ...

    @property
    def queue(self) -> JobQueue: ...

    @property
    def notifier(self) -> Notifier: ...
