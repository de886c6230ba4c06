"""The Stripe webhook fan-out: verified events forwarded, signed, to the legacy service's URL."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

import attrs
import httpx
import pytest

from adapters.clock import FixedClock
from adapters.legacy.fanout import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    HttpProviderEventForwarder,
    fanout_signature,
)
from entrypoints.bootstrap import MEMORY_URL, Platform, Settings, bootstrap
from entrypoints.seed import SeededCatalogue
from platform_core.shared.errors import ExternalServiceError, ValidationError
from tests.api.api_support import Client
from tests.api.test_webhooks import STRIPE, checkout_sent

SECRET = "fanout-secret"
URL = "https://legacy.example/stripe/webhook"


@attrs.define
class Receiver:
    """The legacy service's endpoint: verifies what it gets; can refuse the next requests."""

    clock: FixedClock
    refuse_next: int = 0
    received: list[tuple[str, bytes]] = attrs.field(factory=list)
    refused: int = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if self.refuse_next:
            self.refuse_next -= 1
            self.refused += 1
            return httpx.Response(503)
        stamp, signature = (
            part.split("=", 1)[1] for part in request.headers[SIGNATURE_HEADER].split(",")
        )
        body = request.content
        expected = hmac.new(SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
        assert hmac.compare_digest(signature, expected.hexdigest())
        assert int(stamp) == int(self.clock.now().timestamp())
        self.received.append((request.headers[EVENT_ID_HEADER], body))
        return httpx.Response(204)


@pytest.fixture
def receiver(platform: Platform, clock: FixedClock) -> Receiver:
    """Turn the fan-out on for the test platform, pointed at an in-process receiver."""
    received = Receiver(clock)
    platform.deps.forwarder = HttpProviderEventForwarder(
        URL, SECRET, clock=clock, transport=httpx.MockTransport(received)
    )
    return received


async def _recorded(platform: Platform, event_id: str) -> int:
    """How many fan-out events the outbox holds for one Stripe event."""
    async with platform.deps.uow() as uow:
        return len(await uow.events.for_aggregate("payment_provider_event", event_id))


async def test_each_verified_event_is_forwarded_once_byte_for_byte(
    anonymous: Client, platform: Platform, seeded: SeededCatalogue, receiver: Receiver
) -> None:
    """The raw body and the Stripe event id reach the receiver, signed; a duplicate delivery
    of the same event is not forwarded again."""
    _, session = await checkout_sent(platform, seeded)
    body, headers = platform.deps.mock_payments.complete(session)
    for _ in range(2):
        response = await anonymous.post(STRIPE, content=body, headers=headers)
        assert response.status_code == 200
    await platform.settle()
    event_id = platform.deps.payments.parse_webhook(body, headers).event_id
    assert receiver.received == [(event_id, body)]
    assert await _recorded(platform, event_id) == 1


async def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(
    anonymous: Client,
    platform: Platform,
    seeded: SeededCatalogue,
    receiver: Receiver,
    clock: FixedClock,
) -> None:
    """A 503 leaves the event in the outbox; once its backoff has passed it is sent again."""
    _, session = await checkout_sent(platform, seeded)
    body, headers = platform.deps.mock_payments.fail(session)
    receiver.refuse_next = 2
    assert (await anonymous.post(STRIPE, content=body, headers=headers)).status_code == 200
    await platform.settle()
    assert (receiver.refused, receiver.received) == (1, [])
    for _ in range(2):
        clock.advance(timedelta(seconds=platform.delivery.max_delay_seconds))
        await platform.settle()
    assert receiver.refused == 2
    assert [forwarded for _, forwarded in receiver.received] == [body]


async def test_without_a_fanout_url_nothing_is_recorded_or_sent(
    anonymous: Client, platform: Platform, seeded: SeededCatalogue
) -> None:
    """The default: the webhook works as before and the outbox gets no fan-out events."""
    _, session = await checkout_sent(platform, seeded)
    body, headers = platform.deps.mock_payments.complete(session)
    assert (await anonymous.post(STRIPE, content=body, headers=headers)).status_code == 200
    event_id = platform.deps.payments.parse_webhook(body, headers).event_id
    assert await _recorded(platform, event_id) == 0


async def test_the_forwarder_maps_unreachable_receivers_to_retryable_errors(
    clock: FixedClock,
) -> None:
    """A dropped connection is an ExternalServiceError the dispatcher retries."""

    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    forwarder = HttpProviderEventForwarder(
        URL, SECRET, clock=clock, transport=httpx.MockTransport(drop)
    )
    try:
        with pytest.raises(ExternalServiceError) as failed:
            await forwarder.forward("evt_1", b"{}")
        assert failed.value.retryable
    finally:
        await forwarder.aclose()


def test_the_signature_is_stripes_scheme_with_the_fanout_secret() -> None:
    """t=<timestamp>,v1=HMAC-SHA256(secret, "<t>.<body>") in hex."""
    digest = hmac.new(b"s", b"1700000000.{}", hashlib.sha256).hexdigest()
    assert fanout_signature(b"{}", "s", 1700000000) == f"t=1700000000,v1={digest}"


@pytest.mark.parametrize(
    "env",
    [
        {"PLATFORM_STRIPE_FANOUT_URL": URL},
        {"PLATFORM_STRIPE_FANOUT_URL": "legacy.example/hook", "PLATFORM_STRIPE_FANOUT_SECRET": "x"},
    ],
)
def test_a_fanout_url_needs_a_secret_and_a_scheme(env: dict[str, str]) -> None:
    """Half-configured fan-out settings stop the start."""
    with pytest.raises(ValidationError):
        bootstrap(Settings.from_env({"PLATFORM_DATABASE_URL": MEMORY_URL, **env}))
