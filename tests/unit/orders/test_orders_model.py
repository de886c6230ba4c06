"""Rules of the Order aggregate: pricing snapshot, payment machine, cancellation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import pytest

from platform_core.orders.model import (
    ORDER_MACHINE,
    Order,
    OrderEvent,
    OrderItem,
    OrderStatus,
    OrderTrigger,
    PaymentProvider,
    PaymentReceived,
    PriceSnapshot,
)
from platform_core.pricing.model import PriceSource
from platform_core.shared.errors import ConflictError, IllegalTransition, ValidationError
from platform_core.shared.money import Money

AT = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def item(
    item_id: str = "oit_1", quantity: int = 2, amount: int = 1500, currency: str = "CAD"
) -> OrderItem:
    return OrderItem(
        id=item_id,
        product_id="prd_1",
        sku="SENSOR-1",
        description="Sensor",
        quantity=quantity,
        unit_amount=Money(amount, currency),
        price=PriceSnapshot(
            PriceSource.PRICEBOOK_GLOBAL, "Global (CAD 15.00)", "pbe_1", None, "price_1"
        ),
    )


def draft(*items: OrderItem) -> Order:
    order, _ = Order.draft("ord_1", "cmp_1", "CAD", "con_1", "adr_1", items or (item(),), AT)
    return order


def payment(order: Order, amount: int | None = None) -> PaymentReceived:
    total = order.total if amount is None else Money(amount, order.currency)
    return PaymentReceived(PaymentProvider.STRIPE, "pi_1", total, AT + timedelta(hours=1), "pi_1")


def sent(order: Order) -> Order:
    return order.send_checkout("cs_1", "https://pay/cs_1", AT)[0]


def test_draft_totals_items_and_emits_created() -> None:
    """A draft order totals its lines and emits order.created with the items."""
    order, events = Order.draft(
        "ord_1", "cmp_1", "CAD", "con_1", "adr_1", [item(), item("oit_2", 1, 999)], AT
    )
    assert order.status is OrderStatus.DRAFT
    assert order.total == Money(3 * 1000 + 999, "CAD")
    assert [e.type for e in events] == [OrderEvent.CREATED]
    assert events[0].payload["total"] == {"amount": 3999, "currency": "CAD"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": -3}, "quantity"),
        ({"amount": -1}, "unit_amount"),
    ],
)
def test_bad_items_are_refused(kwargs: dict[str, int], field: str) -> None:
    """Non-positive quantities and negative prices are validation errors naming the field."""
    with pytest.raises(ValidationError) as raised:
        item(**kwargs)
    assert raised.value.details["field"] == field


def test_orders_need_items_in_one_known_currency() -> None:
    """An empty order, an unknown currency and a line in another currency are refused."""
    with pytest.raises(ValidationError):
        Order.draft("ord_1", "cmp_1", "CAD", "con_1", "adr_1", [], AT)
    with pytest.raises(ValidationError):
        Order.draft("ord_1", "cmp_1", "XXX", "con_1", "adr_1", [item()], AT)
    with pytest.raises(ValidationError):
        draft(item(), item("oit_2", currency="USD"))


def test_naive_time_is_refused() -> None:
    """Timestamps without a time zone are refused."""
    with pytest.raises(ValidationError):
        Order.draft("ord_1", "cmp_1", "CAD", "con_1", "adr_1", [item()], datetime(2026, 1, 1))


def test_checkout_then_payment_emits_paid_with_items_and_payment() -> None:
    """Checkout sent then confirmed payment makes the order paid and carries what billing needs."""
    order = sent(draft())
    paid, events = order.confirm_payment(payment(order))
    assert paid.status is OrderStatus.PAID
    assert paid.paid_at == AT + timedelta(hours=1)
    (event,) = events
    assert event.type == OrderEvent.PAID
    assert event.payload["payment"]["external_reference"] == "pi_1"
    assert event.payload["items"][0]["order_item_id"] == "oit_1"
    assert event.payload["billing_address_id"] == "adr_1"


def test_partial_payment_is_refused_and_order_unchanged() -> None:
    """A payment that is not the order total is a conflict and changes nothing."""
    order = sent(draft())
    before = attrs.asdict(order)
    with pytest.raises(ConflictError):
        order.confirm_payment(payment(order, amount=1))
    assert attrs.asdict(order) == before


def test_delayed_payment_goes_through_processing() -> None:
    """A delayed method moves checkout_sent -> payment_processing -> paid."""
    order = sent(draft())
    processing, events = order.start_processing(AT)
    assert processing.status is OrderStatus.PAYMENT_PROCESSING
    assert events[0].type == OrderEvent.PAYMENT_PROCESSING
    assert processing.confirm_payment(payment(processing))[0].is_paid


@pytest.mark.parametrize("outcome", ["fail", "expire"])
def test_failed_or_expired_checkout_can_be_sent_again_as_a_new_attempt(outcome: str) -> None:
    """After failure or expiry a re-sent checkout is attempt 2 with its own session."""
    order = sent(draft())
    if outcome == "fail":
        order = order.fail_payment("card declined", AT)[0]
        assert order.status is OrderStatus.PAYMENT_FAILED
    else:
        order = order.expire_checkout(AT)[0]
        assert order.status is OrderStatus.CHECKOUT_EXPIRED
    again, _ = order.send_checkout("cs_2", "https://pay/cs_2", AT)
    assert again.status is OrderStatus.CHECKOUT_SENT
    assert again.checkout is not None
    assert (again.checkout.number, again.checkout.session_id) == (2, "cs_2")


def test_late_expiry_after_payment_is_illegal_and_changes_nothing() -> None:
    """An expiry arriving after payment is refused; the paid order is untouched."""
    order = sent(draft())
    paid, _ = order.confirm_payment(payment(order))
    with pytest.raises(IllegalTransition):
        paid.expire_checkout(AT)
    assert paid.status is OrderStatus.PAID


def test_unpaid_order_cancels_without_refund() -> None:
    """A draft order is cancelled with a reason and no refund."""
    cancelled, events = draft().cancel("customer changed their mind", AT)
    assert cancelled.status is OrderStatus.CANCELLED
    assert events[0].payload["refund"] is None


def test_paid_order_cancels_only_with_full_refund() -> None:
    """A paid order needs a refund of its total to be cancelled."""
    order = sent(draft())
    paid, _ = order.confirm_payment(payment(order))
    with pytest.raises(ConflictError):
        paid.cancel("duplicate order", AT)
    with pytest.raises(ConflictError):
        paid.cancel("duplicate order", AT, Money(1, "CAD"))
    cancelled, _ = paid.cancel("duplicate order", AT, paid.total)
    assert cancelled.refunded == paid.total


def test_refunds_of_a_paid_order_keep_a_running_total() -> None:
    """record_refund takes the refunded total so far: each step emits order.refunded with the
    step's amount, the same total again changes nothing, and the order stays paid."""
    paid, _ = sent(draft()).confirm_payment(payment(sent(draft())))
    assert paid.refundable == paid.total
    once, events = paid.record_refund(Money(1000, "CAD"), AT, "re_1", "damaged")
    assert once.status is OrderStatus.PAID
    assert [e.type for e in events] == [OrderEvent.REFUNDED]
    assert events[0].payload["amount"] == {"amount": 1000, "currency": "CAD"}
    assert events[0].payload["refunded"] == {"amount": 1000, "currency": "CAD"}
    same, none = once.record_refund(Money(1000, "CAD"), AT)
    assert (same, none) == (once, [])
    twice, events = once.record_refund(paid.total, AT, "re_2")
    assert events[0].payload["amount"] == {"amount": paid.total.amount - 1000, "currency": "CAD"}
    assert twice.refundable.is_zero


def test_refunds_are_refused_beyond_the_total_backwards_or_when_unpaid() -> None:
    """More than the total, less than already refunded, or an unpaid order: conflicts."""
    paid, _ = sent(draft()).confirm_payment(payment(sent(draft())))
    partly, _ = paid.record_refund(Money(500, "CAD"), AT)
    with pytest.raises(ConflictError):
        paid.record_refund(paid.total + Money(1, "CAD"), AT)
    with pytest.raises(ConflictError):
        partly.record_refund(Money(100, "CAD"), AT)
    with pytest.raises(ConflictError):
        draft().record_refund(Money(100, "CAD"), AT)
    assert draft().refundable.is_zero


def test_cancel_needs_a_reason_and_is_terminal() -> None:
    """A blank reason is refused, and nothing leaves the cancelled state."""
    with pytest.raises(ValidationError):
        draft().cancel("  ", AT)
    cancelled, _ = draft().cancel("typo", AT)
    assert ORDER_MACHINE.triggers_from(OrderStatus.CANCELLED) == []
    with pytest.raises(IllegalTransition):
        cancelled.send_checkout("cs_9", "u", AT)


def test_every_pair_outside_the_table_is_refused() -> None:
    """Each (state, trigger) not in the transition table raises IllegalTransition."""
    for state in OrderStatus:
        for trigger in OrderTrigger:
            if (state, trigger) in ORDER_MACHINE.transitions:
                assert ORDER_MACHINE.next_state(state, trigger) in OrderStatus
            else:
                with pytest.raises(IllegalTransition):
                    ORDER_MACHINE.next_state(state, trigger)
