"""Automation results become devices and assignment windows, through the whole platform
(delivery -> automation step -> legacy bridge -> step succeeded -> reaction), on every store."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
from tests.support.databases import empty

from adapters.persistence.sql import SqlDatabase
from entrypoints.bootstrap import MEMORY_URL, Settings
from entrypoints.demo import Demo, happy_path
from entrypoints.seed import COMPANY_MIRROR_ID
from platform_core.automation.model import AutomationStep, StepStatus
from platform_core.automation.service import CreateStep, create_step
from platform_core.legacy.assignments import DeviceStatus
from platform_core.legacy.inventory import get_device_history, list_devices
from platform_core.lifecycle.reactions import when_step_succeeded_record_devices
from platform_core.orders.model import Order
from platform_core.shared.scenarios import AutomationScenario


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def demo(request: pytest.FixtureRequest) -> AsyncIterator[Demo]:
    url = MEMORY_URL
    if request.param != "memory":
        url = request.getfixturevalue(f"{request.param}_url")
        database = SqlDatabase(url)
        await empty(database)
        await database.dispose()
    started = await Demo.start(io.StringIO(), Settings(database_url=url, migrate_on_start=False))
    try:
        yield started
    finally:
        await started.platform.close()


async def delivered_steps(demo: Demo, order: Order) -> list[AutomationStep]:
    fulfillment = await demo.fulfillment(order)
    async with demo.deps.uow() as uow:
        return await uow.automation_steps.for_fulfillment_order(fulfillment.id)


async def test_first_time_installs_register_the_devices_from_delivery(demo: Demo) -> None:
    """Every provisioned unit is a device of the ordering company (its modern id), held from
    the moment the shipment was delivered."""
    order = await happy_path(demo)
    steps = await delivered_steps(demo, order)
    async with demo.deps.uow() as uow:
        shipment = await uow.shipments.get(steps[0].shipment_id)
    company_id = demo.seeded.company_id
    devices = await list_devices(demo.deps, company_id=company_id)
    legacy_ids = sorted(legacy_id for step in steps for legacy_id in step.legacy_device_ids)
    assert sorted(d.legacy_id for d in devices) == legacy_ids
    assert len(devices) == 5  # 2 gateways + 3 probes; the mounting kit has no scenario
    for device in devices:
        history = await get_device_history(demo.deps, device.id)
        (window,) = history.windows
        assert window.holder_id == company_id
        assert window.valid_from == shipment.delivered_at
        assert window.opened_by in {step.id for step in steps}
    assert await list_devices(demo.deps, company_id=COMPANY_MIRROR_ID) == []


async def test_a_redelivered_step_succeeded_event_adds_nothing(demo: Demo) -> None:
    """The reaction run again for the same event (at-least-once delivery) is a no-op."""
    order = await happy_path(demo)
    steps = await delivered_steps(demo, order)
    before = await list_devices(demo.deps)
    async with demo.deps.uow() as uow:
        stored = await uow.events.for_aggregate("automation_step", steps[0].id)
    (succeeded,) = [s for s in stored if s.event.type == "automation.step_succeeded"]
    await when_step_succeeded_record_devices(demo.deps, succeeded)
    after = await list_devices(demo.deps)
    assert after == before
    for device in after:
        assert len((await get_device_history(demo.deps, device.id)).windows) == 1


async def test_a_return_step_marks_the_device_returned(demo: Demo) -> None:
    """Ops adds a return step for one unit; once it succeeds the device is returned and its
    company window ends."""
    order = await happy_path(demo)
    steps = await delivered_steps(demo, order)
    gateway_step = next(s for s in steps if s.scenario == "sensor_vendor_first_time")
    device_legacy_id = gateway_step.legacy_device_ids[0]
    record = await demo.deps.bridge.get_device(device_legacy_id, correlation_id="test")
    assert record is not None
    command = CreateStep(
        shipment_id=gateway_step.shipment_id,
        shipment_item_id=gateway_step.shipment_item_id,
        fulfillment_order_id=gateway_step.fulfillment_order_id,
        order_id=gateway_step.order_id,
        company_id=gateway_step.company_id,
        scenario=AutomationScenario.SENSOR_RETURN,
        product_id=gateway_step.payload.product_id,
        quantity=1,
        device_serials=(record.serial_number,),
        company_legacy_id=COMPANY_MIRROR_ID,
    )
    returning = await create_step(demo.deps, command)
    await demo.platform.settle()
    async with demo.deps.uow() as uow:
        assert (await uow.automation_steps.get(returning.id)).status is StepStatus.SUCCEEDED
        device = await uow.devices.by_legacy_id(device_legacy_id)
    assert device is not None
    history = await get_device_history(demo.deps, device.id)
    assert history.device.status is DeviceStatus.RETURNED
    assert history.company_id is None
    assert history.windows[0].closed_by == returning.id
    held = await list_devices(demo.deps, company_id=demo.seeded.company_id)
    assert device.id not in {d.id for d in held}
    assert len(held) == 4
