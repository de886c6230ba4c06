"""Table, mapper and repository of API keys.

A token's hash is unique in the schema, so two processes issuing a key for the same token (two
API processes creating the bootstrap key on their first start) cannot both succeed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Index, Integer, String, Table

from adapters.persistence.sql.mapper import RowMapper
from adapters.persistence.sql.metadata import metadata
from adapters.persistence.sql.repository import SqlRepository
from adapters.persistence.sql.session import SqlSession
from adapters.persistence.sql.types import Instant
from platform_core.access.model import ApiKey

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("company_id", String(64)),
    Column("key_prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", Instant, nullable=False),
    Column("revoked_at", Instant),
    Column("version", Integer, nullable=False),
    # The key listing, oldest first.
    Index(None, "created_at", "id"),
)


class SqlApiKeyRepository(SqlRepository[ApiKey]):
    mapper = RowMapper(ApiKey, api_keys)
    kind = "api_key"

    def unique_details(self, aggregate: ApiKey) -> dict[str, Any]:
        # Never the hash itself: conflict details can reach a client.
        return {"field": "token"}

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        return await self._first(api_keys.c.key_hash == key_hash)

    async def list(self, limit: int, offset: int) -> list[ApiKey]:
        return await self._where(
            order_by=(api_keys.c.created_at, api_keys.c.id), limit=limit, offset=offset
        )


class AccessTables:
    """The API key repository over the unit of work's session."""

    _session: SqlSession

    @property
    def api_keys(self) -> SqlApiKeyRepository:
        return SqlApiKeyRepository(self._session)
