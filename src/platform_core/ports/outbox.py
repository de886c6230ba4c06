"""The event log / outbox ports: events recorded with their change, delivered at least once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Protocol

import attrs

from platform_core.shared.events import DomainEvent, StoredEvent


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DISPATCHED = "dispatched"
    DEAD_LETTERED = "dead_lettered"


@attrs.frozen
class OutboxEntry:
    """Delivery state of one stored event."""

    stored: StoredEvent
    status: OutboxStatus = OutboxStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    dispatched_at: datetime | None = None
    last_error: str | None = None

    @property
    def event_id(self) -> str:
        return self.stored.event_id


class EventLog(Protocol):
    """Append-only store of domain events, written in the caller's transaction; also the source
    of timelines."""

    async def record(
        self, events: Sequence[DomainEvent], correlation_id: str | None = None
    ) -> list[StoredEvent]:
        """Append `events`, stamping `correlation_id` on those that carry none."""
        ...

    async def for_aggregate(self, aggregate_type: str, aggregate_id: str) -> list[StoredEvent]: ...

    async def by_correlation(self, correlation_id: str) -> list[StoredEvent]: ...


class OutboxStore(Protocol):
    """Delivery bookkeeping for recorded events and the subscribers' inbox.

    `claim_due` leases each due pending event to one dispatcher for `lease_seconds` (its
    next attempt moves past the lease), so concurrent dispatchers never take the same event
    and a crashed dispatcher's events come back when the lease runs out. The inbox
    (`already_handled` / `mark_handled`) makes every subscriber idempotent per event.
    """

    async def claim_due(
        self, now: datetime, limit: int, lease_seconds: float = 60
    ) -> list[OutboxEntry]: ...

    async def mark_dispatched(self, event_id: str, at: datetime) -> None: ...

    async def mark_failed(
        self, event_id: str, error: str, next_attempt_at: datetime | None
    ) -> None: ...

    async def entries(
        self, status: OutboxStatus | None = None, limit: int = 100
    ) -> list[OutboxEntry]: ...

    async def already_handled(self, subscriber: str, event_id: str) -> bool: ...

    async def mark_handled(self, subscriber: str, event_id: str, at: datetime) -> None: ...
