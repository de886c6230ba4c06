"""Cross-context reactions to domain events, and the subscription table the dispatcher uses.

order.paid          -> create the fulfillment order; issue the invoice with the payment
shipment.delivered  -> queue the automation steps of its items; try to complete fulfillment
shipment.cancelled, automation.step_succeeded, automation.fallback_triggered
                    -> try to complete the fulfillment order
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
from platform_core.lifecycle import payloads as p
from platform_core.lifecycle.completion import try_complete_fulfillment
from platform_core.lifecycle.dispatcher import Subscription
from platform_core.lifecycle.ports import LifecycleDeps
from platform_core.shared.events import StoredEvent


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
