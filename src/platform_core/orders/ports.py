"""Ports of the orders context: its repository, unit of work, deps and the payment gateway."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Protocol

import attrs

from platform_core.orders.model import Order, OrderStatus
from platform_core.ports.core import Notifier, Repository, ServiceDeps
from platform_core.pricing.ports import PricingUnitOfWork
from platform_core.shared.money import Money
from platform_core.shared.time import aware


@attrs.frozen
class OrderFilter:
    """Filters of the order list; `None` means any."""

    company_id: str | None = None
    status: OrderStatus | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


class OrderRepository(Repository[Order], Protocol):
    """Orders, found by id or listed with filters (newest first)."""

    async def list(self, filters: OrderFilter, limit: int, offset: int) -> list[Order]: ...

    async def find_by_checkout_session(self, session_id: str) -> Order | None: ...

    async def find_by_item(self, order_item_id: str) -> Order | None:
        """The order holding the item `order_item_id`, if any."""
        ...


class OrdersUnitOfWork(PricingUnitOfWork, Protocol):
    """A transaction over orders; includes pricing because drafting and checkout re-price."""

    @property
    def orders(self) -> OrderRepository: ...


# -- payment gateway -------------------------------------------------------------------------


@attrs.frozen
class CheckoutLine:
    stripe_price_id: str
    quantity: int


@attrs.frozen
class CheckoutRequest:
    """Everything the provider needs to open a hosted checkout for one order attempt."""

    order_id: str
    attempt: int
    currency: str
    amount_total: Money
    lines: Sequence[CheckoutLine]
    idempotency_key: str
    customer_email: str | None = None


@attrs.frozen
class CheckoutSession:
    session_id: str
    url: str
    expires_at: datetime | None = attrs.field(default=None, validator=aware)


class PaymentOutcome(StrEnum):
    """A provider notification, normalised to what it means for an order."""

    PAID = "paid"
    PROCESSING = "processing"
    FAILED = "failed"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    IGNORED = "ignored"


@attrs.frozen
class PaymentNotification:
    """A verified provider webhook event, reduced to what the core acts on."""

    event_id: str
    event_type: str
    outcome: PaymentOutcome
    occurred_at: datetime = attrs.field(validator=aware)
    order_id: str | None = None
    session_id: str | None = None
    payment_intent_id: str | None = None
    charge_id: str | None = None
    amount: Money | None = None
    reason: str | None = None


@attrs.frozen
class RefundResult:
    refund_id: str
    amount: Money
    status: str


class PaymentGateway(Protocol):
    """The payment provider: hosted checkout, verified webhooks and refunds."""

    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession: ...

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotification:
        """Verify the signature on the raw body and normalise the event; AuthenticationError or
        ValidationError when it cannot be trusted or read."""
        ...

    async def refund(
        self, payment_intent_id: str, amount: Money, idempotency_key: str
    ) -> RefundResult: ...


class OrdersDeps(ServiceDeps, Protocol):
    """What the order use cases need."""

    def uow(self) -> OrdersUnitOfWork: ...

    @property
    def payments(self) -> PaymentGateway: ...

    @property
    def notifier(self) -> Notifier: ...
