"""The Stripe webhook fan-out: verified payment-provider events copied to the legacy service.

Until the legacy service is retired it still needs every Stripe event. The webhook records each
verified event once in the outbox; a subscriber forwards the raw body, so the dispatcher's
retries, backoff and dead letters apply to the legacy service's outages too.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from platform_core.lifecycle import payloads
from platform_core.lifecycle.dispatcher import Subscription
from platform_core.ports.core import ServiceDeps, UnitOfWork
from platform_core.shared.errors import ConflictError, ValidationError
from platform_core.shared.events import DomainEvent, StoredEvent

PROVIDER_EVENT_RECEIVED = "payment_provider.event_received"
# Inbox key of the recording step: one outbox event per provider event id.
FANOUT_INBOX = "payments.fanout_record"
# Subscription name (an inbox key too: never rename it lightly).
FORWARD_SUBSCRIPTION = "payments.forward_provider_event"


class ProviderEventForwarder(Protocol):
    """Where verified payment-provider events are copied to (the legacy service), if anywhere."""

    @property
    def enabled(self) -> bool:
        """Whether a destination is configured; when not, nothing is recorded or sent."""
        ...

    async def forward(self, event_id: str, body: bytes) -> None:
        """Deliver one event's raw body; ExternalServiceError when the destination fails."""
        ...


class FanoutDeps(ServiceDeps, Protocol):
    """What recording an event for the fan-out needs."""

    def uow(self) -> UnitOfWork: ...

    @property
    def forwarder(self) -> ProviderEventForwarder: ...


@attrs.frozen
class RecordProviderEvent:
    """A verified provider event, with the raw body exactly as the provider signed it."""

    event_id: str
    event_type: str
    body: bytes


async def record_provider_event(deps: FanoutDeps, command: RecordProviderEvent) -> bool:
    """Record a verified provider event for forwarding; True when it was recorded now.

    Rules: nothing when the fan-out is off; each provider event id is recorded once (a
    duplicate delivery, also a concurrent one, records nothing); the body is kept byte for
    byte (providers send UTF-8 JSON, anything else is a ValidationError).
    """
    if not deps.forwarder.enabled:
        return False
    try:
        text = command.body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError("provider event body is not UTF-8 text") from None
    try:
        async with deps.uow() as uow:
            if await uow.outbox.already_handled(FANOUT_INBOX, command.event_id):
                return False
            await uow.outbox.mark_handled(FANOUT_INBOX, command.event_id, deps.clock.now())
            event = DomainEvent(
                type=PROVIDER_EVENT_RECEIVED,
                aggregate_type="payment_provider_event",
                aggregate_id=command.event_id,
                payload={
                    "provider_event_id": command.event_id,
                    "event_type": command.event_type,
                    "body": text,
                },
                occurred_at=deps.clock.now(),
                source_module=__name__,
            )
            await uow.events.record([event], command.event_id)
            await uow.commit()
    except ConflictError:
        # Two deliveries of one event raced: the other one recorded it.
        async with deps.uow() as uow:
            if await uow.outbox.already_handled(FANOUT_INBOX, command.event_id):
                return False
        raise
    return True


def fanout_subscriptions(forwarder: ProviderEventForwarder) -> list[Subscription]:
    """The subscriber that forwards recorded provider events (none when the fan-out is off)."""

    async def when_provider_event_received_forward_it(stored: StoredEvent) -> None:
        payload = stored.event.payload
        body = payloads.text(payload, "body").encode("utf-8")
        await forwarder.forward(payloads.text(payload, "provider_event_id"), body)

    if not forwarder.enabled:
        return []
    return [
        Subscription(
            FORWARD_SUBSCRIPTION, PROVIDER_EVENT_RECEIVED, when_provider_event_received_forward_it
        )
    ]
