"""Order use cases: draft, checkout, payment outcomes, manual payment and cancellation."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from platform_core.orders.model import (
    ORDER_MACHINE,
    Order,
    OrderItem,
    OrderStatus,
    OrderTrigger,
    PaymentProvider,
    PaymentReceived,
    checkout_idempotency_key,
)
from platform_core.orders.ports import (
    CheckoutLine,
    CheckoutRequest,
    OrderFilter,
    OrdersDeps,
    OrdersUnitOfWork,
    PaymentNotification,
    PaymentOutcome,
)
from platform_core.pricing.model import PriceResolution, QuoteLine
from platform_core.pricing.service import resolve_lines
from platform_core.shared.errors import (
    ConflictError,
    IllegalTransition,
    InternalError,
    NotFoundError,
    ValidationError,
)
from platform_core.shared.events import DomainEvent
from platform_core.shared.money import Money

PAYMENT_INBOX = "payment-webhooks"


@attrs.frozen
class CreateDraftOrder:
    company_id: str
    billing_contact_id: str
    billing_address_id: str
    lines: Sequence[QuoteLine]
    currency: str | None = None
    purchase_order_number: str | None = None
    correlation_id: str | None = None


async def create_draft_order(deps: OrdersDeps, command: CreateDraftOrder) -> Order:
    """Draft an order priced by the resolver.

    Rules: the billing contact and address belong to the company and the contact is not
    archived; the currency defaults to the company's; every line is priced now and its price
    snapshot (with provenance) never changes afterwards.
    """
    async with deps.uow() as uow:
        company = await uow.companies.get(command.company_id)
        await _check_billing_party(uow, command)
        currency = command.currency or company.currency
        now = deps.clock.now()
        resolutions = await resolve_lines(
            uow, company.id, currency, command.lines, now, strict_stripe=False
        )
        items = [OrderItem.priced(deps.ids.new_id("oit"), res) for res in resolutions]
        order, events = Order.draft(
            deps.ids.new_id("ord"), company.id, currency, command.billing_contact_id,
            command.billing_address_id, items, now, command.purchase_order_number,
        )  # fmt: skip
        await uow.orders.add(order)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return order


async def _check_billing_party(uow: OrdersUnitOfWork, command: CreateDraftOrder) -> None:
    contact = await uow.contacts.get(command.billing_contact_id)
    if contact.company_id != command.company_id or contact.archived_at is not None:
        raise ValidationError(
            "the billing contact must be an active contact of the company",
            {"field": "billing_contact_id"},
        )
    address = await uow.addresses.get(command.billing_address_id)
    if address.company_id != command.company_id:
        raise ValidationError(
            "the billing address must belong to the company", {"field": "billing_address_id"}
        )


async def get_order(deps: OrdersDeps, order_id: str) -> Order:
    async with deps.uow() as uow:
        return await uow.orders.get(order_id)


async def get_order_item(deps: OrdersDeps, order_item_id: str) -> tuple[Order, OrderItem]:
    """An order item with the order it belongs to (its price snapshot tells how it was
    priced). Rules: an unknown item is a NotFoundError of kind `order_item`."""
    async with deps.uow() as uow:
        order = await uow.orders.find_by_item(order_item_id)
    if order is None:
        raise NotFoundError.of("order_item", order_item_id)
    return order, order.item(order_item_id)


async def list_orders(
    deps: OrdersDeps, filters: OrderFilter, limit: int = 50, offset: int = 0
) -> list[Order]:
    if not 1 <= limit <= 500 or offset < 0:
        raise ValidationError("limit must be 1..500 and offset >= 0", {"field": "limit"})
    async with deps.uow() as uow:
        return await uow.orders.list(filters, limit, offset)


@attrs.frozen
class SendCheckout:
    order_id: str
    customer_email: str | None = None
    correlation_id: str | None = None


async def send_checkout(deps: OrdersDeps, command: SendCheckout) -> Order:
    """Open a hosted checkout for the order.

    Rules: allowed from draft, payment_failed and checkout_expired; every line is re-resolved
    with strict Stripe mode and any unsynced line blocks the checkout, naming all of them; a
    line whose price source changed since drafting blocks it too (the snapshot is what the
    customer was quoted); the provider's idempotency key is derived from the order and the
    attempt number, so retrying this use case never opens a second session for one attempt.
    """
    async with deps.uow() as uow:
        order = await uow.orders.get(command.order_id)
        # Refuse before talking to the provider, not after a session was opened.
        ORDER_MACHINE.next_state(order.status, OrderTrigger.SEND_CHECKOUT)
        lines = [item.quote_line() for item in order.items]
        resolutions = await resolve_lines(
            uow, order.company_id, order.currency, lines, deps.clock.now(), strict_stripe=True
        )
    request = _checkout_request(order, resolutions, command.customer_email)
    session = await deps.payments.create_checkout_session(request)
    async with deps.uow() as uow:
        current = await uow.orders.get(order.id)
        if current.checkout and current.checkout.session_id == session.session_id:
            return current  # a retry of an attempt that already recorded its session
        updated, events = current.send_checkout(
            session.session_id, session.url, deps.clock.now(), session.expires_at
        )
        updated = await uow.orders.update(updated)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return updated


def _checkout_request(
    order: Order, resolutions: Sequence[PriceResolution], email: str | None
) -> CheckoutRequest:
    changed = [
        {"order_item_id": item.id, "sku": item.sku, "was": item.price.label, "now": res.label}
        for item, res in zip(order.items, resolutions, strict=True)
        if not item.price.same_price_as(res) or res.unit_amount != item.unit_amount
    ]
    if changed:
        raise ConflictError(
            "prices changed since the order was drafted; re-create the order",
            {"changed_lines": changed},
        )
    lines = [
        CheckoutLine(_synced_price_id(res), item.quantity)
        for item, res in zip(order.items, resolutions, strict=True)
    ]
    attempt = order.next_checkout_attempt
    return CheckoutRequest(
        order_id=order.id,
        attempt=attempt,
        currency=order.currency,
        amount_total=order.total,
        lines=lines,
        idempotency_key=checkout_idempotency_key(order.id, attempt),
        customer_email=email,
    )


def _synced_price_id(resolution: PriceResolution) -> str:
    if resolution.stripe_price_id is None:  # strict mode already refused unsynced lines
        raise InternalError(f"no Stripe price for {resolution.sku}", {"sku": resolution.sku})
    return resolution.stripe_price_id


@attrs.frozen
class PaymentNotificationResult:
    """What handling a provider notification did: `applied`, `duplicate` or `ignored`."""

    outcome: str
    order: Order | None = None
    reason: str | None = None


async def handle_payment_notification(
    deps: OrdersDeps, notification: PaymentNotification
) -> PaymentNotificationResult:
    """Apply a verified provider event to its order, exactly once.

    Rules: each provider event id is handled once (a duplicate does nothing); an event that
    arrives out of order and would move the order backwards (a late `expired` after `paid`)
    is ignored; paid requires the full order total; refunds are billing's concern and are
    ignored here. Two deliveries of one event racing each other: one applies it, the other
    finds it handled and reports a duplicate.
    """
    try:
        return await _apply_notification(deps, notification)
    except ConflictError:
        async with deps.uow() as uow:
            if await uow.outbox.already_handled(PAYMENT_INBOX, notification.event_id):
                return PaymentNotificationResult("duplicate")
        raise


async def _apply_notification(
    deps: OrdersDeps, notification: PaymentNotification
) -> PaymentNotificationResult:
    async with deps.uow() as uow:
        if await uow.outbox.already_handled(PAYMENT_INBOX, notification.event_id):
            return PaymentNotificationResult("duplicate")
        await uow.outbox.mark_handled(PAYMENT_INBOX, notification.event_id, deps.clock.now())
        order = await _order_for(uow, notification)
        if order is None:
            await uow.commit()
            return PaymentNotificationResult("ignored", reason="no order for this event")
        try:
            updated, events = _apply(order, notification)
        except IllegalTransition as stale:
            await uow.commit()
            return PaymentNotificationResult("ignored", order, stale.message)
        if updated is not order:
            updated = await uow.orders.update(updated)
        await uow.events.record(events, notification.event_id)
        await uow.commit()
    return PaymentNotificationResult("applied" if events else "ignored", updated)


async def _order_for(uow: OrdersUnitOfWork, notification: PaymentNotification) -> Order | None:
    if notification.order_id:
        return await uow.orders.find(notification.order_id)
    if notification.session_id:
        return await uow.orders.find_by_checkout_session(notification.session_id)
    return None


def _apply(order: Order, note: PaymentNotification) -> tuple[Order, list[DomainEvent]]:
    at = note.occurred_at
    if note.outcome is PaymentOutcome.PAID:
        if order.is_paid:
            return order, []
        payment = PaymentReceived(
            PaymentProvider.STRIPE, note.payment_intent_id or note.event_id,
            note.amount or order.total, at, note.payment_intent_id, note.charge_id,
        )  # fmt: skip
        return order.confirm_payment(payment)
    if note.outcome is PaymentOutcome.PROCESSING:
        return order.start_processing(at)
    if note.outcome is PaymentOutcome.FAILED:
        return order.fail_payment(note.reason or "payment failed", at)
    if note.outcome is PaymentOutcome.EXPIRED:
        return order.expire_checkout(at)
    return order, []


@attrs.frozen
class RecordManualOrderPayment:
    order_id: str
    reference: str
    amount: Money
    correlation_id: str | None = None


async def record_manual_order_payment(deps: OrdersDeps, command: RecordManualOrderPayment) -> Order:
    """Mark an order paid by a payment received outside the provider (wire, cheque).

    Rules: only from a state the machine lets confirm a payment (checkout sent or payment
    processing); the amount must equal the order total; emits order.paid like a card payment.
    """
    async with deps.uow() as uow:
        order = await uow.orders.get(command.order_id)
        payment = PaymentReceived(
            PaymentProvider.MANUAL, command.reference, command.amount, deps.clock.now()
        )
        order, events = order.confirm_payment(payment)
        order = await uow.orders.update(order)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return order


@attrs.frozen
class CancelUnpaidOrder:
    order_id: str
    reason: str
    correlation_id: str | None = None


async def cancel_unpaid_order(deps: OrdersDeps, command: CancelUnpaidOrder) -> Order:
    """Cancel an order no money has been taken for.

    Rules: a paid order is refused here (it is cancelled with its refund by the lifecycle's
    `cancel_order`); an order whose payment is processing cannot be cancelled.
    """
    async with deps.uow() as uow:
        order = await uow.orders.get(command.order_id)
        if order.status is OrderStatus.PAID:
            raise ConflictError(
                "a paid order is cancelled together with its refund", {"status": "paid"}
            )
        order, events = order.cancel(command.reason, deps.clock.now())
        order = await uow.orders.update(order)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return order


# -- the Ops status override -----------------------------------------------------------------


@attrs.frozen
class SetOrderStatus:
    """Move an order to `status` by hand (Ops). `reason` explains a cancellation or a payment
    failure; `reference` identifies the payment when marking an order paid."""

    order_id: str
    status: OrderStatus
    reason: str | None = None
    reference: str | None = None
    correlation_id: str | None = None


# The states Ops may set by hand; the others are reached only through their own use cases
# (draft by creating, checkout_sent by sending a checkout).
OPS_STATUS_TARGETS = (
    OrderStatus.PAID,
    OrderStatus.CANCELLED,
    OrderStatus.PAYMENT_PROCESSING,
    OrderStatus.PAYMENT_FAILED,
    OrderStatus.CHECKOUT_EXPIRED,
)


async def set_order_status(deps: OrdersDeps, command: SetOrderStatus) -> Order:
    """Apply an Ops override of an order's status, through the same transitions and events as
    the normal path; the order machine still decides what is legal (ConflictError otherwise).

    Rules:
    - `paid` records a manual payment of the order total (`record_manual_order_payment`):
      `reference` (the wire or cheque reference) is required; emits order.paid, so the
      fulfillment order and the invoice follow as for a card payment.
    - `cancelled` cancels an unpaid order (`cancel_unpaid_order`); `reason` is required. A paid
      order is refused here: cancelling it refunds the payment and cancels its fulfillment,
      which is the lifecycle's `cancel_order` (orders cannot call the lifecycle, which depends
      on orders).
    - `payment_processing`, `payment_failed` and `checkout_expired` apply the trigger a payment
      provider notification applies, with the same events (order.payment_processing,
      order.payment_failed with `reason` or "payment failed", order.checkout_expired).
    - any other target is a ValidationError listing the allowed ones.
    """
    target = command.status
    if target not in OPS_STATUS_TARGETS:
        raise ValidationError(
            f"an order cannot be set to {target!r} by hand; allowed: "
            + ", ".join(OPS_STATUS_TARGETS),
            {"field": "status", "allowed": [str(status) for status in OPS_STATUS_TARGETS]},
        )
    if target == OrderStatus.PAID:
        return await _mark_paid_by_hand(deps, command)
    if target == OrderStatus.CANCELLED:
        reason = _required_text(command.reason, "reason", "a cancellation needs a reason")
        return await cancel_unpaid_order(
            deps, CancelUnpaidOrder(command.order_id, reason, command.correlation_id)
        )
    async with deps.uow() as uow:
        order = await uow.orders.get(command.order_id)
        at = deps.clock.now()
        if target == OrderStatus.PAYMENT_PROCESSING:
            order, events = order.start_processing(at)
        elif target == OrderStatus.PAYMENT_FAILED:
            order, events = order.fail_payment(command.reason or "payment failed", at)
        else:
            order, events = order.expire_checkout(at)
        order = await uow.orders.update(order)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return order


async def _mark_paid_by_hand(deps: OrdersDeps, command: SetOrderStatus) -> Order:
    reference = _required_text(
        command.reference, "reference", "marking an order paid needs the payment's reference"
    )
    # The manual payment must equal the total; an Ops override pays the whole order, and an
    # order's total never changes after drafting, so reading it first is safe.
    order = await get_order(deps, command.order_id)
    return await record_manual_order_payment(
        deps,
        RecordManualOrderPayment(order.id, reference, order.total, command.correlation_id),
    )


def _required_text(value: str | None, field: str, message: str) -> str:
    if value is None or not value.strip():
        raise ValidationError(message, {"field": field})
    return value.strip()
