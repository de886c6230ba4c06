"""The SQL idempotency store. Each call is its own short transaction: the reservation must be
visible to a concurrent duplicate before the request's own work starts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, Index, Integer, LargeBinary, String, Table, delete, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence.sql.metadata import metadata
from adapters.persistence.sql.session import SqlSession, translate
from adapters.persistence.sql.types import Instant
from platform_core.ports.idempotency import IdempotencyRecord, StoredResponse
from platform_core.shared.errors import ConflictError

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(100), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(128), nullable=False),
    Column("created_at", Instant, nullable=False),
    Column("expires_at", Instant, nullable=False),
    Column("status_code", Integer),
    Column("body", LargeBinary),
    Column("content_type", String(100)),
    Index(None, "expires_at"),
)

_c = idempotency_keys.c


def _record(row: Any) -> IdempotencyRecord:
    response = None
    if row.status_code is not None:
        response = StoredResponse(row.status_code, bytes(row.body or b""), row.content_type)
    return IdempotencyRecord(
        row.scope, row.key, row.fingerprint, row.created_at, row.expires_at, response
    )


class SqlIdempotencyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def begin(
        self, scope: str, key: str, fingerprint: str, now: datetime, ttl: timedelta
    ) -> IdempotencyRecord | None:
        row = {
            "scope": scope,
            "key": key,
            "fingerprint": fingerprint,
            "created_at": now,
            "expires_at": now + ttl,
        }
        try:
            async with self._engine.begin() as connection:
                session = SqlSession(connection)
                if await session.insert_new(idempotency_keys, row):
                    return None
                return await self._existing(session, row, now)
        except DBAPIError as error:
            raise translate(error) from error

    async def _existing(
        self, session: SqlSession, row: dict[str, Any], now: datetime
    ) -> IdempotencyRecord | None:
        where = (_c.scope == row["scope"], _c.key == row["key"])
        found = (await session.execute(select(idempotency_keys).where(*where))).first()
        if found is None or found.expires_at <= now:
            # Expired (or purged meanwhile): the key starts over. The guard on expires_at
            # makes two concurrent takers of one expired key race for a single row.
            replaced = await session.execute(
                update(idempotency_keys)
                .where(*where, _c.expires_at <= now)
                .values(**row, status_code=None, body=None, content_type=None)
            )
            if replaced.rowcount == 1:  # type: ignore[attr-defined]
                return None
            found = (await session.execute(select(idempotency_keys).where(*where))).first()
            if found is None:
                raise ConflictError(
                    "the idempotency key is being reused; retry", {"key": row["key"]}
                )
        if found.fingerprint != row["fingerprint"]:
            raise ConflictError(
                "this Idempotency-Key was already used for a different request",
                {"field": "Idempotency-Key", "key": row["key"]},
            )
        return _record(found)

    async def complete(self, scope: str, key: str, response: StoredResponse) -> None:
        statement = (
            update(idempotency_keys)
            .where(_c.scope == scope, _c.key == key)
            .values(
                status_code=response.status_code,
                body=response.body,
                content_type=response.content_type,
            )
        )
        await self._run(statement)

    async def release(self, scope: str, key: str) -> None:
        statement = delete(idempotency_keys).where(
            _c.scope == scope, _c.key == key, _c.status_code.is_(None)
        )
        await self._run(statement)

    async def purge_expired(self, now: datetime) -> int:
        result = await self._run(delete(idempotency_keys).where(_c.expires_at < now))
        return int(result.rowcount)

    async def _run(self, statement: Any) -> Any:
        try:
            async with self._engine.begin() as connection:
                return await connection.execute(statement)
        except DBAPIError as error:
            raise translate(error) from error
