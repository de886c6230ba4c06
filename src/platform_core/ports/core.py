"""Clock, ids, repositories, unit of work, job queue and notifier ports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

import attrs

from platform_core.ports.outbox import EventLog, OutboxStore


class Clock(Protocol):
    """The only source of the current time in the core."""

    def now(self) -> datetime: ...


class IdGenerator(Protocol):
    """Makes new, unique, opaque ids; `kind` is a short prefix such as ``ord`` or ``inv``."""

    def new_id(self, kind: str) -> str: ...


class ServiceDeps(Protocol):
    """What every use case may use; a context's deps protocol extends it with its own
    `uow()` and gateways."""

    @property
    def clock(self) -> Clock: ...

    @property
    def ids(self) -> IdGenerator: ...


class Aggregate(Protocol):
    """What a repository needs of an aggregate: an id and an optimistic-concurrency version."""

    @property
    def id(self) -> str: ...

    @property
    def version(self) -> int: ...


A = TypeVar("A", bound=Aggregate)


class Repository(Protocol[A]):
    """Stores one aggregate type inside a unit of work.

    `add` stores a new aggregate (version 1). `update` stores a changed one only if the stored
    version still equals `aggregate.version`, and returns it with the version incremented;
    otherwise it raises StaleVersion and changes nothing.
    """

    async def get(self, entity_id: str) -> A: ...

    async def find(self, entity_id: str) -> A | None: ...

    async def add(self, aggregate: A) -> A: ...

    async def update(self, aggregate: A) -> A: ...


class UnitOfWork(Protocol):
    """One transaction: aggregate changes and the events they caused commit together or not at all.

    Leaving the `async with` block without `commit()` rolls back.
    """

    @property
    def events(self) -> EventLog: ...

    @property
    def outbox(self) -> OutboxStore: ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


class JobQueue(Protocol):
    """Runs work later, at least once. `key` de-duplicates: a second enqueue with a key still
    pending or running does nothing."""

    async def enqueue(
        self,
        queue: str,
        job: str,
        payload: Mapping[str, Any],
        *,
        key: str,
        delay_seconds: float = 0,
    ) -> None: ...


@attrs.frozen
class Notification:
    """A message for people (Ops, Support): what happened, where, and how urgent."""

    subject: str
    body: str
    severity: str = "info"
    tags: Sequence[str] = ()
    related: Mapping[str, str] = attrs.field(factory=dict)


class Notifier(Protocol):
    """Tells people about something (log, Slack, email, webhook)."""

    async def notify(self, notification: Notification) -> None: ...
