"""`Platform.prepare()`: what every entrypoint makes sure of on start, idempotently."""

from __future__ import annotations

from entrypoints.bootstrap import MEMORY_URL, Settings, bootstrap
from platform_core.automation.service import UpdateScenarioConfig, update_scenario_config
from platform_core.fulfillment.couriers import (
    UpdateCourier,
    get_courier,
    list_couriers,
    update_courier,
)
from platform_core.fulfillment.model import CourierChanges
from platform_core.shared.scenarios import AutomationScenario


async def test_prepare_registers_couriers_and_stores_scenario_configs_once() -> None:
    """The default couriers, the simulator and every scenario's config are stored; preparing
    again (another process starting) keeps what Ops changed in the meantime."""
    platform = bootstrap(Settings(database_url=MEMORY_URL))
    try:
        await platform.prepare()
        codes = [courier.code for courier in await list_couriers(platform.deps)]
        assert codes == ["canada_post", "chit_chats", "dhl", "simulator", "usps"]
        async with platform.deps.uow() as uow:
            stored = await uow.scenario_configs.all()
        assert {config.scenario for config in stored} == set(AutomationScenario)

        await update_courier(
            platform.deps,
            UpdateCourier("usps", CourierChanges(polling_interval_seconds=600)),
        )
        scenario = AutomationScenario.SENSOR_RETURN
        await update_scenario_config(
            platform.deps, UpdateScenarioConfig(scenario=scenario, max_attempts=7)
        )
        await platform.prepare()

        assert (await get_courier(platform.deps, "usps")).polling_interval_seconds == 600
        async with platform.deps.uow() as uow:
            configs = {config.scenario: config for config in await uow.scenario_configs.all()}
        assert len(configs) == len(AutomationScenario)
        assert configs[scenario].max_attempts == 7
    finally:
        await platform.close()


async def test_prepare_without_the_simulator_registers_only_carriers() -> None:
    platform = bootstrap(Settings(database_url=MEMORY_URL, courier_simulator=False))
    try:
        await platform.prepare()
        codes = [courier.code for courier in await list_couriers(platform.deps)]
        assert codes == ["canada_post", "chit_chats", "dhl", "usps"]
    finally:
        await platform.close()
