"""The in-memory store as the composition root sees a database: units of work, the
idempotency store and a health check."""

from __future__ import annotations

from adapters.persistence.memory.idempotency import InMemoryIdempotencyStore
from adapters.persistence.memory.store import InMemoryDatabase
from adapters.persistence.memory.unit_of_work import InMemoryUnitOfWork
from platform_core.ports.core import IdGenerator


class InMemoryStore:
    """Everything kept in this process; gone when it exits."""

    backend = "memory"

    def __init__(self, db: InMemoryDatabase | None = None) -> None:
        self.db = db or InMemoryDatabase()

    def unit_of_work(self, ids: IdGenerator) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.db, ids)

    @property
    def idempotency(self) -> InMemoryIdempotencyStore:
        return InMemoryIdempotencyStore(self.db)

    async def ping(self) -> bool:
        return True

    async def dispose(self) -> None:
        """Nothing to release."""
