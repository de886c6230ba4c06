"""Contract of the automation repositories (steps, scenario configs, manual tasks) on every
adapter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.contract.conftest import Backend
from tests.support.contract import ROUND_TRIP, add_all, assert_round_trip, unique

from platform_core.automation.model import (
    AutomationStep,
    ManualTask,
    ScenarioConfig,
    StepPayload,
)
from platform_core.shared.errors import ConflictError
from platform_core.shared.scenarios import AutomationScenario
from platform_core.testing.automation import pending_steps, scenario_configs

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
RETURN = AutomationScenario.SENSOR_RETURN
FIRST_TIME = AutomationScenario.SENSOR_VENDOR_FIRST_TIME


def _steps(uow: Any) -> Any:
    return uow.automation_steps


def _configs(uow: Any) -> Any:
    return uow.scenario_configs


def _tasks(uow: Any) -> Any:
    return uow.manual_tasks


def after(**delta: float) -> datetime:
    """The instant `delta` (timedelta's keywords) after AT."""
    return AT + timedelta(**delta)


def step(
    step_id: str,
    *,
    shipment_id: str = "shp_1",
    item_id: str | None = None,
    fulfillment_id: str = "ful_1",
    scenario: AutomationScenario = RETURN,
    minutes: int = 0,
) -> AutomationStep:
    created, _ = AutomationStep.create(
        step_id,
        shipment_id=shipment_id,
        shipment_item_id=item_id or unique("shi"),
        fulfillment_order_id=fulfillment_id,
        order_id="ord_1",
        company_id="cmp_1",
        scenario=scenario,
        payload=StepPayload(product_id="prd_1", quantity=1),
        config=ScenarioConfig.default(scenario),
        at=AT + timedelta(minutes=minutes),
    )
    return created


def queued(pending: AutomationStep, minutes: int = 0) -> AutomationStep:
    done, _ = pending.queue(AT + timedelta(minutes=minutes))
    return done


def running(pending: AutomationStep, minutes: int = 0) -> AutomationStep:
    done, _ = queued(pending).start(AT + timedelta(minutes=minutes))
    return done


def failed(
    pending: AutomationStep, *, retry_in_minutes: int | None = None, minutes: int = 0
) -> AutomationStep:
    """Failed at AT + `minutes`: retryable in `retry_in_minutes` when given, else for good."""
    done, _ = running(pending).fail(
        "legacy system unavailable",
        retryable=retry_in_minutes is not None,
        retry_delay=timedelta(minutes=retry_in_minutes or 0),
        at=AT + timedelta(minutes=minutes),
    )
    return done


def succeeded(pending: AutomationStep) -> AutomationStep:
    done, _ = running(pending).succeed(legacy_reference="LEG-1", device_legacy_ids=["D1"], at=AT)
    return done


def task(task_id: str, step_id: str = "stp_1", minutes: int = 0) -> ManualTask:
    opened, _ = ManualTask.open(
        task_id,
        failed(step(step_id)),
        ScenarioConfig.default(RETURN),
        AT + timedelta(minutes=minutes),
    )
    return opened


def resolved(opened: ManualTask) -> ManualTask:
    done, _ = opened.resolve(notes="provisioned by hand", actor="ops@example.com", at=AT)
    return done


def step_changed(stored: AutomationStep, succeeds: bool) -> AutomationStep:
    """The step run once: succeeded with its legacy reference, or failed for good and
    handed to Ops with an edited payload."""
    if succeeds:
        return succeeded(stored)
    edited, _ = failed(stored).edit(actor="ops@example.com", at=AT, company_legacy_id="C42")
    return edited.attach_manual_task("mt_1")


def manual_tasks() -> st.SearchStrategy[ManualTask]:
    """Tasks opened for drawn steps that failed for good."""

    def build(pending: AutomationStep) -> ManualTask:
        stored = attrs.evolve(pending, id=unique("stp"))
        opened, _ = ManualTask.open(
            unique("mt"), failed(stored), ScenarioConfig.default(stored.scenario), AT
        )
        return opened

    return st.builds(build, pending_steps())


class TestRoundTrip:
    @ROUND_TRIP
    @given(drawn=pending_steps(), succeeds=st.booleans())
    async def test_automation_step(
        self, backend: Backend, drawn: AutomationStep, succeeds: bool
    ) -> None:
        """A step and its payload are stored and read back whole; a run's outcome updates."""
        stored = attrs.evolve(drawn, id=unique("stp"), shipment_item_id=unique("shi"))
        await assert_round_trip(backend, _steps, stored, step_changed(stored, succeeds))

    @ROUND_TRIP
    @given(drawn=scenario_configs())
    async def test_scenario_config(self, backend: Backend, drawn: ScenarioConfig) -> None:
        """A config is stored and read back whole, then updated.

        There is one config per scenario, so an example whose scenario an earlier example
        already stored updates that config instead."""
        changed, _ = drawn.update(at=AT, fallback_description="Call Ops.", max_attempts=9)
        async with backend.uow() as uow:
            before = await uow.scenario_configs.find(drawn.id)
        if before is None:
            await assert_round_trip(backend, _configs, drawn, changed)
            return
        async with backend.uow() as uow:
            stored = await uow.scenario_configs.update(attrs.evolve(drawn, version=before.version))
            await uow.commit()
        async with backend.uow() as uow:
            assert await uow.scenario_configs.get(drawn.id) == stored
        assert stored == attrs.evolve(drawn, version=before.version + 1)

    @ROUND_TRIP
    @given(drawn=manual_tasks())
    async def test_manual_task(self, backend: Backend, drawn: ManualTask) -> None:
        """A manual task is stored and read back whole; its resolution updates it."""
        await assert_round_trip(backend, _tasks, drawn, resolved(drawn))


class TestAutomationSteps:
    async def test_steps_of_a_shipment_order_and_item_oldest_first(self, backend: Backend) -> None:
        """for_shipment, for_fulfillment_order and for_shipment_item return their steps oldest
        first (ties by id)."""
        await add_all(
            backend,
            _steps,
            step("stp_c", item_id="shi_1", minutes=5),
            step("stp_b", item_id="shi_1", scenario=FIRST_TIME, minutes=1),
            step("stp_a", item_id="shi_2", minutes=1),
            step("stp_d", shipment_id="shp_2", item_id="shi_3", minutes=0),
            step("stp_e", shipment_id="shp_3", fulfillment_id="ful_2", item_id="shi_4"),
        )

        async def ids(query: Callable[[Any], Any]) -> list[str]:
            async with backend.uow() as uow:
                return [s.id for s in await query(uow.automation_steps)]

        assert await ids(lambda r: r.for_shipment("shp_1")) == ["stp_a", "stp_b", "stp_c"]
        assert await ids(lambda r: r.for_fulfillment_order("ful_1")) == [
            "stp_d", "stp_a", "stp_b", "stp_c",
        ]  # fmt: skip
        assert await ids(lambda r: r.for_shipment_item("shi_1")) == ["stp_b", "stp_c"]
        assert await ids(lambda r: r.for_shipment("shp_unknown")) == []
        assert await ids(lambda r: r.for_fulfillment_order("ful_unknown")) == []
        assert await ids(lambda r: r.for_shipment_item("shi_unknown")) == []

    async def test_due_for_retry_and_stalled(self, backend: Backend) -> None:
        """due_for_retry: failed steps whose retry is due by then, soonest first, up to the
        limit. stalled: steps queued or running since before the instant, longest waiting
        first, up to the limit."""
        await add_all(
            backend,
            _steps,
            failed(step("stp_1"), retry_in_minutes=10),
            failed(step("stp_2"), retry_in_minutes=5),
            failed(step("stp_3"), retry_in_minutes=60),
            failed(step("stp_4")),
            queued(step("stp_5"), minutes=30),
            running(step("stp_6"), minutes=20),
            queued(step("stp_7"), minutes=90),
            succeeded(step("stp_8")),
            step("stp_9"),
        )

        async def ids(query: Callable[[Any], Any]) -> list[str]:
            async with backend.uow() as uow:
                return [s.id for s in await query(uow.automation_steps)]

        assert await ids(lambda r: r.due_for_retry(after(minutes=4))) == []
        assert await ids(lambda r: r.due_for_retry(after(minutes=10))) == ["stp_2", "stp_1"]
        assert await ids(lambda r: r.due_for_retry(after(days=1), limit=2)) == ["stp_2", "stp_1"]
        assert await ids(lambda r: r.stalled(after(minutes=10))) == []
        assert await ids(lambda r: r.stalled(after(minutes=45))) == ["stp_6", "stp_5"]
        assert await ids(lambda r: r.stalled(after(days=1), limit=5)) == ["stp_6", "stp_5", "stp_7"]
        assert await ids(lambda r: r.stalled(after(days=1), limit=1)) == ["stp_6"]

    async def test_one_step_per_shipment_item_and_scenario(self, backend: Backend) -> None:
        """A second step for the same (shipment item, scenario) is a conflict; another
        scenario of the item, or another item, is not."""
        await add_all(backend, _steps, step("stp_1", item_id="shi_1"))
        with pytest.raises(ConflictError):
            await add_all(backend, _steps, step("stp_2", item_id="shi_1"))
        with pytest.raises(ConflictError):
            await add_all(
                backend, _steps, step("stp_3", item_id="shi_2"), step("stp_4", item_id="shi_2")
            )
        await add_all(
            backend,
            _steps,
            step("stp_5", item_id="shi_1", scenario=FIRST_TIME),
            step("stp_6", item_id="shi_3"),
        )
        async with backend.uow() as uow:
            found = await uow.automation_steps.for_shipment_item("shi_1")
        assert [s.id for s in found] == ["stp_1", "stp_5"]


class TestScenarioConfigs:
    async def test_all_lists_the_stored_configs(self, backend: Backend) -> None:
        """all returns every stored config (none stored: none); one is found by its scenario."""
        async with backend.uow() as uow:
            assert await uow.scenario_configs.all() == []
            assert await uow.scenario_configs.find(RETURN.value) is None
        configs = [ScenarioConfig.default(RETURN), ScenarioConfig.default(FIRST_TIME)]
        await add_all(backend, _configs, *configs)
        async with backend.uow() as uow:
            found = await uow.scenario_configs.all()
            assert await uow.scenario_configs.get(RETURN.value) == configs[0]
        assert sorted(found, key=lambda c: c.id) == sorted(configs, key=lambda c: c.id)


class TestManualTasks:
    async def test_for_step_and_open_tasks(self, backend: Backend) -> None:
        """for_step lists the step's tasks; open_tasks lists open ones oldest first (ties by
        id), up to the limit; resolved tasks are not open."""
        await add_all(
            backend,
            _tasks,
            task("mt_c", "stp_1", minutes=5),
            task("mt_b", "stp_2", minutes=1),
            task("mt_a", "stp_2", minutes=1),
            resolved(task("mt_d", "stp_1", minutes=0)),
        )
        async with backend.uow() as uow:
            of_step = await uow.manual_tasks.for_step("stp_1")
            assert await uow.manual_tasks.for_step("stp_unknown") == []
            opened = await uow.manual_tasks.open_tasks()
            first = await uow.manual_tasks.open_tasks(limit=1)
        assert sorted(t.id for t in of_step) == ["mt_c", "mt_d"]
        assert [t.id for t in opened] == ["mt_a", "mt_b", "mt_c"]
        assert [t.id for t in first] == ["mt_a"]
