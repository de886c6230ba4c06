"""In-memory unit of work: one Transaction per `async with`, committed all-or-nothing."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from adapters.persistence.memory.outbox import InMemoryEventLog, InMemoryOutboxStore
from adapters.persistence.memory.store import InMemoryDatabase, Transaction
from platform_core.ports.core import IdGenerator


class InMemoryUnitOfWorkBase:
    """Transaction handling, event log and outbox; context mixins add their repositories.

    A context mixin exposes its repositories as properties built on `self._tx`, so every
    repository of one unit of work sees the same staged changes.
    """

    def __init__(self, db: InMemoryDatabase, ids: IdGenerator) -> None:
        self._db = db
        self._ids = ids
        self._tx = Transaction(db)
        self._committed = False

    @property
    def events(self) -> InMemoryEventLog:
        return InMemoryEventLog(self._tx, self._ids)

    @property
    def outbox(self) -> InMemoryOutboxStore:
        return InMemoryOutboxStore(self._tx)

    async def commit(self) -> None:
        tx, self._tx = self._tx, Transaction(self._db)
        tx.commit()
        self._committed = True

    async def rollback(self) -> None:
        self._tx = Transaction(self._db)

    async def __aenter__(self) -> Self:
        self._tx = Transaction(self._db)
        self._committed = False
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()
