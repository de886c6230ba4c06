"""`platform-core stripe-mock pay|fail|expire ORDER_ID`: play the customer in mock mode.

Reads the order's Checkout Session from the database, builds the events Stripe would send
(the mock gateway's builders), signs them with STRIPE_WEBHOOK_SECRET in Stripe's scheme and
POSTs them to the running API's `/v1/webhooks/stripe`, so they take exactly the path real
Stripe events take. Refused when a Stripe key is set: real sessions are paid on Stripe.
"""

from __future__ import annotations

import asyncio
import sys
from enum import StrEnum
from typing import Any

from adapters.clock import SystemClock
from adapters.payments.fake.gateway import (
    MockSession,
    checkout_session_event,
    payment_failed_event,
    signed_event,
)
from entrypoints.bootstrap import MEMORY_URL, Settings, bootstrap
from entrypoints.cli.courier import post_json
from platform_core.orders.model import Order
from platform_core.orders.service import get_order
from platform_core.shared.errors import ConflictError, ValidationError

DECLINED = "Your card was declined."


class MockAction(StrEnum):
    PAY = "pay"
    FAIL = "fail"
    EXPIRE = "expire"


def mock_events(
    action: MockAction, session: MockSession, created: int, *, delayed: bool = False
) -> list[dict[str, Any]]:
    """The Stripe events, in delivery order, for the customer doing `action` on `session`.

    `delayed` is a payment method that settles later (bank debit): checkout completes with
    payment_status unpaid, then the async payment succeeds (pay) or fails (fail).
    """
    if action is MockAction.EXPIRE:
        return [
            checkout_session_event(
                "checkout.session.expired", session, payment_status="unpaid", status="expired",
                created=created,
            )
        ]  # fmt: skip
    if not delayed:
        if action is MockAction.FAIL:
            return [payment_failed_event(session, DECLINED, created=created)]
        return [
            checkout_session_event(
                "checkout.session.completed", session, payment_status="paid", status="complete",
                created=created,
            )
        ]  # fmt: skip
    outcome = "succeeded" if action is MockAction.PAY else "failed"
    return [
        checkout_session_event(
            "checkout.session.completed", session, payment_status="unpaid", status="complete",
            created=created,
        ),
        checkout_session_event(
            f"checkout.session.async_payment_{outcome}", session,
            payment_status="paid" if action is MockAction.PAY else "unpaid",
            status="complete", created=created,
        ),
    ]  # fmt: skip


async def checkout_session_of(settings: Settings, order_id: str) -> MockSession:
    """The order's current Checkout Session, read from the database the API uses."""
    platform = bootstrap(settings)
    try:
        order = await get_order(platform.deps, order_id)
    finally:
        await platform.close()
    return _session(order)


def _session(order: Order) -> MockSession:
    checkout = order.checkout
    if checkout is None:
        raise ConflictError(
            f"order {order.id} has no checkout session; send the checkout first",
            {"status": str(order.status)},
        )
    return MockSession(checkout.session_id, order.id, checkout.number, order.total, checkout.url)


def _check_mock_mode(settings: Settings) -> None:
    if settings.stripe_secret_key:
        raise ValidationError(
            "a Stripe key is set (real mode): pay, fail or expire the session on Stripe",
            {"field": "STRIPE_API_KEY"},
        )
    if settings.database_url == MEMORY_URL:
        raise ValidationError(
            "the in-memory store lives inside the API process; set PLATFORM_DATABASE_URL to "
            "the database the API uses",
            {"field": "PLATFORM_DATABASE_URL"},
        )


async def play(
    settings: Settings, action: MockAction, order_id: str, api_url: str, *, delayed: bool = False
) -> int:
    """Send the events of `action` for the order to the API; 0 when every one was accepted."""
    _check_mock_mode(settings)
    session = await checkout_session_of(settings, order_id)
    created = int(SystemClock().now().timestamp())
    url = f"{api_url.rstrip('/')}/v1/webhooks/stripe"
    for event in mock_events(action, session, created, delayed=delayed):
        body, headers = signed_event(event, settings.stripe_webhook_secret)
        headers = {**headers, "Content-Type": "application/json"}
        status, answer = await asyncio.to_thread(post_json, url, headers, body)
        print(f"{event['type']} {event['id']} -> {status} {answer}")
        if status >= 400:
            print(f"error: the API refused {event['type']}", file=sys.stderr)
            return 1
    return 0
