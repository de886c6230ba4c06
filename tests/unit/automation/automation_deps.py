"""Test wiring for the automation context: in-memory storage, fixed clock, fake legacy bridge,
the inline job queue running `run_automation_step`, and a recording notifier."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from adapters.clock import FixedClock
from adapters.ids import SequentialIdGenerator
from adapters.legacy.fake import FakeLegacyBridge
from adapters.notifications import RecordingNotifier
from adapters.persistence.memory.automation import AutomationTables
from adapters.persistence.memory.store import InMemoryDatabase
from adapters.persistence.memory.uow import InMemoryUnitOfWorkBase
from adapters.queues.inline import InlineJobQueue
from platform_core.automation.service import (
    RUN_STEP_JOB,
    DeliveredItem,
    QueueStepsForDeliveredShipment,
    RunAutomationStep,
    run_automation_step,
)
from platform_core.legacy.model import CompanyRecord
from platform_core.shared.scenarios import AutomationScenario

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
VENDOR_FIRST = AutomationScenario.SENSOR_VENDOR_FIRST_TIME


class AutomationUoW(AutomationTables, InMemoryUnitOfWorkBase):
    pass


@attrs.define
class AutomationTestDeps:
    clock: FixedClock
    ids: SequentialIdGenerator
    db: InMemoryDatabase
    bridge: FakeLegacyBridge
    queue: InlineJobQueue
    notifier: RecordingNotifier

    def uow(self) -> AutomationUoW:
        return AutomationUoW(self.db, self.ids)

    def event_types(self) -> list[str]:
        return [stored.event.type for stored in self.db.events]

    def payloads(self, event_type: str) -> list[Mapping[str, Any]]:
        return [s.event.payload for s in self.db.events if s.event.type == event_type]


def make_deps() -> AutomationTestDeps:
    clock = FixedClock(START)
    deps = AutomationTestDeps(
        clock=clock,
        ids=SequentialIdGenerator(),
        db=InMemoryDatabase(),
        bridge=FakeLegacyBridge(),
        queue=InlineJobQueue(clock),
        notifier=RecordingNotifier(),
    )
    deps.bridge.put(CompanyRecord(legacy_id="C100", name="Acme", status="active"))

    async def run_job(payload: Mapping[str, Any]) -> object:
        return await run_automation_step(deps, RunAutomationStep(**payload))

    deps.queue.register(RUN_STEP_JOB, run_job)
    return deps


def delivery(
    *items: DeliveredItem, correlation_id: str | None = "corr_1", company_legacy_id: str = "C100"
) -> QueueStepsForDeliveredShipment:
    """The command for shipment shp_1 of fulfillment ful_1, by default one vendor install."""
    return QueueStepsForDeliveredShipment(
        "shp_1",
        "ful_1",
        "ord_1",
        "cmp_1",
        items or (DeliveredItem("shi_1", "prd_1", 2, VENDOR_FIRST, ("SN-1", "SN-2")),),
        correlation_id=correlation_id,
        company_legacy_id=company_legacy_id,
    )
