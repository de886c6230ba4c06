"""The idempotency store: a retried request (same key) gets the first request's response.

Edges use it for API requests that carry an ``Idempotency-Key`` and for inbound webhooks. The
key is reserved before the work runs and completed with the response after, so two
concurrent deliveries of one request cannot both run it; a reservation whose work failed
without effect is released so the client can retry.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

import attrs

from platform_core.shared.time import aware


@attrs.frozen
class StoredResponse:
    """What the first request answered, replayed byte for byte to its retries."""

    status_code: int
    body: bytes
    content_type: str = "application/json"


@attrs.frozen
class IdempotencyRecord:
    """One key of one scope (an API key, a webhook source) and where its request stands."""

    scope: str
    key: str
    fingerprint: str
    created_at: datetime = attrs.field(validator=aware)
    expires_at: datetime = attrs.field(validator=aware)
    response: StoredResponse | None = None

    @property
    def in_progress(self) -> bool:
        return self.response is None


class IdempotencyStore(Protocol):
    async def begin(
        self, scope: str, key: str, fingerprint: str, now: datetime, ttl: timedelta
    ) -> IdempotencyRecord | None:
        """Reserve `key` for a request whose content hashes to `fingerprint`.

        Returns None when the key is new (or its record expired): the caller runs the
        request, then calls `complete` or `release`. Otherwise returns the stored record: its
        response to replay, or `in_progress` while the first request still runs. Raises
        ConflictError when the key was used for a different request (another fingerprint).
        """
        ...

    async def complete(self, scope: str, key: str, response: StoredResponse) -> None: ...

    async def release(self, scope: str, key: str) -> None:
        """Forget a reservation whose request failed and changed nothing."""
        ...

    async def purge_expired(self, now: datetime) -> int:
        """Delete records that expired before `now`; returns how many."""
        ...
