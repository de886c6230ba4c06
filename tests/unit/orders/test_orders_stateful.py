"""Property-based walk of the order payment machine with its invariants."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from platform_core.orders.model import (
    ORDER_MACHINE,
    Order,
    OrderStatus,
    OrderTrigger,
    PaymentProvider,
    PaymentReceived,
)
from platform_core.shared.errors import DomainError
from platform_core.shared.events import DomainEvent
from platform_core.testing.orders import draft_orders


class OrderMachine(RuleBasedStateMachine):
    """Random commands on one order; refused commands must leave it unchanged."""

    order: Order

    @initialize(order=draft_orders())
    def start(self, order: Order) -> None:
        self.order = order
        self.sessions = 0
        self.events: list[DomainEvent] = []
        self.was_paid = False

    def _try(self, trigger: OrderTrigger, command: object) -> None:
        before = self.order
        allowed = ORDER_MACHINE.can(before.status, trigger)
        try:
            self.order, events = command()  # type: ignore[operator]
        except DomainError:
            assert self.order is before
            return
        assert allowed, f"{trigger} from {before.status} should have been refused"
        self.events.extend(events)

    @property
    def _at(self) -> datetime:
        return self.order.created_at + timedelta(minutes=len(self.events))

    @rule()
    def send_checkout(self) -> None:
        self.sessions += 1
        sid = f"cs_{self.sessions}"
        self._try(OrderTrigger.SEND_CHECKOUT, lambda: self.order.send_checkout(sid, "u", self._at))

    @rule()
    def start_processing(self) -> None:
        self._try(OrderTrigger.START_PROCESSING, lambda: self.order.start_processing(self._at))

    @rule()
    def pay(self) -> None:
        payment = PaymentReceived(PaymentProvider.STRIPE, "pi", self.order.total, self._at)
        self._try(OrderTrigger.CONFIRM_PAYMENT, lambda: self.order.confirm_payment(payment))
        self.was_paid = self.was_paid or self.order.is_paid

    @rule(reason=st.sampled_from(["declined", "insufficient funds"]))
    def fail(self, reason: str) -> None:
        self._try(OrderTrigger.FAIL_PAYMENT, lambda: self.order.fail_payment(reason, self._at))

    @rule()
    def expire(self) -> None:
        self._try(OrderTrigger.EXPIRE_CHECKOUT, lambda: self.order.expire_checkout(self._at))

    @rule(refund=st.booleans())
    def cancel(self, refund: bool) -> None:
        amount = self.order.total if refund else None
        trigger = OrderTrigger.CANCEL_WITH_REFUND if self.order.is_paid else OrderTrigger.CANCEL
        self._try(trigger, lambda: self.order.cancel("stop", self._at, amount))

    @invariant()
    def paid_orders_carry_their_payment(self) -> None:
        if self.order.status is OrderStatus.PAID:
            assert self.order.payment is not None
            assert self.order.payment.amount == self.order.total

    @invariant()
    def a_paid_order_is_only_ever_cancelled_with_a_full_refund(self) -> None:
        if self.was_paid and self.order.status is OrderStatus.CANCELLED:
            assert self.order.refunded == self.order.total

    @invariant()
    def attempts_count_checkouts_sent(self) -> None:
        sent = [e for e in self.events if e.type == "order.checkout_sent"]
        assert self.order.checkout_attempts == len(sent)

    @invariant()
    def order_paid_is_emitted_at_most_once(self) -> None:
        assert sum(e.type == "order.paid" for e in self.events) <= 1


OrderMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=25, deadline=None)
TestOrderMachine = OrderMachine.TestCase
