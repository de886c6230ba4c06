"""Orders: the Order aggregate, its items' immutable price snapshots and the payment machine."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

import attrs

from platform_core.pricing.model import PriceResolution, PriceSource, QuoteLine
from platform_core.shared.errors import ConflictError, ValidationError
from platform_core.shared.events import DomainEvent
from platform_core.shared.ids import id_field, non_empty_text, positive_int
from platform_core.shared.money import Money, validate_currency
from platform_core.shared.scenarios import AutomationScenario
from platform_core.shared.state_machine import StateMachine
from platform_core.shared.time import aware, require_aware

SOURCE_MODULE = "orders"


class OrderStatus(StrEnum):
    DRAFT = "draft"
    CHECKOUT_SENT = "checkout_sent"
    PAYMENT_PROCESSING = "payment_processing"
    PAID = "paid"
    PAYMENT_FAILED = "payment_failed"
    CHECKOUT_EXPIRED = "checkout_expired"
    CANCELLED = "cancelled"


class OrderTrigger(StrEnum):
    SEND_CHECKOUT = "send_checkout"
    START_PROCESSING = "start_processing"
    CONFIRM_PAYMENT = "confirm_payment"
    FAIL_PAYMENT = "fail_payment"
    EXPIRE_CHECKOUT = "expire_checkout"
    CANCEL = "cancel"
    CANCEL_WITH_REFUND = "cancel_with_refund"


_S, _T = OrderStatus, OrderTrigger

ORDER_MACHINE: StateMachine[OrderStatus, OrderTrigger] = StateMachine(
    name="order",
    initial=_S.DRAFT,
    transitions={
        (_S.DRAFT, _T.SEND_CHECKOUT): _S.CHECKOUT_SENT,
        (_S.PAYMENT_FAILED, _T.SEND_CHECKOUT): _S.CHECKOUT_SENT,
        (_S.CHECKOUT_EXPIRED, _T.SEND_CHECKOUT): _S.CHECKOUT_SENT,
        (_S.CHECKOUT_SENT, _T.START_PROCESSING): _S.PAYMENT_PROCESSING,
        (_S.CHECKOUT_SENT, _T.CONFIRM_PAYMENT): _S.PAID,
        (_S.PAYMENT_PROCESSING, _T.CONFIRM_PAYMENT): _S.PAID,
        (_S.CHECKOUT_SENT, _T.FAIL_PAYMENT): _S.PAYMENT_FAILED,
        (_S.PAYMENT_PROCESSING, _T.FAIL_PAYMENT): _S.PAYMENT_FAILED,
        (_S.CHECKOUT_SENT, _T.EXPIRE_CHECKOUT): _S.CHECKOUT_EXPIRED,
        (_S.DRAFT, _T.CANCEL): _S.CANCELLED,
        (_S.CHECKOUT_SENT, _T.CANCEL): _S.CANCELLED,
        (_S.PAYMENT_FAILED, _T.CANCEL): _S.CANCELLED,
        (_S.CHECKOUT_EXPIRED, _T.CANCEL): _S.CANCELLED,
        (_S.PAID, _T.CANCEL_WITH_REFUND): _S.CANCELLED,
    },
    terminal=frozenset({_S.CANCELLED}),
)


class OrderEvent(StrEnum):
    CREATED = "order.created"
    CHECKOUT_SENT = "order.checkout_sent"
    PAYMENT_PROCESSING = "order.payment_processing"
    PAID = "order.paid"
    PAYMENT_FAILED = "order.payment_failed"
    CHECKOUT_EXPIRED = "order.checkout_expired"
    CANCELLED = "order.cancelled"
    REFUNDED = "order.refunded"


@attrs.frozen
class PriceSnapshot:
    """Where an item's price came from, frozen when the item was priced."""

    price_type: PriceSource
    label: str
    price_book_entry_id: str | None = None
    price_agreement_id: str | None = None
    stripe_price_id: str | None = None
    bespoke_notes: str | None = None

    @classmethod
    def of(cls, resolution: PriceResolution) -> PriceSnapshot:
        return cls(
            price_type=resolution.source,
            label=resolution.label,
            price_book_entry_id=resolution.price_book_entry_id,
            price_agreement_id=resolution.price_agreement_id,
            stripe_price_id=resolution.stripe_price_id,
            bespoke_notes=resolution.bespoke_notes,
        )

    def same_price_as(self, resolution: PriceResolution) -> bool:
        """True when a fresh resolution names the same price source as this snapshot."""
        return (
            resolution.source == self.price_type
            and resolution.price_book_entry_id == self.price_book_entry_id
            and resolution.price_agreement_id == self.price_agreement_id
        )


@attrs.frozen
class OrderItem:
    """One ordered product; its price is a snapshot and never changes after drafting."""

    id: str = attrs.field(validator=id_field)
    product_id: str = attrs.field(validator=id_field)
    sku: str
    description: str = attrs.field(validator=non_empty_text)
    quantity: int = attrs.field(validator=positive_int)
    unit_amount: Money
    price: PriceSnapshot
    automation_scenario: AutomationScenario | None = None

    def __attrs_post_init__(self) -> None:
        if self.unit_amount.is_negative:
            raise ValidationError("unit price must not be negative", {"field": "unit_amount"})

    @property
    def line_total(self) -> Money:
        return self.unit_amount * self.quantity

    @classmethod
    def priced(cls, item_id: str, resolution: PriceResolution) -> OrderItem:
        return cls(
            id=item_id,
            product_id=resolution.product_id,
            sku=resolution.sku,
            description=resolution.product_name,
            quantity=resolution.quantity,
            unit_amount=resolution.unit_amount,
            price=PriceSnapshot.of(resolution),
            automation_scenario=resolution.automation_scenario,
        )

    def quote_line(self) -> QuoteLine:
        """The line to re-resolve this item with; a bespoke price stays an override."""
        if self.price.price_type is PriceSource.BESPOKE:
            return QuoteLine(
                self.product_id, self.quantity, self.unit_amount, self.price.bespoke_notes
            )
        return QuoteLine(self.product_id, self.quantity)

    def as_payload(self) -> dict[str, Any]:
        return {
            "order_item_id": self.id,
            "product_id": self.product_id,
            "sku": self.sku,
            "description": self.description,
            "quantity": self.quantity,
            "unit_amount": self.unit_amount.to_payload(),
            "price_type": str(self.price.price_type),
            "automation_scenario": self.automation_scenario and str(self.automation_scenario),
        }


@attrs.frozen
class CheckoutAttempt:
    """One Checkout Session sent for the order; a re-sent checkout is a new attempt."""

    number: int = attrs.field(validator=positive_int)
    session_id: str
    url: str
    sent_at: datetime = attrs.field(validator=aware)
    expires_at: datetime | None = attrs.field(default=None, validator=aware)


def checkout_idempotency_key(order_id: str, attempt: int) -> str:
    """The key sent to the payment provider: a retried job never opens a second session."""
    return f"checkout:{order_id}:{attempt}"


class PaymentProvider(StrEnum):
    STRIPE = "stripe"
    MANUAL = "manual"


@attrs.frozen
class PaymentReceived:
    """What the provider confirmed: enough for billing to record the payment."""

    provider: PaymentProvider
    reference: str = attrs.field(validator=non_empty_text)
    amount: Money
    received_at: datetime = attrs.field(validator=aware)
    payment_intent_id: str | None = None
    charge_id: str | None = None

    def as_payload(self) -> dict[str, Any]:
        return {
            "provider": str(self.provider),
            "external_reference": self.reference,
            "amount": self.amount.to_payload(),
            "received_at": self.received_at.isoformat(),
            "payment_intent_id": self.payment_intent_id,
            "charge_id": self.charge_id,
        }


def _check_items(_: Any, __: Any, items: tuple[OrderItem, ...]) -> None:
    if not items:
        raise ValidationError("an order needs at least one item", {"field": "items"})


@attrs.frozen
class Order:
    """A company's order: priced items, billing contact/address and the payment state."""

    id: str = attrs.field(validator=id_field)
    company_id: str = attrs.field(validator=id_field)
    currency: str = attrs.field(validator=lambda _, __, v: validate_currency(v))
    billing_contact_id: str = attrs.field(validator=id_field)
    billing_address_id: str = attrs.field(validator=id_field)
    items: tuple[OrderItem, ...] = attrs.field(validator=_check_items)
    created_at: datetime = attrs.field(validator=aware)
    status: OrderStatus = OrderStatus.DRAFT
    purchase_order_number: str | None = None
    checkout: CheckoutAttempt | None = None
    checkout_attempts: int = 0
    payment: PaymentReceived | None = None
    paid_at: datetime | None = attrs.field(default=None, validator=aware)
    failure_reason: str | None = None
    cancelled_at: datetime | None = attrs.field(default=None, validator=aware)
    cancellation_reason: str | None = None
    refunded: Money | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        for item in self.items:
            if item.unit_amount.currency != self.currency:
                raise ValidationError(
                    f"item {item.sku} is priced in {item.unit_amount.currency}, "
                    f"the order in {self.currency}",
                    {"field": "items", "order_item_id": item.id},
                )

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def draft(
        cls,
        order_id: str,
        company_id: str,
        currency: str,
        billing_contact_id: str,
        billing_address_id: str,
        items: Sequence[OrderItem],
        at: datetime,
        purchase_order_number: str | None = None,
    ) -> tuple[Order, list[DomainEvent]]:
        order = cls(
            id=order_id,
            company_id=company_id,
            currency=currency,
            billing_contact_id=billing_contact_id,
            billing_address_id=billing_address_id,
            items=tuple(items),
            created_at=at,
            purchase_order_number=purchase_order_number,
        )
        return order, [order._event(OrderEvent.CREATED, at, order._summary())]

    # -- reading ----------------------------------------------------------------------------
    @property
    def total(self) -> Money:
        return Money.total((item.line_total for item in self.items), self.currency)

    @property
    def is_paid(self) -> bool:
        return self.status is OrderStatus.PAID

    def item(self, item_id: str) -> OrderItem:
        for item in self.items:
            if item.id == item_id:
                return item
        raise ValidationError(f"order {self.id} has no item {item_id}", {"field": "order_item_id"})

    # -- commands ----------------------------------------------------------------------------
    def send_checkout(
        self, session_id: str, url: str, at: datetime, expires_at: datetime | None = None
    ) -> tuple[Order, list[DomainEvent]]:
        """Record a new Checkout Session; allowed from draft and after a failure or expiry."""
        status = ORDER_MACHINE.next_state(self.status, OrderTrigger.SEND_CHECKOUT)
        attempt = CheckoutAttempt(self.checkout_attempts + 1, session_id, url, at, expires_at)
        order = attrs.evolve(
            self, status=status, checkout=attempt, checkout_attempts=attempt.number,
            failure_reason=None,
        )  # fmt: skip
        payload = {"attempt": attempt.number, "session_id": session_id, "url": url}
        return order, [order._event(OrderEvent.CHECKOUT_SENT, at, payload)]

    @property
    def next_checkout_attempt(self) -> int:
        return self.checkout_attempts + 1

    def start_processing(self, at: datetime) -> tuple[Order, list[DomainEvent]]:
        """A delayed payment method (bank debit) was accepted but has not settled yet."""
        status = ORDER_MACHINE.next_state(self.status, OrderTrigger.START_PROCESSING)
        order = attrs.evolve(self, status=status)
        return order, [order._event(OrderEvent.PAYMENT_PROCESSING, at, {})]

    def confirm_payment(self, payment: PaymentReceived) -> tuple[Order, list[DomainEvent]]:
        """The provider confirmed payment of the whole order; emits order.paid."""
        status = ORDER_MACHINE.next_state(self.status, OrderTrigger.CONFIRM_PAYMENT)
        if payment.amount != self.total:
            raise ConflictError(
                f"payment of {payment.amount} does not match the order total {self.total}",
                {"expected": self.total.to_payload(), "received": payment.amount.to_payload()},
            )
        order = attrs.evolve(self, status=status, payment=payment, paid_at=payment.received_at)
        return order, [order._event(OrderEvent.PAID, payment.received_at, order._paid_payload())]

    def fail_payment(self, reason: str, at: datetime) -> tuple[Order, list[DomainEvent]]:
        status = ORDER_MACHINE.next_state(self.status, OrderTrigger.FAIL_PAYMENT)
        order = attrs.evolve(self, status=status, failure_reason=reason)
        return order, [order._event(OrderEvent.PAYMENT_FAILED, at, {"reason": reason})]

    def expire_checkout(self, at: datetime) -> tuple[Order, list[DomainEvent]]:
        status = ORDER_MACHINE.next_state(self.status, OrderTrigger.EXPIRE_CHECKOUT)
        order = attrs.evolve(self, status=status)
        session = self.checkout.session_id if self.checkout else None
        return order, [order._event(OrderEvent.CHECKOUT_EXPIRED, at, {"session_id": session})]

    def cancel(
        self, reason: str, at: datetime, refund: Money | None = None
    ) -> tuple[Order, list[DomainEvent]]:
        """Cancel the order. A paid order is cancelled only together with its full refund;
        the caller checks that nothing has shipped."""
        if not reason.strip():
            raise ValidationError("a cancellation needs a reason", {"field": "reason"})
        trigger = OrderTrigger.CANCEL_WITH_REFUND if self.is_paid else OrderTrigger.CANCEL
        status = ORDER_MACHINE.next_state(self.status, trigger)
        if self.is_paid and refund != self.total:
            raise ConflictError(
                "a paid order is cancelled only with a refund of its total",
                {"total": self.total.to_payload(), "refund": refund and refund.to_payload()},
            )
        order = attrs.evolve(
            self, status=status, cancelled_at=at, cancellation_reason=reason, refunded=refund
        )
        payload = {"reason": reason, "refund": refund.to_payload() if refund else None}
        return order, [order._event(OrderEvent.CANCELLED, at, payload)]

    def record_refund(
        self, refunded: Money, at: datetime, reference: str | None = None, reason: str | None = None
    ) -> tuple[Order, list[DomainEvent]]:
        """Reflect what has been refunded of a paid order so far (`refunded` is the running
        total, as billing holds it); no events when it is already known. The status stays
        paid: a refund alone does not cancel an order."""
        before = self.refunded or Money.zero(self.currency)
        if refunded == before:
            return self, []
        if self.status is not OrderStatus.PAID:
            raise ConflictError(
                f"only a paid order can be refunded; order {self.id} is {self.status}",
                {"status": str(self.status)},
            )
        if refunded < before or refunded > self.total:
            raise ConflictError(
                f"a refunded total of {refunded} does not fit an order of {self.total} "
                f"already refunded {before}",
                {"refunded": refunded.to_payload(), "total": self.total.to_payload()},
            )
        order = attrs.evolve(self, refunded=refunded)
        payload = {
            "amount": (refunded - before).to_payload(),
            "refunded": refunded.to_payload(),
            "reference": reference,
            "reason": reason,
        }
        return order, [order._event(OrderEvent.REFUNDED, at, payload)]

    @property
    def refundable(self) -> Money:
        """What is left to refund of a paid order (zero for an unpaid one)."""
        if self.payment is None:
            return Money.zero(self.currency)
        return self.total - (self.refunded or Money.zero(self.currency))

    # -- events ------------------------------------------------------------------------------
    def _event(self, kind: OrderEvent, at: datetime, payload: dict[str, Any]) -> DomainEvent:
        require_aware(at, "at")
        return DomainEvent(
            type=str(kind),
            aggregate_type="order",
            aggregate_id=self.id,
            payload={"order_id": self.id, "status": str(self.status), **payload},
            occurred_at=at,
            source_module=SOURCE_MODULE,
        )

    def _summary(self) -> dict[str, Any]:
        return {
            "company_id": self.company_id,
            "currency": self.currency,
            "total": self.total.to_payload(),
            "items": [item.as_payload() for item in self.items],
        }

    def _paid_payload(self) -> dict[str, Any]:
        assert self.payment is not None  # set by confirm_payment just before
        return {
            **self._summary(),
            "billing_contact_id": self.billing_contact_id,
            "billing_address_id": self.billing_address_id,
            "payment": self.payment.as_payload(),
        }
