"""When a fulfillment order is complete: every unit delivered and every automation settled."""

from __future__ import annotations

from collections.abc import Sequence

from platform_core.automation.model import AutomationStep
from platform_core.fulfillment.model import FulfillmentOrder, Shipment, ShipmentStatus
from platform_core.fulfillment.service import CompleteFulfillment, complete_fulfillment
from platform_core.lifecycle.ports import LifecycleDeps


def automation_settled(shipments: Sequence[Shipment], steps: Sequence[AutomationStep]) -> bool:
    """Every delivered item that needs automation has a step, and every step is settled.

    Checking for the steps' existence matters: the reaction that creates them may run after
    the one that tries to complete, and no steps yet must not read as "all settled".
    """
    needed = {
        item.id
        for shipment in shipments
        if shipment.status is ShipmentStatus.DELIVERED
        for item in shipment.items
        if item.automation_scenario is not None
    }
    settled = {step.shipment_item_id for step in steps if step.is_settled}
    return needed <= settled and all(step.is_settled for step in steps)


async def try_complete_fulfillment(
    deps: LifecycleDeps, fulfillment_order_id: str, correlation_id: str | None = None
) -> FulfillmentOrder | None:
    """Complete the fulfillment order if nothing blocks it; return it when completed."""
    async with deps.uow() as uow:
        fulfillment = await uow.fulfillment_orders.get(fulfillment_order_id)
        shipments = await uow.shipments.for_fulfillment(fulfillment_order_id)
        steps = await uow.automation_steps.for_fulfillment_order(fulfillment_order_id)
    settled = automation_settled(shipments, steps)
    if fulfillment.completion_blockers(shipments, automation_settled=settled):
        return None
    command = CompleteFulfillment(fulfillment_order_id, settled, correlation_id)
    return await complete_fulfillment(deps, command)
