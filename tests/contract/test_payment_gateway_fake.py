"""Contract of the mock-mode payment gateway: Stripe's signing scheme and idempotent calls."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from adapters.clock import FixedClock
from adapters.payments.fake import FakePaymentGateway, sign_stripe_payload
from platform_core.orders.ports import CheckoutLine, CheckoutRequest, PaymentOutcome
from platform_core.shared.errors import AuthenticationError, NotFoundError, ValidationError
from platform_core.shared.money import Money

SECRET = "whsec_test_secret"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))


@pytest.fixture
def gateway(clock: FixedClock) -> FakePaymentGateway:
    return FakePaymentGateway(clock, SECRET)


def _request(key: str = "checkout:ord_1:1") -> CheckoutRequest:
    return CheckoutRequest(
        order_id="ord_1",
        attempt=1,
        currency="CAD",
        amount_total=Money(5000, "CAD"),
        lines=[CheckoutLine("price_1", 2)],
        idempotency_key=key,
    )


async def test_same_idempotency_key_returns_the_same_session(gateway: FakePaymentGateway) -> None:
    """A retried checkout request with the same key gets the session opened the first time."""
    first = await gateway.create_checkout_session(_request())
    second = await gateway.create_checkout_session(_request())
    third = await gateway.create_checkout_session(_request("checkout:ord_1:2"))
    assert first == second
    assert third.session_id != first.session_id


async def test_completed_session_webhook_verifies_and_means_paid(
    gateway: FakePaymentGateway,
) -> None:
    """A signed checkout.session.completed (paid) event normalises to PAID for the order."""
    session = await gateway.create_checkout_session(_request())
    body, headers = gateway.complete(session.session_id)
    note = gateway.parse_webhook(body, headers)
    assert note.outcome is PaymentOutcome.PAID
    assert note.order_id == "ord_1"
    assert note.amount == Money(5000, "CAD")
    assert note.session_id == session.session_id


async def test_unpaid_completion_means_processing(gateway: FakePaymentGateway) -> None:
    """A completed session with a delayed payment method is still processing."""
    session = await gateway.create_checkout_session(_request())
    body, headers = gateway.complete(session.session_id, paid=False)
    assert gateway.parse_webhook(body, headers).outcome is PaymentOutcome.PROCESSING


async def test_tampered_body_is_refused(gateway: FakePaymentGateway) -> None:
    """Changing one byte of a signed body fails verification."""
    session = await gateway.create_checkout_session(_request())
    body, headers = gateway.complete(session.session_id)
    with pytest.raises(AuthenticationError):
        gateway.parse_webhook(body.replace(b"paid", b"pa1d", 1), headers)


async def test_wrong_secret_is_refused(clock: FixedClock, gateway: FakePaymentGateway) -> None:
    """A body signed with another secret is refused."""
    body = b'{"id":"evt_1"}'
    header = sign_stripe_payload(body, "whsec_other", int(clock.now().timestamp()))
    with pytest.raises(AuthenticationError):
        gateway.parse_webhook(body, {"Stripe-Signature": header})


async def test_rotation_accepts_one_valid_signature_among_two(
    clock: FixedClock, gateway: FakePaymentGateway
) -> None:
    """During secret rotation a header carries two v1 signatures; one valid one suffices."""
    session = await gateway.create_checkout_session(_request())
    body, headers = gateway.complete(session.session_id)
    timestamp = int(clock.now().timestamp())
    old = sign_stripe_payload(body, "whsec_old", timestamp).split("v1=")[1]
    header = f"{headers['stripe-signature']},v1={old}"
    assert gateway.parse_webhook(body, {"Stripe-Signature": header}).outcome is PaymentOutcome.PAID


async def test_stale_timestamp_is_refused(clock: FixedClock, gateway: FakePaymentGateway) -> None:
    """A signature older than Stripe's 300 s tolerance is refused."""
    session = await gateway.create_checkout_session(_request())
    body, headers = gateway.complete(session.session_id)
    clock.advance(timedelta(seconds=301))
    with pytest.raises(AuthenticationError):
        gateway.parse_webhook(body, headers)


def test_missing_signature_and_bad_json_are_refused(gateway: FakePaymentGateway) -> None:
    """No header is an authentication failure; a signed non-JSON body is a validation error."""
    with pytest.raises(AuthenticationError):
        gateway.parse_webhook(b"{}", {})
    with pytest.raises(ValidationError):
        gateway.parse_webhook(b"not json", gateway.sign(b"not json"))
    with pytest.raises(ValidationError):
        gateway.parse_webhook(b"{}", gateway.sign(b"{}"))


async def test_unknown_event_types_are_ignored(gateway: FakePaymentGateway) -> None:
    """Event types the core does not act on normalise to IGNORED, not an error."""
    body = json.dumps(
        {"id": "evt_x", "type": "customer.created", "created": 1, "data": {"object": {}}}
    ).encode()
    assert gateway.parse_webhook(body, gateway.sign(body)).outcome is PaymentOutcome.IGNORED


async def test_expiry_and_failure_events(gateway: FakePaymentGateway) -> None:
    """Expired sessions and failed payment intents normalise to EXPIRED and FAILED."""
    session = await gateway.create_checkout_session(_request())
    expired = gateway.parse_webhook(*gateway.expire(session.session_id))
    failed = gateway.parse_webhook(*gateway.fail(session.session_id, "insufficient funds"))
    assert expired.outcome is PaymentOutcome.EXPIRED
    assert failed.outcome is PaymentOutcome.FAILED
    assert failed.reason == "insufficient funds"
    assert failed.order_id == "ord_1"


async def test_refunds_are_idempotent_per_key(gateway: FakePaymentGateway) -> None:
    """Refunding twice with one key returns the first refund; an unknown intent is not found."""
    session = await gateway.create_checkout_session(_request())
    intent = gateway.sessions[session.session_id].payment_intent_id
    first = await gateway.refund(intent, Money(1000, "CAD"), "refund:ord_1:1")
    again = await gateway.refund(intent, Money(1000, "CAD"), "refund:ord_1:1")
    assert first == again
    assert len(gateway.refunds) == 1
    with pytest.raises(NotFoundError):
        await gateway.refund("pi_unknown", Money(1, "CAD"), "refund:x")
