"""Delivers recorded events to their subscribers: at least once, with backoff, then dead letter.

Subscribers are idempotent use cases; the inbox (`already_handled`/`mark_handled`) skips a
subscriber that already handled an event, so a retry after a partial failure re-runs only the
subscribers that failed. At-least-once delivery plus idempotent subscribers gives
exactly-once effects.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Protocol

import attrs

from platform_core.ports.core import ServiceDeps, UnitOfWork
from platform_core.ports.outbox import OutboxEntry
from platform_core.shared.events import StoredEvent

Handler = Callable[[StoredEvent], Awaitable[object]]


@attrs.frozen
class Subscription:
    """`handler` runs for every event of `event_type`; `name` identifies it in the inbox."""

    name: str
    event_type: str
    handler: Handler


@attrs.frozen
class DeliveryPolicy:
    """Exponential backoff: base * 2**(attempt-1), capped; dead letter after max_attempts."""

    base_seconds: float = 5
    max_delay_seconds: float = 3600
    max_attempts: int = 10
    lease_seconds: float = 60

    def delay(self, attempt: int) -> timedelta:
        seconds = min(self.base_seconds * 2 ** max(attempt - 1, 0), self.max_delay_seconds)
        return timedelta(seconds=seconds)


@attrs.frozen
class DispatchReport:
    dispatched: int = 0
    failed: int = 0
    dead_lettered: int = 0

    @property
    def claimed(self) -> int:
        return self.dispatched + self.failed + self.dead_lettered


class DispatchDeps(ServiceDeps, Protocol):
    def uow(self) -> UnitOfWork: ...


async def dispatch_due(
    deps: DispatchDeps,
    subscriptions: Sequence[Subscription],
    limit: int = 100,
    policy: DeliveryPolicy = DeliveryPolicy(),
) -> DispatchReport:
    """Deliver up to `limit` due events, oldest first, and record each one's outcome."""
    async with deps.uow() as uow:
        entries = await uow.outbox.claim_due(deps.clock.now(), limit, policy.lease_seconds)
        await uow.commit()
    report = DispatchReport()
    for entry in entries:
        wanted = [s for s in subscriptions if s.event_type == entry.stored.event.type]
        errors = await _deliver(deps, entry, wanted)
        outcome = await _settle(deps, entry, errors, policy)
        report = attrs.evolve(report, **{outcome: getattr(report, outcome) + 1})
    return report


async def _deliver(
    deps: DispatchDeps, entry: OutboxEntry, subscriptions: Sequence[Subscription]
) -> list[str]:
    errors = []
    for subscription in subscriptions:
        async with deps.uow() as uow:
            if await uow.outbox.already_handled(subscription.name, entry.event_id):
                continue
        try:
            await subscription.handler(entry.stored)
        except Exception as error:  # one subscriber's failure must not block the others
            errors.append(f"{subscription.name}: {type(error).__name__}: {error}")
            continue
        async with deps.uow() as uow:
            await uow.outbox.mark_handled(subscription.name, entry.event_id, deps.clock.now())
            await uow.commit()
    return errors


async def _settle(
    deps: DispatchDeps, entry: OutboxEntry, errors: list[str], policy: DeliveryPolicy
) -> str:
    now = deps.clock.now()
    async with deps.uow() as uow:
        if not errors:
            await uow.outbox.mark_dispatched(entry.event_id, now)
            outcome = "dispatched"
        elif entry.attempts + 1 >= policy.max_attempts:
            await uow.outbox.mark_failed(entry.event_id, "; ".join(errors), None)
            outcome = "dead_lettered"
        else:
            retry_at = now + policy.delay(entry.attempts + 1)
            await uow.outbox.mark_failed(entry.event_id, "; ".join(errors), retry_at)
            outcome = "failed"
        await uow.commit()
    return outcome
