"""The in-memory idempotency store: records kept in the InMemoryDatabase. Nothing awaits
between reading and writing a record, so on one event loop each call is atomic."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from adapters.persistence.memory.store import InMemoryDatabase
from platform_core.ports.idempotency import IdempotencyRecord, StoredResponse
from platform_core.shared.errors import ConflictError


class InMemoryIdempotencyStore:
    def __init__(self, db: InMemoryDatabase) -> None:
        self._records: dict[tuple[str, str], IdempotencyRecord] = db.idempotency

    async def begin(
        self, scope: str, key: str, fingerprint: str, now: datetime, ttl: timedelta
    ) -> IdempotencyRecord | None:
        found = self._records.get((scope, key))
        if found is None or found.expires_at <= now:
            self._records[(scope, key)] = IdempotencyRecord(scope, key, fingerprint, now, now + ttl)
            return None
        if found.fingerprint != fingerprint:
            raise ConflictError(
                "this Idempotency-Key was already used for a different request",
                {"field": "Idempotency-Key", "key": key},
            )
        return found

    async def complete(self, scope: str, key: str, response: StoredResponse) -> None:
        found = self._records.get((scope, key))
        if found is not None:
            self._records[(scope, key)] = attrs.evolve(found, response=response)

    async def release(self, scope: str, key: str) -> None:
        found = self._records.get((scope, key))
        if found is not None and found.in_progress:
            del self._records[(scope, key)]

    async def purge_expired(self, now: datetime) -> int:
        expired = [key for key, record in self._records.items() if record.expires_at < now]
        for key in expired:
            del self._records[key]
        return len(expired)
