"""A payment gateway that behaves like Stripe without the network.

Sessions are derived from the idempotency key (so a retried request gets the same session),
and `complete`/`fail`/`expire` produce event bodies with a ``Stripe-Signature`` header made
with Stripe's scheme (``t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">``), so the webhook
endpoint and its verification run exactly as in production.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import attrs

from adapters.payments.stripe_events import normalise_event
from platform_core.orders.ports import (
    CheckoutRequest,
    CheckoutSession,
    PaymentNotification,
    RefundResult,
)
from platform_core.ports.core import Clock
from platform_core.pricing.ports import SyncedPrice
from platform_core.shared.errors import AuthenticationError, NotFoundError, ValidationError
from platform_core.shared.money import Money

SIGNATURE_HEADER = "stripe-signature"
TOLERANCE_SECONDS = 300


def _digest(*parts: str) -> str:
    return hashlib.sha256(":".join(parts).encode()).hexdigest()[:24]


def sign_stripe_payload(body: bytes, secret: str, timestamp: int) -> str:
    """The value of a ``Stripe-Signature`` header for `body`."""
    signed = f"{timestamp}.".encode() + body
    signature = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={signature}"


def _parse_header(header: str) -> tuple[int, list[str]]:
    pairs = [part.split("=", 1) for part in header.split(",") if "=" in part]
    timestamps = [int(v) for k, v in pairs if k.strip() == "t" and v.isdigit()]
    signatures = [v for k, v in pairs if k.strip() == "v1"]
    if not timestamps or not signatures:
        raise AuthenticationError("malformed Stripe-Signature header")
    return timestamps[0], signatures


@attrs.define
class FakeSession:
    request: CheckoutRequest
    session: CheckoutSession
    payment_intent_id: str
    status: str = "open"


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
        intent = f"pi_test_{_digest(session_id)}"
        self.sessions[session_id] = FakeSession(request, session, intent)
        return session

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotification:
        self._verify(body, headers)
        try:
            event = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ValidationError("webhook body is not JSON") from None
        if not isinstance(event, dict):
            raise ValidationError("webhook body is not a Stripe event")
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
        intent = {
            "id": fake.payment_intent_id,
            "object": "payment_intent",
            "metadata": {"order_id": fake.request.order_id},
            "last_payment_error": {"message": message},
        }
        return self._signed("payment_intent.payment_failed", intent)

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
        request = fake.request
        session = {
            "id": fake.session.session_id,
            "object": "checkout.session",
            "client_reference_id": request.order_id,
            "metadata": {"order_id": request.order_id, "attempt": str(request.attempt)},
            "mode": "payment",
            "payment_status": payment_status,
            "payment_intent": fake.payment_intent_id,
            "amount_total": request.amount_total.amount,
            "currency": request.currency.lower(),
            "status": fake.status,
            "url": fake.session.url,
        }
        return self._signed(event_type, session)

    def _signed(self, event_type: str, obj: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        self._events += 1
        created = int(self._clock.now().timestamp())
        event = {
            "id": f"evt_test_{_digest(event_type, str(obj['id']), str(self._events))}",
            "object": "event",
            "api_version": "2024-06-20",
            "created": created,
            "livemode": False,
            "type": event_type,
            "data": {"object": obj},
        }
        body = json.dumps(event, separators=(",", ":")).encode()
        return body, self.sign(body, created)

    def _verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        lowered = {key.lower(): value for key, value in headers.items()}
        header = lowered.get(SIGNATURE_HEADER)
        if not header:
            raise AuthenticationError("missing Stripe-Signature header")
        timestamp, signatures = _parse_header(header)
        expected = sign_stripe_payload(body, self._secret, timestamp).split("v1=", 1)[1]
        if not any(hmac.compare_digest(expected, candidate) for candidate in signatures):
            raise AuthenticationError("Stripe signature does not match the body")
        if abs(self._clock.now().timestamp() - timestamp) > TOLERANCE_SECONDS:
            raise AuthenticationError("Stripe signature timestamp is outside the tolerance")
