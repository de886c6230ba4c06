"""In-memory repository of API keys and its unit-of-work mixin.

A token's hash never changes once stored, so `Transaction.claim_unique` guards it against two
concurrent units of work issuing keys for the same token, like the unique index in SQL.
"""

from __future__ import annotations

from adapters.persistence.memory.store import InMemoryRepository, Transaction
from platform_core.access.model import ApiKey


class InMemoryApiKeyRepository(InMemoryRepository[ApiKey]):
    table = "api_keys"
    kind = "api_key"

    async def add(self, aggregate: ApiKey) -> ApiKey:
        self._tx.claim_unique("api_key_hash", aggregate.key_hash, aggregate.id)
        return await super().add(aggregate)

    async def by_hash(self, key_hash: str) -> ApiKey | None:
        found = self._where(lambda key: key.key_hash == key_hash)
        return found[0] if found else None

    async def list(self, limit: int, offset: int) -> list[ApiKey]:
        rows = sorted(self._all(), key=lambda key: (key.created_at, key.id))
        return rows[offset : offset + limit]


class AccessTables:
    """The API key repository, mixed into an in-memory unit of work beside `CustomersTables`
    and `InMemoryUnitOfWorkBase`; it shares the unit of work's transaction."""

    _tx: Transaction

    @property
    def api_keys(self) -> InMemoryApiKeyRepository:
        return InMemoryApiKeyRepository(self._tx)
