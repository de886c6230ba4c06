"""The event log, the outbox's delivery state, the subscribers' inbox and counters.

Events are appended to `domain_events` in the transaction of the change that caused them, and
an `outbox` row per event holds its delivery state. Dispatchers claim due rows with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several can run at once without taking the same
event; on SQLite a unit of work holds the database's single write lock, so claims are
serialised. A claim moves the row's next attempt past the lease: a crashed dispatcher's
events come back when the lease runs out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Table,
    Text,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import RowMapping

from adapters.persistence.sql.metadata import metadata
from adapters.persistence.sql.session import SqlSession
from adapters.persistence.sql.types import Instant, Json
from platform_core.ports.core import IdGenerator
from platform_core.ports.outbox import OutboxEntry, OutboxStatus
from platform_core.shared.errors import ConflictError
from platform_core.shared.events import DomainEvent, StoredEvent

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
Position = BigInteger().with_variant(Integer(), "sqlite")

domain_events = Table(
    "domain_events",
    metadata,
    Column("position", Position, primary_key=True, autoincrement=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("type", String(100), nullable=False),
    Column("aggregate_type", String(50), nullable=False),
    Column("aggregate_id", String(64), nullable=False),
    Column("payload", Json, nullable=False),
    Column("occurred_at", Instant, nullable=False),
    Column("source_module", String(50), nullable=False),
    Column("correlation_id", String(128)),
    Index(None, "aggregate_type", "aggregate_id", "position"),
    Index(None, "correlation_id", "position"),
    Index(None, "type", "occurred_at"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("event_id", String(64), ForeignKey("domain_events.event_id"), primary_key=True),
    Column("position", Position, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", Instant),
    Column("dispatched_at", Instant),
    Column("last_error", Text),
    # The claim query reads only pending rows in due order.
    Index(
        "ix_outbox_due",
        "position",
        "next_attempt_at",
        postgresql_where=text("status = 'pending'"),
        sqlite_where=text("status = 'pending'"),
    ),
    Index(None, "status", "position"),
)

processed_events = Table(
    "processed_events",
    metadata,
    # A subscriber name, or an inbound channel such as "payment-webhooks" whose event ids are
    # the provider's.
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(255), primary_key=True),
    Column("processed_at", Instant, nullable=False),
)

sequences = Table(
    "sequences",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

MAX_ERROR_LENGTH = 4000


def _stored(row: RowMapping) -> StoredEvent:
    event = DomainEvent(
        type=row["type"],
        aggregate_type=row["aggregate_type"],
        aggregate_id=row["aggregate_id"],
        payload=row["payload"],
        occurred_at=row["occurred_at"],
        source_module=row["source_module"],
        correlation_id=row["correlation_id"],
    )
    return StoredEvent(row["event_id"], event, row["position"])


def _entry(row: RowMapping) -> OutboxEntry:
    return OutboxEntry(
        stored=_stored(row),
        status=OutboxStatus(row["status"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        dispatched_at=row["dispatched_at"],
        last_error=row["last_error"],
    )


def _events_with_delivery() -> Select[Any]:
    return select(
        domain_events,
        outbox.c.status,
        outbox.c.attempts,
        outbox.c.next_attempt_at,
        outbox.c.dispatched_at,
        outbox.c.last_error,
    ).join(outbox, outbox.c.event_id == domain_events.c.event_id)


class SqlEventLog:
    def __init__(self, session: SqlSession, ids: IdGenerator) -> None:
        self._session = session
        self._ids = ids

    async def record(
        self, events: Sequence[DomainEvent], correlation_id: str | None = None
    ) -> list[StoredEvent]:
        if not events:
            return []
        stamped = [event.with_correlation(correlation_id) for event in events]
        rows = [
            {
                "event_id": self._ids.new_id("evt"),
                **event.as_dict(),
                "occurred_at": event.occurred_at,
            }
            for event in stamped
        ]
        statement = insert(domain_events).returning(
            domain_events.c.position, sort_by_parameter_order=True
        )
        result = await self._session.execute(statement, rows)
        positions = list(result.scalars())
        await self._session.execute(
            insert(outbox),
            [
                {
                    "event_id": row["event_id"],
                    "position": position,
                    "status": OutboxStatus.PENDING.value,
                    "attempts": 0,
                    "next_attempt_at": row["occurred_at"],
                }
                for row, position in zip(rows, positions, strict=True)
            ],
        )
        return [
            StoredEvent(row["event_id"], event, position)
            for row, event, position in zip(rows, stamped, positions, strict=True)
        ]

    async def for_aggregate(self, aggregate_type: str, aggregate_id: str) -> list[StoredEvent]:
        statement = (
            select(domain_events)
            .where(
                domain_events.c.aggregate_type == aggregate_type,
                domain_events.c.aggregate_id == aggregate_id,
            )
            .order_by(domain_events.c.position)
        )
        return [_stored(row) for row in (await self._session.execute(statement)).mappings()]

    async def by_correlation(self, correlation_id: str) -> list[StoredEvent]:
        statement = (
            select(domain_events)
            .where(domain_events.c.correlation_id == correlation_id)
            .order_by(domain_events.c.position)
        )
        return [_stored(row) for row in (await self._session.execute(statement)).mappings()]


class SqlOutboxStore:
    def __init__(self, session: SqlSession) -> None:
        self._session = session

    async def claim_due(
        self, now: datetime, limit: int, lease_seconds: float = 60
    ) -> list[OutboxEntry]:
        due = (
            select(outbox.c.event_id)
            .where(outbox.c.status == OutboxStatus.PENDING.value, outbox.c.next_attempt_at <= now)
            .order_by(outbox.c.position)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        event_ids = list((await self._session.execute(due)).scalars())
        if not event_ids:
            return []
        statement = _events_with_delivery().where(outbox.c.event_id.in_(event_ids))
        rows = (await self._session.execute(statement)).mappings()
        claimed = sorted((_entry(row) for row in rows), key=lambda entry: entry.stored.position)
        lease_until = now + timedelta(seconds=lease_seconds)
        await self._session.execute(
            update(outbox)
            .where(outbox.c.event_id.in_(event_ids))
            .values(next_attempt_at=lease_until)
        )
        return claimed

    async def mark_dispatched(self, event_id: str, at: datetime) -> None:
        await self._session.execute(
            update(outbox)
            .where(outbox.c.event_id == event_id)
            .values(
                status=OutboxStatus.DISPATCHED.value,
                dispatched_at=at,
                attempts=outbox.c.attempts + 1,
                next_attempt_at=None,
            )
        )

    async def mark_failed(
        self, event_id: str, error: str, next_attempt_at: datetime | None
    ) -> None:
        status = OutboxStatus.PENDING if next_attempt_at else OutboxStatus.DEAD_LETTERED
        await self._session.execute(
            update(outbox)
            .where(outbox.c.event_id == event_id)
            .values(
                status=status.value,
                attempts=outbox.c.attempts + 1,
                next_attempt_at=next_attempt_at,
                last_error=error[:MAX_ERROR_LENGTH],
            )
        )

    async def entries(
        self, status: OutboxStatus | None = None, limit: int = 100
    ) -> list[OutboxEntry]:
        statement = _events_with_delivery().order_by(domain_events.c.position).limit(limit)
        if status is not None:
            statement = statement.where(outbox.c.status == status.value)
        return [_entry(row) for row in (await self._session.execute(statement)).mappings()]

    async def already_handled(self, subscriber: str, event_id: str) -> bool:
        statement = select(processed_events.c.event_id).where(
            processed_events.c.consumer == subscriber, processed_events.c.event_id == event_id
        )
        return (await self._session.execute(statement)).first() is not None

    async def mark_handled(self, subscriber: str, event_id: str, at: datetime) -> None:
        row = {"consumer": subscriber, "event_id": event_id, "processed_at": at}
        if not await self._session.insert_new(processed_events, row):
            raise ConflictError(
                f"{subscriber} already handled event {event_id}", {"event_id": event_id}
            )


class SqlSequence:
    """A named counter in the caller's transaction. The increment locks the counter's row
    until the transaction ends, so concurrent issuers queue, and a rolled-back number is
    never used: numbers are unique and gap-free."""

    def __init__(self, session: SqlSession, name: str) -> None:
        self._session = session
        self._name = name

    async def next_number(self) -> int:
        for _ in range(2):
            statement = (
                update(sequences)
                .where(sequences.c.name == self._name)
                .values(value=sequences.c.value + 1)
                .returning(sequences.c.value)
            )
            value = (await self._session.execute(statement)).scalar_one_or_none()
            if value is not None:
                return int(value)
            if await self._session.insert_new(sequences, {"name": self._name, "value": 1}):
                return 1
        raise ConflictError(f"sequence {self._name} could not be advanced", {"name": self._name})
