"""Contract of the payment gateway port, run on the fake gateway and on the Stripe adapter.

The Stripe adapter runs the real `stripe` SDK against the local fake Stripe server
(tests/support/fake_stripe.py); webhook headers are made by the SDK's own signing code.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import attrs
import pytest
import stripe
from tests.support.fake_stripe import API_KEY, Fault, RunningFakeStripe, running_fake_stripe

from adapters.clock import FixedClock
from adapters.payments.fake import FakePaymentGateway
from adapters.payments.stripe import StripePaymentGateway
from platform_core.orders.ports import (
    CheckoutLine,
    CheckoutRequest,
    PaymentGateway,
    PaymentOutcome,
)
from platform_core.pricing.ports import PriceSyncGateway
from platform_core.shared.errors import (
    AuthenticationError,
    ConflictError,
    ExternalServiceError,
    NotFoundError,
    ValidationError,
)
from platform_core.shared.money import Money

SECRET = "whsec_test_contract_secret"
EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "stripe" / "dj_stripe"


class Payments(PaymentGateway, PriceSyncGateway, Protocol):
    """Both ports, as each adapter implements them."""


@attrs.frozen
class Harness:
    """One adapter under test plus the provider-side view the assertions need."""

    name: str
    gateway: Payments
    pay: Callable[[str], str]  # session id -> the payment intent of its (now paid) payment
    lines_of: Callable[[str], list[tuple[str, int]]]  # session id -> (price, quantity) sent


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))


@pytest.fixture
def server() -> Iterator[RunningFakeStripe]:
    with running_fake_stripe() as running:
        yield running


def _stripe_gateway(
    server: RunningFakeStripe, clock: FixedClock, *, api_key: str = API_KEY, retries: int = 0
) -> StripePaymentGateway:
    return StripePaymentGateway(
        api_key,
        SECRET,
        success_url="https://shop.example/checkout/done",
        cancel_url="https://shop.example/checkout/cancelled",
        clock=clock,
        api_base=server.url,
        max_network_retries=retries,
    )


@pytest.fixture(params=["fake", "stripe"])
async def harness(request: pytest.FixtureRequest, clock: FixedClock) -> AsyncIterator[Harness]:
    if request.param == "fake":
        fake = FakePaymentGateway(clock, SECRET)
        yield Harness(
            "fake",
            fake,
            lambda session_id: fake.sessions[session_id].payment_intent_id,
            lambda session_id: [
                (line.stripe_price_id, line.quantity)
                for line in fake.sessions[session_id].request.lines
            ],
        )
        return
    server: RunningFakeStripe = request.getfixturevalue("server")
    gateway = _stripe_gateway(server, clock)

    def lines_of(session_id: str) -> list[tuple[str, int]]:
        lines = server.stripe.session_lines[session_id]
        return [(line["price"], int(line["quantity"])) for line in lines]

    try:
        yield Harness("stripe", gateway, server.stripe.pay, lines_of)
    finally:
        await gateway.aclose()


async def _price(harness: Harness, amount: int = 2500, key: str = "price:pbe_1") -> str:
    synced = await harness.gateway.create_price(
        "prd_sensor_a", "Sensor A", Money(amount, "CAD"), key
    )
    return synced.stripe_price_id


def _checkout(price_id: str, key: str = "checkout:ord_1:1", attempt: int = 1) -> CheckoutRequest:
    return CheckoutRequest(
        order_id="ord_1",
        attempt=attempt,
        currency="CAD",
        amount_total=Money(5000, "CAD"),
        lines=[CheckoutLine(price_id, 2)],
        idempotency_key=key,
        customer_email="buyer@example.com",
    )


# -- checkout --------------------------------------------------------------------------------


async def test_checkout_session_is_created_with_the_order_lines(harness: Harness) -> None:
    """A checkout session opens for the order's synced prices and quantities, with a URL."""
    price_id = await _price(harness)
    session = await harness.gateway.create_checkout_session(_checkout(price_id))
    assert session.session_id.startswith("cs_test_")
    assert session.url.startswith("http")
    assert harness.lines_of(session.session_id) == [(price_id, 2)]


async def test_same_key_same_session_and_new_attempt_new_session(harness: Harness) -> None:
    """A retried request (same key) gets the first session; a new attempt opens another one."""
    price_id = await _price(harness)
    first = await harness.gateway.create_checkout_session(_checkout(price_id))
    again = await harness.gateway.create_checkout_session(_checkout(price_id))
    second_attempt = await harness.gateway.create_checkout_session(
        _checkout(price_id, "checkout:ord_1:2", attempt=2)
    )
    assert again == first
    assert second_attempt.session_id != first.session_id


# -- refunds ---------------------------------------------------------------------------------


async def test_partial_then_full_refund_with_idempotency(harness: Harness) -> None:
    """Refunds take a part, then the rest; repeating a key returns the refund made with it."""
    price_id = await _price(harness)
    session = await harness.gateway.create_checkout_session(_checkout(price_id))
    intent = harness.pay(session.session_id)
    part = await harness.gateway.refund(intent, Money(1000, "CAD"), "refund:ord_1:1")
    repeated = await harness.gateway.refund(intent, Money(1000, "CAD"), "refund:ord_1:1")
    rest = await harness.gateway.refund(intent, Money(4000, "CAD"), "refund:ord_1:2")
    assert repeated == part
    assert part.amount == Money(1000, "CAD")
    assert rest.amount == Money(4000, "CAD")
    assert rest.refund_id != part.refund_id
    assert part.status == "succeeded"


async def test_refund_of_an_unknown_payment_is_not_found(harness: Harness) -> None:
    """Refunding a payment intent the provider does not know is NOT_FOUND."""
    with pytest.raises(NotFoundError):
        await harness.gateway.refund("pi_unknown", Money(100, "CAD"), "refund:unknown")


# -- price sync ------------------------------------------------------------------------------


async def test_price_creation_is_idempotent_per_key(harness: Harness) -> None:
    """One key makes one price; another key for the same product adds a price to that product."""
    first = await harness.gateway.create_price("prd_sensor_a", "Sensor A", Money(2500, "CAD"), "k1")
    again = await harness.gateway.create_price("prd_sensor_a", "Sensor A", Money(2500, "CAD"), "k1")
    other = await harness.gateway.create_price("prd_sensor_a", "Sensor A", Money(2200, "CAD"), "k2")
    assert again == first
    assert first.stripe_product_id == other.stripe_product_id == "prd_sensor_a"
    assert other.stripe_price_id != first.stripe_price_id


# -- webhooks --------------------------------------------------------------------------------


def _event(clock: FixedClock, **overrides: Any) -> bytes:
    """A recorded checkout.session.completed event, re-dated to now and pointed at ord_1."""
    event: dict[str, Any] = json.loads(
        (EVENTS / "event_checkout_session_completed.json").read_text()
    )
    event["created"] = int(clock.now().timestamp())
    event["data"]["object"].update(client_reference_id="ord_1", payment_status="paid")
    event.update(overrides)
    return json.dumps(event).encode()


def _signed(body: bytes, clock: FixedClock, secret: str = SECRET, at: int | None = None) -> str:
    """A Stripe-Signature header made by the SDK's own signing code."""
    timestamp = at if at is not None else int(clock.now().timestamp())
    header: str = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp
    )
    return header


def test_valid_webhook_is_verified_and_normalised(harness: Harness, clock: FixedClock) -> None:
    """A correctly signed paid checkout.session.completed means PAID for its order."""
    body = _event(clock)
    note = harness.gateway.parse_webhook(body, {"Stripe-Signature": _signed(body, clock)})
    assert note.outcome is PaymentOutcome.PAID
    assert note.event_id == "evt_1JAyTxJSZQVUcJYgNk1Jqu8o"
    assert note.order_id == "ord_1"
    assert note.payment_intent_id == "pi_fakefakefakefakefake0001"
    assert note.amount == Money(1500, "USD")


def test_wrong_secret_is_refused(harness: Harness, clock: FixedClock) -> None:
    """A body signed with another secret is an authentication failure."""
    body = _event(clock)
    header = _signed(body, clock, secret="whsec_someone_else")
    with pytest.raises(AuthenticationError):
        harness.gateway.parse_webhook(body, {"Stripe-Signature": header})


def test_missing_signature_is_refused(harness: Harness, clock: FixedClock) -> None:
    """An unsigned body is an authentication failure."""
    with pytest.raises(AuthenticationError):
        harness.gateway.parse_webhook(_event(clock), {})


def test_rotation_accepts_one_valid_signature_among_two(
    harness: Harness, clock: FixedClock
) -> None:
    """During secret rotation the header carries two v1 signatures; the valid one suffices."""
    body = _event(clock)
    old = _signed(body, clock, secret="whsec_old").split("v1=")[1]
    header = f"{_signed(body, clock)},v1={old}"
    rotated = f"t={int(clock.now().timestamp())},v1={old},{_signed(body, clock).split(',')[1]}"
    assert harness.gateway.parse_webhook(body, {"Stripe-Signature": header}).outcome is (
        PaymentOutcome.PAID
    )
    assert harness.gateway.parse_webhook(body, {"stripe-signature": rotated}).outcome is (
        PaymentOutcome.PAID
    )


def test_stale_timestamp_is_refused(harness: Harness, clock: FixedClock) -> None:
    """A signature older than Stripe's 300 s tolerance is refused, even though it matches."""
    body = _event(clock)
    header = _signed(body, clock)
    clock.advance(timedelta(seconds=301))
    with pytest.raises(AuthenticationError):
        harness.gateway.parse_webhook(body, {"Stripe-Signature": header})


def test_tampered_body_is_refused(harness: Harness, clock: FixedClock) -> None:
    """Changing the body after signing fails verification."""
    body = _event(clock)
    header = _signed(body, clock)
    with pytest.raises(AuthenticationError):
        harness.gateway.parse_webhook(
            body.replace(b'"paid"', b'"unpaid"', 1), {"Stripe-Signature": header}
        )


def test_signed_bad_json_is_a_validation_error(harness: Harness, clock: FixedClock) -> None:
    """A correctly signed body that is not JSON cannot be read: VALIDATION, not AUTHN."""
    body = b"this is not json"
    with pytest.raises(ValidationError):
        harness.gateway.parse_webhook(body, {"Stripe-Signature": _signed(body, clock)})


def test_thin_v2_event_is_a_validation_error(harness: Harness, clock: FixedClock) -> None:
    """A thin (v2) event notification, or any event without a data.object snapshot, is
    refused."""
    body = json.dumps(
        {
            "id": "evt_test_65R9Ijk8hUHlLa4iyuGKGCw2KXTSQiT",
            "object": "v2.core.event",
            "type": "v1.billing.meter.error_report_triggered",
            "created": "2026-11-22T12:00:00.000Z",
            "related_object": {"id": "mtr_1", "type": "billing.meter", "url": "/v1/x"},
        }
    ).encode()
    with pytest.raises(ValidationError):
        harness.gateway.parse_webhook(body, {"Stripe-Signature": _signed(body, clock)})
    no_snapshot = _event(clock, data={})
    with pytest.raises(ValidationError):
        harness.gateway.parse_webhook(
            no_snapshot, {"Stripe-Signature": _signed(no_snapshot, clock)}
        )


def test_unknown_event_type_is_ignored(harness: Harness, clock: FixedClock) -> None:
    """An event type the core does not act on is normalised as IGNORED, not refused."""
    body = _event(clock, type="customer.created")
    note = harness.gateway.parse_webhook(body, {"Stripe-Signature": _signed(body, clock)})
    assert note.outcome is PaymentOutcome.IGNORED
    assert note.event_type == "customer.created"


# -- the Stripe adapter only: what it sends and how it maps failures -------------------------


@pytest.fixture
async def stripe_gateway(
    server: RunningFakeStripe, clock: FixedClock
) -> AsyncIterator[StripePaymentGateway]:
    gateway = _stripe_gateway(server, clock)
    yield gateway
    await gateway.aclose()


async def test_checkout_request_carries_order_metadata_and_key(
    server: RunningFakeStripe, stripe_gateway: StripePaymentGateway, clock: FixedClock
) -> None:
    """The session is tied to the order (reference, metadata), expires from our clock, and is
    requested with the caller's idempotency key."""
    price_id = (
        await stripe_gateway.create_price("prd_a", "A", Money(2500, "CAD"), "p1")
    ).stripe_price_id
    session = await stripe_gateway.create_checkout_session(_checkout(price_id))
    [sent] = server.stripe.received("/v1/checkout/sessions")
    assert sent.headers["idempotency-key"] == "checkout:ord_1:1"
    assert sent.params["mode"] == "payment"
    assert sent.params["client_reference_id"] == "ord_1"
    assert sent.params["metadata"] == {"order_id": "ord_1", "attempt": "1"}
    assert sent.params["payment_intent_data"] == {"metadata": {"order_id": "ord_1", "attempt": "1"}}
    assert sent.params["customer_email"] == "buyer@example.com"
    assert sent.params["success_url"] == "https://shop.example/checkout/done"
    assert sent.params["cancel_url"] == "https://shop.example/checkout/cancelled"
    expected_expiry = clock.now() + timedelta(hours=23)
    assert int(sent.params["expires_at"]) == int(expected_expiry.timestamp())
    assert session.expires_at == expected_expiry
    assert server.stripe.sessions[session.session_id]["amount_total"] == 5000


async def test_bad_api_key_is_not_retryable_and_not_echoed(
    server: RunningFakeStripe, clock: FixedClock
) -> None:
    """Stripe's 401 becomes a non-retryable external error whose text never quotes the key."""
    gateway = _stripe_gateway(server, clock, api_key="sk_test_wrong_key_1234")
    try:
        with pytest.raises(ExternalServiceError) as raised:
            await gateway.create_price("prd_a", "A", Money(100, "CAD"), "p1")
    finally:
        await gateway.aclose()
    assert raised.value.retryable is False
    assert "1234" not in str(raised.value)
    assert "1234" not in repr(raised.value.details)


@pytest.mark.parametrize("fault", [Fault.SERVER_ERROR, Fault.RATE_LIMITED, Fault.DROP])
async def test_transient_failures_are_retryable(
    server: RunningFakeStripe, stripe_gateway: StripePaymentGateway, fault: Fault
) -> None:
    """A 500, a 429 or a dropped connection becomes a retryable external error."""
    server.stripe.fail_next(1, fault)
    with pytest.raises(ExternalServiceError) as raised:
        await stripe_gateway.refund("pi_x", Money(100, "CAD"), "refund:x")
    assert raised.value.retryable is True


async def test_sdk_retries_a_500_with_the_same_idempotency_key(
    server: RunningFakeStripe, clock: FixedClock
) -> None:
    """With network retries on, a 500 is retried by the SDK under the same key and succeeds
    without creating a second object."""
    gateway = _stripe_gateway(server, clock, retries=1)
    server.stripe.fail_next(1, Fault.SERVER_ERROR)
    try:
        synced = await gateway.create_price("prd_a", "A", Money(100, "CAD"), "p1")
    finally:
        await gateway.aclose()
    product_calls = server.stripe.received("/v1/products")
    assert [r.headers["idempotency-key"] for r in product_calls] == ["p1:product", "p1:product"]
    assert list(server.stripe.prices) == [synced.stripe_price_id]


async def test_invalid_request_is_a_validation_error_naming_the_param(
    stripe_gateway: StripePaymentGateway,
) -> None:
    """A 400 (an unknown price) is a VALIDATION error carrying Stripe's message and param."""
    with pytest.raises(ValidationError) as raised:
        await stripe_gateway.create_checkout_session(_checkout("price_missing"))
    assert "price_missing" in raised.value.message
    assert raised.value.details["param"] == "line_items[0][price]"


async def test_over_refund_is_a_validation_error(
    server: RunningFakeStripe, stripe_gateway: StripePaymentGateway
) -> None:
    """Refunding more than is left on the payment is refused as VALIDATION."""
    price_id = (
        await stripe_gateway.create_price("prd_a", "A", Money(2500, "CAD"), "p1")
    ).stripe_price_id
    session = await stripe_gateway.create_checkout_session(_checkout(price_id))
    intent = server.stripe.pay(session.session_id)
    with pytest.raises(ValidationError) as raised:
        await stripe_gateway.refund(intent, Money(5001, "CAD"), "refund:too_much")
    assert raised.value.details["param"] == "amount"


async def test_key_reused_with_other_params_is_a_conflict(
    stripe_gateway: StripePaymentGateway,
) -> None:
    """Stripe's idempotency_error (same key, different request) is a CONFLICT, not retried."""
    await stripe_gateway.create_price("prd_a", "A", Money(100, "CAD"), "p1")
    with pytest.raises(ConflictError):
        await stripe_gateway.create_price("prd_a", "A", Money(200, "CAD"), "p1")
