"""Cross-context reactions to domain events, and the subscription table the dispatcher uses.

order.paid          -> create the fulfillment order; issue the invoice with the payment
shipment.delivered  -> queue the automation steps of its items; try to complete fulfillment
shipment.cancelled, automation.step_succeeded, automation.fallback_triggered
                    -> try to complete the fulfillment order
automation.step_succeeded
                    -> record the devices and assignment windows the legacy write made
legacy.drift_detected
                    -> alert Ops through the notifier (once per report)
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from platform_core.automation.service import (
    DeliveredItem,
    QueueStepsForDeliveredShipment,
    queue_steps_for_delivered_shipment,
)
from platform_core.billing.model import PaymentMethod
from platform_core.billing.service import (
    InvoiceLineSpec,
    IssueInvoiceForPaidOrder,
    PaymentSpec,
    issue_invoice_for_paid_order,
)
from platform_core.fulfillment.service import (
    CreateFulfillmentForPaidOrder,
    FulfillmentLineSpec,
    create_fulfillment_for_paid_order,
)
from platform_core.legacy.inventory import RecordAutomationResult, record_automation_result
from platform_core.lifecycle import payloads as p
from platform_core.lifecycle.completion import try_complete_fulfillment
from platform_core.lifecycle.dispatcher import Subscription
from platform_core.lifecycle.ports import LifecycleDeps
from platform_core.ports.core import Notification
from platform_core.shared.events import Payload, StoredEvent


async def when_order_paid_create_fulfillment(deps: LifecycleDeps, stored: StoredEvent) -> None:
    payload = stored.event.payload
    items = tuple(
        FulfillmentLineSpec(
            order_item_id=p.text(item, "order_item_id"),
            product_id=p.text(item, "product_id"),
            description=p.text(item, "description"),
            quantity=p.integer(item, "quantity"),
            automation_scenario=p.scenario(item),
        )
        for item in p.records(payload, "items")
    )
    command = CreateFulfillmentForPaidOrder(
        order_id=p.text(payload, "order_id"),
        company_id=p.text(payload, "company_id"),
        items=items,
        correlation_id=stored.event.correlation_id,
    )
    await create_fulfillment_for_paid_order(deps, command)


async def when_order_paid_issue_invoice(deps: LifecycleDeps, stored: StoredEvent) -> None:
    payload = stored.event.payload
    payment = p.mapping(payload, "payment")
    lines = tuple(
        InvoiceLineSpec(
            order_item_id=p.text(item, "order_item_id"),
            product_id=p.text(item, "product_id"),
            description=p.text(item, "description"),
            quantity=p.integer(item, "quantity"),
            unit_amount=p.money(item, "unit_amount"),
        )
        for item in p.records(payload, "items")
    )
    command = IssueInvoiceForPaidOrder(
        order_id=p.text(payload, "order_id"),
        company_id=p.text(payload, "company_id"),
        currency=p.text(payload, "currency"),
        billing_contact_id=p.optional_text(payload, "billing_contact_id"),
        billing_address_id=p.optional_text(payload, "billing_address_id"),
        lines=lines,
        payment=PaymentSpec(
            method=PaymentMethod(p.text(payment, "provider")),
            external_reference=p.text(payment, "external_reference"),
            amount=p.money(payment, "amount"),
            received_at=datetime.fromisoformat(p.text(payment, "received_at")),
            stripe_payment_intent_id=p.optional_text(payment, "payment_intent_id"),
            stripe_charge_id=p.optional_text(payment, "charge_id"),
        ),
        correlation_id=stored.event.correlation_id,
    )
    await issue_invoice_for_paid_order(deps, command)


async def when_shipment_delivered_queue_automation(
    deps: LifecycleDeps, stored: StoredEvent
) -> None:
    payload = stored.event.payload
    items = tuple(
        DeliveredItem(
            shipment_item_id=p.text(item, "shipment_item_id"),
            product_id=p.text(item, "product_id"),
            quantity=p.integer(item, "quantity"),
            automation_scenario=p.scenario(item),
        )
        for item in p.records(payload, "items")
    )
    company_id = p.text(payload, "company_id")
    async with deps.uow() as uow:
        company = await uow.companies.get(company_id)
    command = QueueStepsForDeliveredShipment(
        shipment_id=p.text(payload, "shipment_id"),
        fulfillment_order_id=p.text(payload, "fulfillment_order_id"),
        order_id=p.text(payload, "order_id"),
        company_id=company_id,
        items=items,
        correlation_id=stored.event.correlation_id,
        company_legacy_id=company.company_mirror_id,
    )
    await queue_steps_for_delivered_shipment(deps, command)


async def when_step_succeeded_record_devices(deps: LifecycleDeps, stored: StoredEvent) -> None:
    # A reaction, not part of the step's success transaction: that one stays short, and the
    # inventory write is made exactly once by its own key (the step id).
    step_id = p.text(stored.event.payload, "step_id")
    async with deps.uow() as uow:
        step = await uow.automation_steps.get(step_id)
        shipment = await uow.shipments.find(step.shipment_id)
    delivered_at = shipment.delivered_at if shipment is not None else None
    command = RecordAutomationResult(
        step_id=step.id,
        operation=step.plan.operation,
        company_id=step.company_id,
        product_id=step.payload.product_id,
        device_legacy_ids=step.legacy_device_ids,
        # Devices change hands when the shipment is delivered, not when the legacy call ran.
        effective_at=delivered_at or step.succeeded_at or stored.event.occurred_at,
        device_serials=step.payload.device_serials,
        replaced_serials=step.payload.replaced_serials,
        correlation_id=stored.event.correlation_id,
    )
    await record_automation_result(deps, command)


def drift_alert(payload: Payload) -> Notification:
    """The Ops notification for one `legacy.drift_detected` event (counts, and where to look)."""
    report_id = p.text(payload, "report_id")
    entity = p.text(payload, "entity")
    counts = p.mapping(payload, "counts")
    found = ", ".join(f"{kind} {p.integer(counts, kind)}" for kind in sorted(counts))
    return Notification(
        subject=f"Legacy drift: {entity} mirrors disagree with the legacy system",
        body=f"Drift report {report_id} ({entity}): {found}. Read it at "
        f"GET /v1/legacy-sync/reports/{report_id}, then refresh the mirrors that are wrong "
        f"(POST /v1/legacy-sync/{entity}/refresh) or fix the legacy records.",
        severity="warning",
        tags=("legacy", "drift", entity),
        related={"sync_report_id": report_id, "entity": entity},
    )


async def when_drift_detected_alert_ops(deps: LifecycleDeps, stored: StoredEvent) -> None:
    # Once per event: the dispatcher's inbox marks this subscription handled after it returns.
    await deps.notifier.notify(drift_alert(stored.event.payload))


async def when_work_settles_complete_fulfillment(deps: LifecycleDeps, stored: StoredEvent) -> None:
    fulfillment_order_id = p.text(stored.event.payload, "fulfillment_order_id")
    await try_complete_fulfillment(deps, fulfillment_order_id, stored.event.correlation_id)


def subscriptions(deps: LifecycleDeps) -> list[Subscription]:
    """Who reacts to what. Subscription names are inbox keys: never rename one lightly."""
    table = [
        ("order.paid", "fulfillment.create_for_paid_order", when_order_paid_create_fulfillment),
        ("order.paid", "billing.issue_invoice_for_paid_order", when_order_paid_issue_invoice),
        (
            "shipment.delivered",
            "automation.queue_steps_for_delivery",
            when_shipment_delivered_queue_automation,
        ),
        (
            "automation.step_succeeded",
            "legacy.record_devices_for_step",
            when_step_succeeded_record_devices,
        ),
        ("legacy.drift_detected", "ops.alert_on_drift", when_drift_detected_alert_ops),
    ]
    completion_triggers = [
        "shipment.delivered",
        "shipment.cancelled",
        "automation.step_succeeded",
        "automation.fallback_triggered",
    ]
    table += [
        (event, "fulfillment.try_complete", when_work_settles_complete_fulfillment)
        for event in completion_triggers
    ]
    return [Subscription(name, event, partial(handler, deps)) for event, name, handler in table]
