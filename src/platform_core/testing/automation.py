"""Strategies for the automation context: scenario configs, step payloads, steps, deliveries."""

from __future__ import annotations

from datetime import datetime

from hypothesis import strategies as st

from platform_core.automation.model import AutomationStep, ScenarioConfig, StepPayload
from platform_core.automation.service import DeliveredItem, QueueStepsForDeliveredShipment
from platform_core.shared.errors import ExternalServiceError
from platform_core.shared.scenarios import AutomationScenario
from platform_core.testing.legacy import legacy_ids, serial_numbers
from platform_core.testing.shared import ids, instants


def scenarios() -> st.SearchStrategy[AutomationScenario]:
    """Any automation scenario."""
    return st.sampled_from(AutomationScenario)


def scenario_configs(max_attempts: int = 6) -> st.SearchStrategy[ScenarioConfig]:
    """Valid configs: 1..`max_attempts` attempts, delays up to an hour, timeouts up to 5 min."""

    def build(
        scenario: AutomationScenario, attempts: int, delay: int, timeout: int, text: str
    ) -> ScenarioConfig:
        return ScenarioConfig(
            id=scenario.value,
            scenario=scenario,
            max_attempts=attempts,
            retry_delay_seconds=delay,
            timeout_seconds=timeout,
            fallback_description=text,
        )

    return st.builds(
        build,
        scenarios(),
        st.integers(1, max_attempts),
        st.integers(0, 3600),
        st.integers(1, 300),
        st.sampled_from(("Provision by hand.", "Call the customer and book a technician.")),
    )


def step_payloads(max_quantity: int = 5) -> st.SearchStrategy[StepPayload]:
    """Payloads whose serial lists are distinct and no longer than the quantity."""

    @st.composite
    def build(draw: st.DrawFn) -> StepPayload:
        quantity = draw(st.integers(1, max_quantity))
        serials = st.lists(serial_numbers(), max_size=quantity, unique=True)
        return StepPayload(
            product_id=draw(ids("prd")),
            quantity=quantity,
            device_serials=tuple(draw(serials)),
            replaced_serials=tuple(draw(serials)),
            company_legacy_id=draw(st.none() | legacy_ids("C")),
        )

    return build()


def pending_steps(
    config: st.SearchStrategy[ScenarioConfig] | None = None,
    created_at: st.SearchStrategy[datetime] | None = None,
) -> st.SearchStrategy[AutomationStep]:
    """New (pending) steps built through `AutomationStep.create` with a matching config."""

    def build(
        step_id: str, chosen: ScenarioConfig, payload: StepPayload, at: datetime
    ) -> AutomationStep:
        step, _ = AutomationStep.create(
            step_id,
            shipment_id="shp_1",
            shipment_item_id="shi_1",
            fulfillment_order_id="ful_1",
            order_id="ord_1",
            company_id="cmp_1",
            scenario=chosen.scenario,
            payload=payload,
            config=chosen,
            at=at,
        )
        return step

    configs = scenario_configs() if config is None else config
    moments = instants() if created_at is None else created_at
    return st.builds(build, ids("stp"), configs, step_payloads(), moments)


def delivered_items(
    scenario: st.SearchStrategy[AutomationScenario | None] | None = None,
) -> st.SearchStrategy[DeliveredItem]:
    """Delivered shipment items, with or without a scenario."""
    return st.builds(
        DeliveredItem,
        shipment_item_id=ids("shi"),
        product_id=ids("prd"),
        quantity=st.integers(1, 5),
        automation_scenario=scenario if scenario is not None else st.none() | scenarios(),
    )


def delivered_shipments(max_items: int = 5) -> st.SearchStrategy[QueueStepsForDeliveredShipment]:
    """Commands for a delivered shipment of 1..`max_items` items with distinct ids."""
    items = st.lists(
        delivered_items(), min_size=1, max_size=max_items, unique_by=lambda i: i.shipment_item_id
    )
    return st.builds(
        QueueStepsForDeliveredShipment,
        shipment_id=ids("shp"),
        fulfillment_order_id=ids("ful"),
        order_id=ids("ord"),
        company_id=ids("cmp"),
        items=items.map(tuple),
        correlation_id=st.none() | ids("corr"),
    )


def bridge_errors() -> st.SearchStrategy[ExternalServiceError]:
    """Legacy bridge failures, transient (retryable) or permanent."""
    return st.builds(
        lambda retryable: ExternalServiceError(
            "legacy system unavailable" if retryable else "legacy system refused the request",
            retryable=retryable,
        ),
        st.booleans(),
    )
