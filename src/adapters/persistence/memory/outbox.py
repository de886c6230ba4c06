"""In-memory event log and outbox, written through the unit of work's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

from adapters.persistence.memory.store import Transaction
from platform_core.ports.core import IdGenerator
from platform_core.ports.outbox import OutboxEntry, OutboxStatus
from platform_core.shared.events import DomainEvent, StoredEvent


class InMemoryEventLog:
    def __init__(self, tx: Transaction, ids: IdGenerator) -> None:
        self._tx = tx
        self._ids = ids

    async def record(
        self, events: Sequence[DomainEvent], correlation_id: str | None = None
    ) -> list[StoredEvent]:
        stored = []
        base = len(self._tx.db.events) + len(self._tx.new_events)
        for offset, event in enumerate(events, start=1):
            event = event.with_correlation(correlation_id)
            event_id = self._ids.new_id("evt")
            self._tx.new_events.append(event)
            self._tx.new_event_ids.append(event_id)
            stored.append(StoredEvent(event_id, event, base + offset))
        return stored

    async def for_aggregate(self, aggregate_type: str, aggregate_id: str) -> list[StoredEvent]:
        return [
            stored
            for stored in self._tx.db.events
            if stored.event.aggregate_type == aggregate_type
            and stored.event.aggregate_id == aggregate_id
        ]

    async def by_correlation(self, correlation_id: str) -> list[StoredEvent]:
        return [s for s in self._tx.db.events if s.event.correlation_id == correlation_id]


class InMemoryOutboxStore:
    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    def _entry(self, event_id: str) -> OutboxEntry:
        return self._tx.outbox_updates.get(event_id) or self._tx.db.outbox[event_id]

    async def claim_due(
        self, now: datetime, limit: int, lease_seconds: float = 60
    ) -> list[OutboxEntry]:
        due = [
            entry
            for entry in self._tx.db.outbox.values()
            if entry.status is OutboxStatus.PENDING
            and (entry.next_attempt_at is None or entry.next_attempt_at <= now)
        ]
        due.sort(key=lambda entry: entry.stored.position)
        lease_until = now + timedelta(seconds=lease_seconds)
        for entry in due[:limit]:
            self._tx.outbox_updates[entry.event_id] = attrs.evolve(
                entry, next_attempt_at=lease_until
            )
        return due[:limit]

    async def mark_dispatched(self, event_id: str, at: datetime) -> None:
        entry = self._entry(event_id)
        self._tx.outbox_updates[event_id] = attrs.evolve(
            entry, status=OutboxStatus.DISPATCHED, dispatched_at=at, attempts=entry.attempts + 1
        )

    async def mark_failed(
        self, event_id: str, error: str, next_attempt_at: datetime | None
    ) -> None:
        entry = self._entry(event_id)
        status = OutboxStatus.PENDING if next_attempt_at else OutboxStatus.DEAD_LETTERED
        self._tx.outbox_updates[event_id] = attrs.evolve(
            entry,
            status=status,
            attempts=entry.attempts + 1,
            next_attempt_at=next_attempt_at,
            last_error=error,
        )

    async def entries(
        self, status: OutboxStatus | None = None, limit: int = 100
    ) -> list[OutboxEntry]:
        rows = [e for e in self._tx.db.outbox.values() if status is None or e.status is status]
        return rows[:limit]

    async def already_handled(self, subscriber: str, event_id: str) -> bool:
        key = (subscriber, event_id)
        return key in self._tx.inbox_marks or key in self._tx.db.inbox

    async def mark_handled(self, subscriber: str, event_id: str, at: datetime) -> None:
        self._tx.inbox_marks[(subscriber, event_id)] = at
