"""The SQL unit of work: one connection and one transaction per `async with`.

Aggregate rows, domain events and their outbox rows are written on the same connection in the
same transaction, so they commit together or not at all. Leaving the block without `commit()`
rolls back; the connection goes back to the pool either way.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.sql.access import AccessTables
from adapters.persistence.sql.automation import AutomationTables
from adapters.persistence.sql.billing import BillingTables
from adapters.persistence.sql.customers import CustomersTables
from adapters.persistence.sql.devices import DevicesTables
from adapters.persistence.sql.fulfillment import FulfillmentTables
from adapters.persistence.sql.jobs import JobsTables
from adapters.persistence.sql.legacy import LegacyTables
from adapters.persistence.sql.metrics import MetricsTables
from adapters.persistence.sql.orders import OrderTables
from adapters.persistence.sql.outbox import SqlEventLog, SqlOutboxStore
from adapters.persistence.sql.pricing import PricingTables
from adapters.persistence.sql.session import SqlSession, translate
from platform_core.ports.core import IdGenerator
from platform_core.shared.errors import InternalError


class SqlUnitOfWork(
    CustomersTables,
    PricingTables,
    OrderTables,
    BillingTables,
    FulfillmentTables,
    AutomationTables,
    LegacyTables,
    DevicesTables,
    JobsTables,
    MetricsTables,
    AccessTables,
):
    """One transaction over every context's tables; satisfies each context's unit of work."""

    def __init__(self, engine: AsyncEngine, ids: IdGenerator) -> None:
        self._engine = engine
        self._ids = ids
        self._current: SqlSession | None = None

    @property
    def _session(self) -> SqlSession:  # type: ignore[override]
        if self._current is None:
            raise InternalError("the unit of work is used outside its `async with` block")
        return self._current

    @property
    def events(self) -> SqlEventLog:
        return SqlEventLog(self._session, self._ids)

    @property
    def outbox(self) -> SqlOutboxStore:
        return SqlOutboxStore(self._session)

    async def __aenter__(self) -> Self:
        try:
            connection = await self._engine.connect()
        except DBAPIError as error:
            raise translate(error) from error
        try:
            await connection.begin()
        except DBAPIError as error:
            await connection.close()
            raise translate(error) from error
        self._current = SqlSession(connection)
        return self

    async def commit(self) -> None:
        connection = self._session.connection
        try:
            await connection.commit()
        except DBAPIError as error:
            raise translate(error) from error

    async def rollback(self) -> None:
        session = self._session
        session.loaded_children.clear()
        try:
            await session.connection.rollback()
        except DBAPIError as error:
            raise translate(error) from error

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session, self._current = self._current, None
        if session is None:
            return
        connection = session.connection
        try:
            await connection.rollback()
        except DBAPIError:
            # The connection is gone (that is usually why we are leaving); the pool drops it.
            await connection.invalidate()
        finally:
            await connection.close()
