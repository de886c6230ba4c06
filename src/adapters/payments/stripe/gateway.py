"""PaymentGateway and PriceSyncGateway on Stripe through the official SDK (`stripe.StripeClient`).

Every POST carries an idempotency key derived by the caller (order + attempt, refund, price), so
a retried job never creates a second session, refund or price. SDK errors are mapped onto the
core's taxonomy here; webhooks are verified with `stripe.Webhook.construct_event` on the raw body
and normalised by `stripe_events.normalise_event`, exactly as the fake gateway does.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe

from adapters.payments.stripe_events import (
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
from platform_core.shared.errors import (
    ConflictError,
    DomainError,
    ExternalServiceError,
    NotFoundError,
    ValidationError,
)
from platform_core.shared.money import Money

# Stripe accepts `expires_at` between 30 minutes and 24 hours after creation, measured on its
# clock; staying under 24 h leaves room for a few minutes of skew between its clock and ours.
DEFAULT_EXPIRES_AFTER = timedelta(hours=23)
MIN_EXPIRES_AFTER = timedelta(minutes=30)
MAX_EXPIRES_AFTER = timedelta(hours=24)


class StripePaymentGateway:
    """The payment provider in production: Stripe Checkout, signed webhooks, refunds, prices."""

    def __init__(
        self,
        api_key: str,
        webhook_secret: str,
        *,
        success_url: str,
        cancel_url: str,
        clock: Clock,
        expires_after: timedelta = DEFAULT_EXPIRES_AFTER,
        api_base: str | None = None,
        max_network_retries: int = 2,
        timeout_seconds: float = 30.0,
    ) -> None:
        if not api_key:
            raise ValidationError("a Stripe API key is required", {"field": "api_key"})
        if not webhook_secret:
            raise ValidationError(
                "a Stripe webhook secret is required", {"field": "webhook_secret"}
            )
        if not MIN_EXPIRES_AFTER <= expires_after <= MAX_EXPIRES_AFTER:
            raise ValidationError(
                "checkout expiry must be between 30 minutes and 24 hours",
                {"field": "expires_after"},
            )
        self._api_key = api_key
        self._webhook_secret = webhook_secret
        self._success_url = success_url
        self._cancel_url = cancel_url
        self._clock = clock
        self._expires_after = expires_after
        # httpx is the SDK's async transport; the default (requests) one would block the loop.
        self._http = stripe.HTTPXClient(timeout=timeout_seconds)
        self._client = stripe.StripeClient(
            api_key,
            # Only tests point the SDK elsewhere (the local fake Stripe server).
            base_addresses={"api": api_base} if api_base else None,
            http_client=self._http,
            max_network_retries=max_network_retries,
        )

    async def aclose(self) -> None:
        """Close the HTTP connections the SDK keeps open."""
        # The SDK leaves this method unannotated.
        await self._http.close_async()  # type: ignore[no-untyped-call]

    # -- PaymentGateway --------------------------------------------------------------------
    async def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        if not request.lines:
            raise ValidationError(
                "a checkout needs at least one line", {"order_id": request.order_id}
            )
        expires_at = self._clock.now() + self._expires_after
        metadata = {"order_id": request.order_id, "attempt": str(request.attempt)}
        params: dict[str, Any] = {
            "mode": "payment",
            "line_items": [
                {"price": line.stripe_price_id, "quantity": line.quantity} for line in request.lines
            ],
            "client_reference_id": request.order_id,
            "metadata": metadata,
            # Copied onto the payment intent so its failure and refund events name the order.
            "payment_intent_data": {"metadata": metadata},
            "success_url": self._success_url,
            "cancel_url": self._cancel_url,
            "expires_at": int(expires_at.timestamp()),
        }
        if request.customer_email:
            params["customer_email"] = request.customer_email
        try:
            session = await self._client.v1.checkout.sessions.create_async(
                params,  # type: ignore[arg-type]
                {"idempotency_key": request.idempotency_key},
            )
        except stripe.StripeError as error:
            raise _mapped(error, "create a checkout session") from None
        if not session.url:
            raise ExternalServiceError(
                "Stripe returned a checkout session without a URL",
                {"provider": "stripe", "session_id": session.id},
                retryable=False,
            )
        return CheckoutSession(
            session.id, session.url, datetime.fromtimestamp(session.expires_at, UTC)
        )

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> PaymentNotification:
        event = verify_stripe_event(body, headers, self._webhook_secret, self._clock.now())
        return normalise_event(event)

    async def refund(
        self, payment_intent_id: str, amount: Money, idempotency_key: str
    ) -> RefundResult:
        try:
            refund = await self._client.v1.refunds.create_async(
                {"payment_intent": payment_intent_id, "amount": amount.amount},
                {"idempotency_key": idempotency_key},
            )
        except stripe.InvalidRequestError as error:
            if error.code == "resource_missing" and error.param == "payment_intent":
                raise NotFoundError.of("payment_intent", payment_intent_id) from None
            raise _mapped(error, "refund a payment") from None
        except stripe.StripeError as error:
            raise _mapped(error, "refund a payment") from None
        return RefundResult(
            refund.id, Money(refund.amount, refund.currency.upper()), refund.status or "pending"
        )

    # -- PriceSyncGateway ------------------------------------------------------------------
    async def create_price(
        self, product_key: str, name: str, unit_amount: Money, idempotency_key: str
    ) -> SyncedPrice:
        """The Stripe product's id is `product_key`, so every price of one product of ours hangs
        off one Stripe product without a lookup table; a second price finds it already there."""
        try:
            await self._client.v1.products.create_async(
                {"id": product_key, "name": name},
                {"idempotency_key": f"{idempotency_key}:product"},
            )
        except stripe.InvalidRequestError as error:
            if error.code != "resource_already_exists":
                raise _mapped(error, "create a product") from None
        except stripe.StripeError as error:
            raise _mapped(error, "create a product") from None
        try:
            price = await self._client.v1.prices.create_async(
                {
                    "product": product_key,
                    "unit_amount": unit_amount.amount,
                    "currency": unit_amount.currency.lower(),
                },
                {"idempotency_key": f"{idempotency_key}:price"},
            )
        except stripe.StripeError as error:
            raise _mapped(error, "create a price") from None
        return SyncedPrice(product_key, price.id)

    # -- internals --------------------------------------------------------------------------


def _mapped(error: stripe.StripeError, action: str) -> DomainError:
    """The core's error for an SDK error. Stripe's own message is kept only for invalid requests
    (it names the bad parameter); an authentication message may quote part of the key."""
    details: dict[str, Any] = {"provider": "stripe", "status": error.http_status}
    if error.request_id:
        details["request_id"] = error.request_id
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        return ExternalServiceError(
            f"Stripe refused our credentials trying to {action}", details, retryable=False
        )
    if isinstance(error, stripe.RateLimitError):
        return ExternalServiceError(f"Stripe rate-limited us trying to {action}", details)
    if isinstance(error, stripe.APIConnectionError):
        return ExternalServiceError(f"could not reach Stripe to {action}", details)
    if isinstance(error, stripe.IdempotencyError):
        # Our keys are derived from what they protect, so this means a caller reused a key
        # for a different request: retrying cannot help.
        return ConflictError(
            f"Stripe refused to {action}: idempotency key reused with other parameters", details
        )
    if isinstance(error, stripe.InvalidRequestError | stripe.CardError):
        details.update(code=error.code, param=error.param)
        message = error.user_message or f"Stripe refused the request to {action}"
        return ValidationError(message, details)
    status = error.http_status
    retryable = status is None or status >= 500 or status in {409, 429}
    return ExternalServiceError(f"Stripe failed to {action}", details, retryable=retryable)
