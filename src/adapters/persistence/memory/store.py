"""The in-memory database and its transactions.

A transaction stages writes and records what versions it expected; `commit` checks every
expectation against the committed state and applies all or nothing. Nothing awaits between the
check and the apply, so on one event loop a commit is atomic, like a database transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, Generic, TypeVar

import attrs

from platform_core.ports.core import Aggregate
from platform_core.ports.outbox import OutboxEntry
from platform_core.shared.errors import ConflictError, NotFoundError, StaleVersion
from platform_core.shared.events import DomainEvent, StoredEvent

_ABSENT = -1


class InMemoryDatabase:
    """Committed state, shared by every unit of work made from it."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, Any]] = {}
        self.sequences: dict[str, int] = {}
        self.events: list[StoredEvent] = []
        self.outbox: dict[str, OutboxEntry] = {}
        self.inbox: dict[tuple[str, str], datetime] = {}
        self.unique_keys: dict[tuple[str, str], str] = {}
        self.idempotency: dict[tuple[str, str], Any] = {}

    def table(self, name: str) -> dict[str, Any]:
        return self.tables.setdefault(name, {})


class Transaction:
    """Staged writes of one unit of work over an InMemoryDatabase."""

    def __init__(self, db: InMemoryDatabase) -> None:
        self.db = db
        self.staged: dict[str, dict[str, Any]] = {}
        self.expected_versions: dict[tuple[str, str], int] = {}
        self.sequence_base: dict[str, int] = {}
        self.sequence_values: dict[str, int] = {}
        self.new_events: list[DomainEvent] = []
        self.new_event_ids: list[str] = []
        self.outbox_updates: dict[str, OutboxEntry] = {}
        self.inbox_marks: dict[tuple[str, str], datetime] = {}
        self.unique_claims: dict[tuple[str, str], str] = {}

    # -- rows ---------------------------------------------------------------------------
    def read(self, table: str, entity_id: str) -> Any | None:
        staged = self.staged.get(table, {})
        if entity_id in staged:
            return staged[entity_id]
        return self.db.table(table).get(entity_id)

    def rows(self, table: str) -> Iterator[Any]:
        merged = dict(self.db.table(table))
        merged.update(self.staged.get(table, {}))
        return iter(merged.values())

    def stage(self, table: str, entity_id: str, row: Any, expected_version: int) -> None:
        key = (table, entity_id)
        self.expected_versions.setdefault(key, expected_version)
        self.staged.setdefault(table, {})[entity_id] = row

    def claim_unique(self, scope: str, value: str, owner_id: str) -> None:
        """Reserve a unique value (e.g. an external payment reference) for `owner_id`."""
        key = (scope, value)
        holder = self.unique_claims.get(key, self.db.unique_keys.get(key))
        if holder is not None and holder != owner_id:
            raise ConflictError(f"{scope} {value!r} is already used", {"field": scope})
        self.unique_claims[key] = owner_id

    # -- sequences ----------------------------------------------------------------------
    def next_in_sequence(self, name: str) -> int:
        if name not in self.sequence_values:
            current = self.db.sequences.get(name, 0)
            self.sequence_base[name] = current
            self.sequence_values[name] = current
        self.sequence_values[name] += 1
        return self.sequence_values[name]

    # -- commit -------------------------------------------------------------------------
    def _check(self) -> None:
        for (table, entity_id), expected in self.expected_versions.items():
            committed = self.db.table(table).get(entity_id)
            actual = _ABSENT if committed is None else committed.version
            if actual != expected:
                if expected == _ABSENT:
                    raise ConflictError(f"{table} {entity_id} already exists", {"id": entity_id})
                raise StaleVersion.of(table, entity_id, expected)
        for name, base in self.sequence_base.items():
            if self.db.sequences.get(name, 0) != base:
                raise ConflictError(f"sequence {name} advanced concurrently", {"sequence": name})
        for subscriber, event_id in self.inbox_marks:
            if (subscriber, event_id) in self.db.inbox:
                raise ConflictError(
                    f"{subscriber} already handled event {event_id}", {"event_id": event_id}
                )
        for key, owner in self.unique_claims.items():
            holder = self.db.unique_keys.get(key)
            if holder is not None and holder != owner:
                raise ConflictError(f"{key[0]} {key[1]!r} is already used", {"field": key[0]})

    def commit(self) -> None:
        self._check()
        for table, rows in self.staged.items():
            self.db.table(table).update(rows)
        self.db.sequences.update(self.sequence_values)
        self.db.unique_keys.update(self.unique_claims)
        for event_id, event in zip(self.new_event_ids, self.new_events, strict=True):
            stored = StoredEvent(event_id, event, len(self.db.events) + 1)
            self.db.events.append(stored)
            self.db.outbox[event_id] = OutboxEntry(stored, next_attempt_at=event.occurred_at)
        self.db.outbox.update(self.outbox_updates)
        self.db.inbox.update(self.inbox_marks)


A = TypeVar("A", bound=Aggregate)


class InMemoryRepository(Generic[A]):
    """Repository of one aggregate type; context repositories subclass it and add queries."""

    table: str = ""
    kind: str = ""

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def get(self, entity_id: str) -> A:
        found = await self.find(entity_id)
        if found is None:
            raise NotFoundError.of(self.kind or self.table, entity_id)
        return found

    async def find(self, entity_id: str) -> A | None:
        row: A | None = self._tx.read(self.table, entity_id)
        return row

    async def add(self, aggregate: A) -> A:
        if self._tx.read(self.table, aggregate.id) is not None:
            raise ConflictError(f"{self.kind} {aggregate.id} already exists", {"id": aggregate.id})
        self._tx.stage(self.table, aggregate.id, aggregate, _ABSENT)
        return aggregate

    async def update(self, aggregate: A) -> A:
        current = self._tx.read(self.table, aggregate.id)
        if current is None:
            raise NotFoundError.of(self.kind or self.table, aggregate.id)
        if current.version != aggregate.version:
            raise StaleVersion.of(self.kind or self.table, aggregate.id, aggregate.version)
        stored: A = attrs.evolve(aggregate, version=aggregate.version + 1)  # type: ignore[misc]
        self._tx.stage(self.table, aggregate.id, stored, current.version)
        return stored

    def _all(self) -> list[A]:
        return list(self._tx.rows(self.table))

    def _where(self, predicate: Callable[[A], bool]) -> list[A]:
        return [row for row in self._tx.rows(self.table) if predicate(row)]
