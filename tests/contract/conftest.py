"""Every contract suite runs on each persistence adapter: in-memory, SQLite and PostgreSQL.

A suite asks for `backend` and gets one parametrised run per adapter, each starting from an
empty database. `concurrent_backend` leaves SQLite out: its units of work take the single
write lock up front (BEGIN IMMEDIATE), so two cannot be open at once in one task by design.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import pytest
from tests.support.databases import empty

from adapters.ids import SequentialIdGenerator
from adapters.persistence.memory.idempotency import InMemoryIdempotencyStore
from adapters.persistence.memory.store import InMemoryDatabase
from adapters.persistence.memory.unit_of_work import InMemoryUnitOfWork
from adapters.persistence.sql import SqlDatabase
from platform_core.lifecycle.ports import LifecycleUnitOfWork
from platform_core.ports.idempotency import IdempotencyStore

ALL = ["memory", "sqlite", "postgresql"]
OVERLAPPING = ["memory", "postgresql"]


@attrs.define
class Backend:
    """One persistence adapter, ready for a test."""

    name: str
    make_uow: Callable[[], Any]
    idempotency: IdempotencyStore

    def uow(self) -> LifecycleUnitOfWork:
        uow: LifecycleUnitOfWork = self.make_uow()
        return uow


async def _open(name: str, request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    ids = SequentialIdGenerator()
    if name == "memory":
        memory = InMemoryDatabase()
        yield Backend(
            name, lambda: InMemoryUnitOfWork(memory, ids), InMemoryIdempotencyStore(memory)
        )
        return
    url = request.getfixturevalue(f"{name}_url")
    database = SqlDatabase(url)
    await empty(database)
    try:
        yield Backend(name, lambda: database.unit_of_work(ids), database.idempotency)
    finally:
        await database.dispose()


@pytest.fixture(params=ALL)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    async for opened in _open(request.param, request):
        yield opened


@pytest.fixture(params=OVERLAPPING)
async def concurrent_backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    async for opened in _open(request.param, request):
        yield opened
