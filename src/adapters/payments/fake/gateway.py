"""A payment gateway that behaves like Stripe without the network.

Sessions are derived from the idempotency key (so a retried request gets the same session),
and `complete`/`fail`/`expire` produce event bodies with a ``Stripe-Signature`` header made
with Stripe's scheme (``t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">``), so the webhook
endpoint and its verification run exactly as in production. The event builders at module level
need no session state (the mock-mode CLI builds events from an order stored in the database).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import attrs

from adapters.payments.stripe_events import (
    SIGNATURE_HEADER,
    normalise_event,
    verify_stripe_event,
)
from platform_core.orders.ports import (
    CheckoutRequest,
    CheckoutSession,
    PaymentNotification,
    RefundResult,
)
from platform_core.ports.core import Clock
from platform_core.pricing.ports import SyncedPrice
from platform_core.shared.errors import NotFoundError, ValidationError
from platform_core.shared.money import Money


def _digest(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:24]


def sign_stripe_payload(body: bytes, secret: str, timestamp: int) -> str:
    """The value of a ``Stripe-Signature`` header for `body`."""
    signed = f"{timestamp}.".encode() + body
    signature = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def payment_intent_for(session_id: str) -> str:
    """The payment intent the mock gives a Checkout Session (derived, so anyone can name it)."""
    return f"pi_test_{_digest(session_id)}"


@attrs.frozen
class MockSession:
    """What a mock Stripe event says about one Checkout Session of an order."""

    session_id: str
    order_id: str
    attempt: int
    amount_total: Money
    url: str | None = None

    @property
    def payment_intent_id(self) -> str:
        return payment_intent_for(self.session_id)


def checkout_session_event(
    event_type: str,
    session: MockSession,
    *,
    payment_status: str,
    status: str,
    created: int,
    sequence: int = 0,
) -> dict[str, Any]:
    """A Stripe ``checkout.session.*`` event in the shape Stripe sends (the fields the
    platform reads, and a few more); `sequence` tells two otherwise equal events apart."""
    obj = {
        "id": session.session_id,
        "object": "checkout.session",
        "client_reference_id": session.order_id,
        "metadata": {"order_id": session.order_id, "attempt": str(session.attempt)},
        "mode": "payment",
        "payment_status": payment_status,
        "payment_intent": session.payment_intent_id,
        "amount_total": session.amount_total.amount,
        "currency": session.amount_total.currency.lower(),
        "status": status,
        "url": session.url,
    }
    return stripe_event(event_type, obj, created, sequence)


def payment_failed_event(
    session: MockSession, message: str, *, created: int, sequence: int = 0
) -> dict[str, Any]:
    """A ``payment_intent.payment_failed`` event for the session's payment intent."""
    intent = {
        "id": session.payment_intent_id,
        "object": "payment_intent",
        "metadata": {"order_id": session.order_id, "attempt": str(session.attempt)},
        "last_payment_error": {"message": message},
    }
    return stripe_event("payment_intent.payment_failed", intent, created, sequence)


def stripe_event(
    event_type: str, obj: Mapping[str, Any], created: int, sequence: int = 0
) -> dict[str, Any]:
    """A Stripe event envelope around `obj`, its id derived from what it is about."""
    return {
        "id": f"evt_test_{_digest(event_type, str(obj['id']), str(sequence), str(created))}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": created,
        "livemode": False,
        "type": event_type,
        "data": {"object": dict(obj)},
    }


def signed_event(event: Mapping[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    """The body of `event` and its ``Stripe-Signature`` header, signed at `event["created"]`."""
    body = json.dumps(event, separators=(",", ":")).encode()
    return body, {SIGNATURE_HEADER: sign_stripe_payload(body, secret, int(event["created"]))}


@attrs.define
class FakeSession:
    request: CheckoutRequest
    session: CheckoutSession
    payment_intent_id: str
    status: str = "open"

    def mock(self) -> MockSession:
        request = self.request
        return MockSession(
            self.session.session_id, request.order_id, request.attempt, request.amount_total,
            self.session.url,
        )  # fmt: skip


class FakePaymentGateway:
    """PaymentGateway for mock mode and tests; keeps sessions and refunds in memory."""

    def __init__(
        self, clock: Clock, webhook_secret: str, base_url: str = "http://127.0.0.1"
    ) -> None:
        self._clock = clock
        self._secret = webhook_secret
        self._base_url = base_url.rstrip("/")
        self.sessions: dict[str, FakeSession] = {}
        self.refunds: dict[str, RefundResult] = {}
        self.prices: dict[str, SyncedPrice] = {}
        self._events = 0

    # -- PaymentGateway --------------------------------------------------------------------
    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        session_id = f"cs_test_{_digest(request.idempotency_key)}"
        existing = self.sessions.get(session_id)
        if existing is not None:
            return existing.session
        session = CheckoutSession(session_id, f"{self._base_url}/mock-checkout/{session_id}")
        intent = payment_intent_for(session_id)
        self.sessions[session_id] = FakeSession(request, session, intent)
        return session

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotification:
        """Verified exactly as the Stripe adapter verifies (the SDK's construct_event)."""
        event = verify_stripe_event(body, headers, self._secret, self._clock.now())
        return normalise_event(event)

    async def refund(
        self, payment_intent_id: str, amount: Money, idempotency_key: str
    ) -> RefundResult:
        if idempotency_key in self.refunds:
            return self.refunds[idempotency_key]
        if not any(s.payment_intent_id == payment_intent_id for s in self.sessions.values()):
            raise NotFoundError.of("payment_intent", payment_intent_id)
        result = RefundResult(f"re_test_{_digest(idempotency_key)}", amount, "succeeded")
        self.refunds[idempotency_key] = result
        return result

    # -- PriceSyncGateway -------------------------------------------------------------------
    async def create_price(
        self, product_key: str, name: str, unit_amount: Money, idempotency_key: str
    ) -> SyncedPrice:
        """Ids derived from the key, so a retried sync job gets the price it made the first time;
        the product id is the product key, as the Stripe adapter makes it."""
        existing = self.prices.get(idempotency_key)
        if existing is not None:
            return existing
        if unit_amount.amount < 0:
            raise ValidationError("a price cannot be negative", {"field": "unit_amount"})
        price = SyncedPrice(product_key, f"price_test_{_digest(idempotency_key)}")
        self.prices[idempotency_key] = price
        return price

    # -- driving the mock (CLI, tests, demo) -----------------------------------------------
    def complete(self, session_id: str, *, paid: bool = True) -> tuple[bytes, dict[str, str]]:
        """A customer finished checkout; `paid=False` is a delayed method still processing."""
        fake = self._session(session_id)
        fake.status = "complete"
        status = "paid" if paid else "unpaid"
        return self._event("checkout.session.completed", fake, payment_status=status)

    def settle_async(self, session_id: str, *, succeeded: bool) -> tuple[bytes, dict[str, str]]:
        fake = self._session(session_id)
        kind = "succeeded" if succeeded else "failed"
        status = "paid" if succeeded else "unpaid"
        return self._event(f"checkout.session.async_payment_{kind}", fake, payment_status=status)

    def expire(self, session_id: str) -> tuple[bytes, dict[str, str]]:
        fake = self._session(session_id)
        fake.status = "expired"
        return self._event("checkout.session.expired", fake, payment_status="unpaid")

    def fail(
        self, session_id: str, message: str = "Your card was declined."
    ) -> tuple[bytes, dict[str, str]]:
        fake = self._session(session_id)
        event = payment_failed_event(
            fake.mock(), message, created=self._now(), sequence=self._next_sequence()
        )
        return signed_event(event, self._secret)

    def sign(self, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        moment = timestamp if timestamp is not None else int(self._clock.now().timestamp())
        return {SIGNATURE_HEADER: sign_stripe_payload(body, self._secret, moment)}

    # -- internals --------------------------------------------------------------------------
    def _session(self, session_id: str) -> FakeSession:
        try:
            return self.sessions[session_id]
        except KeyError:
            raise NotFoundError.of("checkout_session", session_id) from None

    def _event(
        self, event_type: str, fake: FakeSession, payment_status: str
    ) -> tuple[bytes, dict[str, str]]:
        event = checkout_session_event(
            event_type, fake.mock(), payment_status=payment_status, status=fake.status,
            created=self._now(), sequence=self._next_sequence(),
        )  # fmt: skip
        return signed_event(event, self._secret)

    def _now(self) -> int:
        return int(self._clock.now().timestamp())

    def _next_sequence(self) -> int:
        self._events += 1
        return self._events
