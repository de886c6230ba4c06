"""A SQL database for the platform: its engine, units of work and health check."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from adapters.persistence.sql.engine import create_engine
from adapters.persistence.sql.idempotency import SqlIdempotencyStore
from adapters.persistence.sql.uow import SqlUnitOfWork
from platform_core.ports.core import IdGenerator


class SqlDatabase:
    """PostgreSQL or SQLite behind one async engine (the schema comes from the migrations)."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = url
        self.engine = create_engine(url, **engine_options)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def unit_of_work(self, ids: IdGenerator) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.engine, ids)

    @property
    def idempotency(self) -> SqlIdempotencyStore:
        return SqlIdempotencyStore(self.engine)

    async def ping(self) -> bool:
        """True when a connection can be made and answers a trivial query."""
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except (DBAPIError, OSError):
            return False
        return True

    async def dispose(self) -> None:
        await self.engine.dispose()
