"""Orders: draft (priced), list, read, checkout, status override, cancel, refunds, timeline,
metrics.

A company-scoped key sees and acts on only its own company's orders; it may not override an
order's status by hand or read the metrics of every company.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter

from entrypoints.api.dependencies import Caller, Deps, RequestId
from entrypoints.api.openapi import ERRORS_READ, ERRORS_WRITE
from entrypoints.api.routes.catalogue import QuoteLineIn
from entrypoints.api.schemas import MAX_PAGE_SIZE, Body, MoneyBody, View, money_or_none
from entrypoints.api.security import Principal
from entrypoints.bootstrap import Dependencies
from platform_core.lifecycle.metrics import OrdersMetrics
from platform_core.lifecycle.service import (
    CancelOrder,
    Lane,
    RefundOrder,
    TimelineEntry,
    cancel_order,
    order_timeline,
    orders_metrics,
    refund_order,
)
from platform_core.orders.model import (
    CheckoutAttempt,
    Order,
    OrderItem,
    OrderStatus,
    PaymentProvider,
    PaymentReceived,
)
from platform_core.orders.ports import OrderFilter
from platform_core.orders.service import (
    CreateDraftOrder,
    SendCheckout,
    SetOrderStatus,
    create_draft_order,
    get_order,
    list_orders,
    send_checkout,
    set_order_status,
)
from platform_core.pricing.model import PriceSource
from platform_core.shared.scenarios import AutomationScenario
from platform_core.shared.time import require_aware

Identifier = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Reason = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
MAX_ORDER_LINES = 200


# -- bodies ----------------------------------------------------------------------------------


class OrderIn(Body):
    company_id: Identifier
    billing_contact_id: Identifier
    billing_address_id: Identifier
    lines: Annotated[list[QuoteLineIn], msgspec.Meta(min_length=1, max_length=MAX_ORDER_LINES)]
    currency: Annotated[str, msgspec.Meta(min_length=3, max_length=3)] | None = None
    purchase_order_number: Annotated[str, msgspec.Meta(min_length=1, max_length=100)] | None = None


class SendCheckoutIn(Body):
    customer_email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)] | None = None


class OrderStatusIn(Body):
    status: Annotated[
        OrderStatus,
        msgspec.Meta(
            description="paid, cancelled, payment_processing, payment_failed or checkout_expired"
        ),
    ]
    reason: Reason | None = None
    reference: (
        Annotated[
            str,
            msgspec.Meta(min_length=1, max_length=200, description="Payment reference, for paid"),
        ]
        | None
    ) = None


class CancelOrderIn(Body):
    reason: Reason


class RefundIn(Body):
    reason: Reason
    amount: (
        Annotated[
            MoneyBody,
            msgspec.Meta(description="In the order's currency; null refunds all that is left"),
        ]
        | None
    ) = None


# -- views -----------------------------------------------------------------------------------


class PriceSnapshotView(View):
    price_type: PriceSource
    label: str
    price_book_entry_id: str | None
    price_agreement_id: str | None
    stripe_price_id: str | None
    bespoke_notes: str | None


class OrderItemView(View):
    id: str
    product_id: str
    sku: str
    description: str
    quantity: int
    unit_amount: MoneyBody
    line_total: MoneyBody
    price: PriceSnapshotView
    automation_scenario: AutomationScenario | None


class CheckoutView(View):
    attempt: int
    session_id: str
    url: str
    sent_at: datetime
    expires_at: datetime | None


class PaymentView(View):
    provider: PaymentProvider
    reference: str
    amount: MoneyBody
    received_at: datetime
    payment_intent_id: str | None
    charge_id: str | None


class OrderView(View):
    id: str
    company_id: str
    status: OrderStatus
    currency: str
    total: MoneyBody
    billing_contact_id: str
    billing_address_id: str
    purchase_order_number: str | None
    items: list[OrderItemView]
    created_at: datetime
    checkout: CheckoutView | None
    checkout_attempts: int
    payment: PaymentView | None
    paid_at: datetime | None
    failure_reason: str | None
    cancelled_at: datetime | None
    cancellation_reason: str | None
    refunded: MoneyBody | None
    version: int


class OrderPage(View):
    items: list[OrderView]
    limit: int
    offset: int


class TimelineEntryView(View):
    position: int
    event_id: str
    lane: Lane
    type: str
    aggregate_type: str
    aggregate_id: str
    occurred_at: datetime
    payload: dict[str, Any]
    correlation_id: str | None


class TimelineView(View):
    order_id: str
    entries: list[TimelineEntryView]


class OrdersMetricsView(View):
    at: datetime
    orders_by_status: dict[str, int]
    outstanding_orders: int
    active_fulfillments: int
    shipments_in_flight: int
    returns_pending: int
    payment_failures: int
    payment_failures_24h: int


def _item_view(item: OrderItem) -> OrderItemView:
    return OrderItemView(
        id=item.id,
        product_id=item.product_id,
        sku=item.sku,
        description=item.description,
        quantity=item.quantity,
        unit_amount=MoneyBody.of(item.unit_amount),
        line_total=MoneyBody.of(item.line_total),
        price=PriceSnapshotView(
            price_type=item.price.price_type,
            label=item.price.label,
            price_book_entry_id=item.price.price_book_entry_id,
            price_agreement_id=item.price.price_agreement_id,
            stripe_price_id=item.price.stripe_price_id,
            bespoke_notes=item.price.bespoke_notes,
        ),
        automation_scenario=item.automation_scenario,
    )


def _checkout_view(checkout: CheckoutAttempt | None) -> CheckoutView | None:
    if checkout is None:
        return None
    return CheckoutView(
        attempt=checkout.number,
        session_id=checkout.session_id,
        url=checkout.url,
        sent_at=checkout.sent_at,
        expires_at=checkout.expires_at,
    )


def _payment_view(payment: PaymentReceived | None) -> PaymentView | None:
    if payment is None:
        return None
    return PaymentView(
        provider=payment.provider,
        reference=payment.reference,
        amount=MoneyBody.of(payment.amount),
        received_at=payment.received_at,
        payment_intent_id=payment.payment_intent_id,
        charge_id=payment.charge_id,
    )


def order_view(order: Order) -> OrderView:
    return OrderView(
        id=order.id,
        company_id=order.company_id,
        status=order.status,
        currency=order.currency,
        total=MoneyBody.of(order.total),
        billing_contact_id=order.billing_contact_id,
        billing_address_id=order.billing_address_id,
        purchase_order_number=order.purchase_order_number,
        items=[_item_view(item) for item in order.items],
        created_at=order.created_at,
        checkout=_checkout_view(order.checkout),
        checkout_attempts=order.checkout_attempts,
        payment=_payment_view(order.payment),
        paid_at=order.paid_at,
        failure_reason=order.failure_reason,
        cancelled_at=order.cancelled_at,
        cancellation_reason=order.cancellation_reason,
        refunded=money_or_none(order.refunded),
        version=order.version,
    )


def timeline_entry_view(entry: TimelineEntry) -> TimelineEntryView:
    return TimelineEntryView(
        position=entry.position,
        event_id=entry.event_id,
        lane=entry.lane,
        type=entry.type,
        aggregate_type=entry.aggregate_type,
        aggregate_id=entry.aggregate_id,
        occurred_at=entry.occurred_at,
        payload=dict(entry.payload),
        correlation_id=entry.correlation_id,
    )


def metrics_view(metrics: OrdersMetrics) -> OrdersMetricsView:
    return OrdersMetricsView(
        at=metrics.at,
        orders_by_status=dict(metrics.orders_by_status),
        outstanding_orders=metrics.outstanding_orders,
        active_fulfillments=metrics.active_fulfillments,
        shipments_in_flight=metrics.shipments_in_flight,
        returns_pending=metrics.returns_pending,
        payment_failures=metrics.payment_failures,
        payment_failures_24h=metrics.payment_failures_24h,
    )


async def _visible_order(deps: Dependencies, principal: Principal, order_id: str) -> Order:
    """The order, or 'not found' when it belongs to another company than a scoped key's."""
    order = await get_order(deps, order_id)
    principal.require_company(order.company_id, "order", order_id)
    return order


# -- routes ----------------------------------------------------------------------------------


class OrderController(Controller):
    path = "/v1/orders"
    tags = ["Orders"]
    opt = {"family": "orders"}

    @post("/", summary="Draft an order, priced by the resolver", responses=ERRORS_WRITE)
    async def create(
        self, data: JSONBody[OrderIn], deps: Deps, principal: Caller, request_id: RequestId
    ) -> OrderView:
        company_id = principal.company_filter(data.company_id) or data.company_id
        command = CreateDraftOrder(
            company_id=company_id,
            billing_contact_id=data.billing_contact_id,
            billing_address_id=data.billing_address_id,
            lines=[line.to_line() for line in data.lines],
            currency=data.currency,
            purchase_order_number=data.purchase_order_number,
            correlation_id=request_id,
        )
        return order_view(await create_draft_order(deps, command))

    @get("/", summary="List orders, newest first", responses=ERRORS_READ)
    async def list(
        self,
        deps: Deps,
        principal: Caller,
        status: FromQuery[OrderStatus | None] = None,
        company_id: FromQuery[str | None] = None,
        created_from: Annotated[
            datetime | None, Parameter(description="Created at or after (with a time zone)")
        ] = None,
        created_to: Annotated[
            datetime | None, Parameter(description="Created before (with a time zone)")
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=MAX_PAGE_SIZE)] = 50,
        offset: Annotated[int, Parameter(ge=0)] = 0,
    ) -> OrderPage:
        filters = OrderFilter(
            company_id=principal.company_filter(company_id),
            status=status,
            created_from=None
            if created_from is None
            else require_aware(created_from, "created_from"),
            created_to=None if created_to is None else require_aware(created_to, "created_to"),
        )
        orders = await list_orders(deps, filters, limit, offset)
        return OrderPage(items=[order_view(o) for o in orders], limit=limit, offset=offset)

    # Declared before "/{order_id}" for readers; Litestar matches the static path first anyway.
    @get(
        "/metrics",
        summary="Outstanding orders, active fulfillments, shipments in flight, payment failures",
        responses=ERRORS_READ,
        opt={"scoped": False},
    )
    async def metrics(self, deps: Deps) -> OrdersMetricsView:
        return metrics_view(await orders_metrics(deps))

    @get("/{order_id:str}", summary="Get an order", responses=ERRORS_READ)
    async def show(self, order_id: FromPath[str], deps: Deps, principal: Caller) -> OrderView:
        return order_view(await _visible_order(deps, principal, order_id))

    @post(
        "/{order_id:str}/send-checkout",
        status_code=200,
        summary="Open a hosted checkout (every line must be synced with Stripe)",
        responses=ERRORS_WRITE,
    )
    async def send_checkout(
        self,
        order_id: FromPath[str],
        deps: Deps,
        principal: Caller,
        request_id: RequestId,
        data: JSONBody[SendCheckoutIn | None] = None,
    ) -> OrderView:
        await _visible_order(deps, principal, order_id)
        email = data.customer_email if data is not None else None
        return order_view(await send_checkout(deps, SendCheckout(order_id, email, request_id)))

    @patch(
        "/{order_id:str}/status",
        summary="Override an order's status by hand (Ops), through the order machine",
        responses=ERRORS_WRITE,
        opt={"scoped": False},
    )
    async def set_status(
        self,
        order_id: FromPath[str],
        data: JSONBody[OrderStatusIn],
        deps: Deps,
        request_id: RequestId,
    ) -> OrderView:
        command = SetOrderStatus(order_id, data.status, data.reason, data.reference, request_id)
        return order_view(await set_order_status(deps, command))

    @post(
        "/{order_id:str}/cancel",
        status_code=200,
        summary="Cancel an order; a paid one with its full refund, before anything shipped",
        responses=ERRORS_WRITE,
    )
    async def cancel(
        self,
        order_id: FromPath[str],
        data: JSONBody[CancelOrderIn],
        deps: Deps,
        principal: Caller,
        request_id: RequestId,
    ) -> OrderView:
        await _visible_order(deps, principal, order_id)
        return order_view(await cancel_order(deps, CancelOrder(order_id, data.reason, request_id)))

    @post(
        "/{order_id:str}/refunds",
        status_code=200,
        summary="Refund all or part of a paid order (through Stripe for a card payment)",
        description=(
            "amount null refunds everything not yet refunded. The invoice balance re-opens by "
            "the refunded amount and the order's `refunded` shows the running total. With an "
            "Idempotency-Key the provider sees a key derived from it; without one, a retry "
            "after a failure still cannot refund twice. An unpaid order is 409; more than is "
            "left to refund is 422."
        ),
        responses=ERRORS_WRITE,
    )
    async def refund(
        self,
        order_id: FromPath[str],
        data: JSONBody[RefundIn],
        request: Request[Any, Any, Any],
        deps: Deps,
        principal: Caller,
        request_id: RequestId,
    ) -> OrderView:
        await _visible_order(deps, principal, order_id)
        amount = data.amount.to_money() if data.amount is not None else None
        command = RefundOrder(
            order_id=order_id,
            amount=amount,
            reason=data.reason,
            request_key=request.headers.get("idempotency-key"),
            correlation_id=request_id,
        )
        return order_view(await refund_order(deps, command))

    @get(
        "/{order_id:str}/timeline",
        summary="Everything that happened to the order, from its stored events",
        responses=ERRORS_READ,
    )
    async def timeline(
        self, order_id: FromPath[str], deps: Deps, principal: Caller
    ) -> TimelineView:
        await _visible_order(deps, principal, order_id)
        entries = await order_timeline(deps, order_id)
        return TimelineView(order_id=order_id, entries=[timeline_entry_view(e) for e in entries])


ROUTES = [OrderController]
