"""Every state and event DESIGN.md names exists in the core, and each machine is a table."""

from __future__ import annotations

from enum import StrEnum

import pytest

from platform_core.automation.model import STEP_MACHINE, AutomationEvent, StepStatus
from platform_core.billing.model import INVOICE_MACHINE, BillingEvent, InvoiceStatus
from platform_core.fulfillment.model import (
    FULFILLMENT_MACHINE,
    SHIPMENT_MACHINE,
    FulfillmentEvent,
    FulfillmentStatus,
    ShipmentStatus,
    TrackingStatus,
)
from platform_core.jobs.model import JOB_RUN_MACHINE, JobEvent, JobStatus
from platform_core.orders.model import ORDER_MACHINE, OrderEvent, OrderStatus
from platform_core.shared.errors import IllegalTransition
from platform_core.shared.scenarios import AutomationScenario
from platform_core.shared.state_machine import StateMachine

DESIGN_STATES: list[tuple[type[StrEnum], set[str]]] = [
    (OrderStatus, {"draft", "checkout_sent", "payment_processing", "paid", "payment_failed",
                   "checkout_expired", "cancelled"}),
    (InvoiceStatus, {"draft", "issued", "partially_paid", "paid", "void", "overdue"}),
    (FulfillmentStatus, {"ready_to_prepare", "awaiting_shipment", "in_transit", "completed",
                         "cancelled"}),
    (ShipmentStatus, {"draft", "ready", "in_transit", "delivered", "cancelled"}),
    (StepStatus, {"pending", "queued", "running", "succeeded", "failed", "fallback_triggered"}),
    (JobStatus, {"queued", "active", "delayed", "completed", "failed", "cancelled"}),
    (TrackingStatus, {"pre_transit", "in_transit", "out_for_delivery", "delivered", "exception",
                      "returned", "unknown"}),
    (AutomationScenario, {"sensor_vendor_first_time", "sensor_partner_first_time",
                          "sensor_vendor_replacement", "sensor_partner_replacement",
                          "sensor_return"}),
]  # fmt: skip

DESIGN_EVENTS: list[tuple[type[StrEnum], set[str]]] = [
    (OrderEvent, {"order.created", "order.checkout_sent", "order.payment_processing",
                  "order.paid", "order.payment_failed", "order.checkout_expired",
                  "order.cancelled"}),
    (BillingEvent, {"invoice.issued", "invoice.payment_allocated", "invoice.paid",
                    "invoice.voided", "invoice.overdue"}),
    (FulfillmentEvent, {"fulfillment.created", "fulfillment.status_changed",
                        "fulfillment.completed", "shipment.drafted", "shipment.ready",
                        "shipment.in_transit", "shipment.delivered", "shipment.event_recorded"}),
    (AutomationEvent, {"automation.step_queued", "automation.step_succeeded",
                       "automation.step_failed", "automation.fallback_triggered"}),
]  # fmt: skip


@pytest.mark.parametrize(("enum", "names"), DESIGN_STATES, ids=lambda v: getattr(v, "__name__", ""))
def test_design_states_exist(enum: type[StrEnum], names: set[str]) -> None:
    """The state enum holds every state DESIGN.md lists for it."""
    assert names <= {member.value for member in enum}


@pytest.mark.parametrize(("enum", "names"), DESIGN_EVENTS, ids=lambda v: getattr(v, "__name__", ""))
def test_design_events_exist(enum: type[StrEnum], names: set[str]) -> None:
    """The event enum holds every event DESIGN.md lists for it."""
    assert names <= {member.value for member in enum}


def test_job_events_are_all_job_dot_something() -> None:
    """JobRun events follow the job.* naming of DESIGN.md."""
    assert all(member.value.startswith("job.") for member in JobEvent)


@pytest.mark.parametrize(
    "machine",
    [
        ORDER_MACHINE,
        INVOICE_MACHINE,
        FULFILLMENT_MACHINE,
        SHIPMENT_MACHINE,
        STEP_MACHINE,
        JOB_RUN_MACHINE,
    ],
    ids=lambda m: m.name,
)
def test_machines_refuse_everything_outside_their_table(machine: StateMachine) -> None:  # type: ignore[type-arg]
    """For every (state, trigger) pair not in the table, next_state raises IllegalTransition."""
    triggers = {trigger for (_, trigger) in machine.transitions}
    for state in machine.states:
        for trigger in triggers:
            if (state, trigger) in machine.transitions:
                continue
            with pytest.raises(IllegalTransition):
                machine.next_state(state, trigger)
