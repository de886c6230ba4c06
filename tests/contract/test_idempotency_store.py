"""Contract of the idempotency store on every adapter: reserve, replay, release, expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.contract.conftest import Backend

from platform_core.ports.idempotency import IdempotencyRecord, StoredResponse
from platform_core.shared.errors import ConflictError

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TTL = timedelta(hours=24)
CREATED = StoredResponse(201, b'{"id":"ord_1"}')
BINARY = StoredResponse(200, b"\x00\xff binary \x80", "application/octet-stream")


async def begin(
    backend: Backend, key: str, fingerprint: str = "fp_1", at: datetime = AT, scope: str = "api"
) -> IdempotencyRecord | None:
    return await backend.idempotency.begin(scope, key, fingerprint, at, TTL)


class TestIdempotencyStore:
    async def test_a_new_key_is_reserved_and_a_retry_sees_it_in_progress(
        self, backend: Backend
    ) -> None:
        """begin on a new key returns None; the same request again finds its reservation."""
        assert await begin(backend, "key_1") is None
        again = await begin(backend, "key_1", at=AT + timedelta(minutes=1))
        assert again == IdempotencyRecord("api", "key_1", "fp_1", AT, AT + TTL)
        assert again.in_progress

    async def test_a_completed_key_replays_its_response(self, backend: Backend) -> None:
        """After complete, begin returns the stored status, body bytes and content type."""
        for key, response in (("key_1", CREATED), ("key_2", BINARY)):
            await begin(backend, key)
            await backend.idempotency.complete("api", key, response)
            replay = await begin(backend, key, at=AT + timedelta(hours=1))
            assert replay is not None
            assert replay.response == response
            assert not replay.in_progress

    async def test_another_request_under_a_used_key_is_a_conflict(self, backend: Backend) -> None:
        """A different fingerprint is refused, whether the first request runs or has finished;
        the first request's record stays as it was."""
        await begin(backend, "key_1")
        with pytest.raises(ConflictError):
            await begin(backend, "key_1", "fp_other")
        await backend.idempotency.complete("api", "key_1", CREATED)
        with pytest.raises(ConflictError):
            await begin(backend, "key_1", "fp_other")
        replay = await begin(backend, "key_1")
        assert replay is not None
        assert replay.response == CREATED

    async def test_release_frees_only_an_unfinished_reservation(self, backend: Backend) -> None:
        """A released in-progress key is new again (even for another request); releasing a
        completed key keeps its response; releasing an unknown key does nothing."""
        await begin(backend, "key_1")
        await backend.idempotency.release("api", "key_1")
        assert await begin(backend, "key_1", "fp_other") is None
        await begin(backend, "key_2")
        await backend.idempotency.complete("api", "key_2", CREATED)
        await backend.idempotency.release("api", "key_2")
        await backend.idempotency.release("api", "key_unknown")
        replay = await begin(backend, "key_2")
        assert replay is not None
        assert replay.response == CREATED

    async def test_an_expired_record_is_replaced(self, backend: Backend) -> None:
        """Once its time is up, a key is new again, whatever request used it before."""
        await begin(backend, "key_1")
        await backend.idempotency.complete("api", "key_1", CREATED)
        later = AT + TTL
        assert await begin(backend, "key_1", "fp_other", at=later) is None
        again = await begin(backend, "key_1", "fp_other", at=later + timedelta(seconds=1))
        assert again == IdempotencyRecord("api", "key_1", "fp_other", later, later + TTL)

    async def test_scopes_keep_their_keys_apart(self, backend: Backend) -> None:
        """The same key in two scopes names two records."""
        await begin(backend, "key_1", scope="api")
        assert await begin(backend, "key_1", "fp_other", scope="stripe-webhook") is None
        await backend.idempotency.complete("stripe-webhook", "key_1", CREATED)
        in_api = await begin(backend, "key_1", scope="api")
        assert in_api is not None
        assert in_api.in_progress

    async def test_purge_expired_deletes_and_counts(self, backend: Backend) -> None:
        """purge_expired deletes the records that expired before the instant and says how
        many; the others stay."""
        for minutes, key in ((0, "key_1"), (10, "key_2"), (20, "key_3")):
            await begin(backend, key, at=AT + timedelta(minutes=minutes))
        await backend.idempotency.complete("api", "key_1", CREATED)
        cutoff = AT + TTL + timedelta(minutes=10)
        assert await backend.idempotency.purge_expired(AT + TTL) == 0
        assert await backend.idempotency.purge_expired(cutoff) == 1
        assert await backend.idempotency.purge_expired(cutoff) == 0
        kept = await begin(backend, "key_2", at=cutoff - timedelta(minutes=1))
        assert kept is not None
        assert kept.fingerprint == "fp_1"
        assert await begin(backend, "key_1", at=AT) is None
