"""Contract of the API key repository on every adapter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.contract.conftest import Backend
from tests.support.contract import ROUND_TRIP, add_all, assert_round_trip, unique

from platform_core.access.model import KEY_PREFIX_LENGTH, ApiKey, Role
from platform_core.access.service import hash_token
from platform_core.shared.errors import ConflictError
from platform_core.testing.access import api_keys
from platform_core.testing.shared import ids

AT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _api_keys(uow: Any) -> Any:
    return uow.api_keys


def key(
    token: str,
    key_id: str | None = None,
    minutes: int = 0,
    role: Role = Role.OPS,
    company_id: str | None = None,
) -> ApiKey:
    issued, _ = ApiKey.issue(
        api_key_id=key_id or unique("key"),
        name=f"Key {token[:4]}",
        role=role,
        key_prefix=token[:KEY_PREFIX_LENGTH],
        key_hash=hash_token(token),
        company_id=company_id,
        at=AT + timedelta(minutes=minutes),
    )
    return issued


def token(label: str) -> str:
    return f"{label}-{'t' * 40}"


class TestRoundTrip:
    @ROUND_TRIP
    @given(drawn=api_keys(company_id=st.none() | ids("cmp")))
    async def test_api_key(self, backend: Backend, drawn: ApiKey) -> None:
        """A key (scoped or not) is stored and read back whole; its revocation by update."""
        stored = attrs.evolve(drawn, id=unique("key"), key_hash=hash_token(unique("token")))
        changed, _ = stored.revoke(at=stored.created_at + timedelta(days=30))
        await assert_round_trip(backend, _api_keys, stored, changed)


class TestApiKeys:
    async def test_by_hash_finds_active_and_revoked_keys(self, backend: Backend) -> None:
        """by_hash finds the key a token hashes to, revoked or not; None for an unknown hash."""
        active = key(token("a"))
        revoked, _ = key(token("b"), role=Role.READONLY, company_id="cmp_1").revoke(at=AT)
        await add_all(backend, _api_keys, active, revoked)
        async with backend.uow() as uow:
            assert await uow.api_keys.by_hash(hash_token(token("a"))) == active
            assert await uow.api_keys.by_hash(hash_token(token("b"))) == revoked
            assert await uow.api_keys.by_hash(hash_token(token("c"))) is None

    async def test_list_is_oldest_first_and_pages(self, backend: Backend) -> None:
        """Keys come oldest first, ties by id; limit and offset page through them."""
        await add_all(
            backend,
            _api_keys,
            key(token("c"), "key_c", minutes=5),
            key(token("b"), "key_b", minutes=1),
            key(token("a"), "key_a", minutes=1),
            key(token("d"), "key_d", minutes=0),
        )
        async with backend.uow() as uow:
            every = await uow.api_keys.list(10, 0)
            page = await uow.api_keys.list(2, 1)
            assert await uow.api_keys.list(10, 4) == []
        assert [k.id for k in every] == ["key_d", "key_a", "key_b", "key_c"]
        assert [k.id for k in page] == ["key_a", "key_b"]

    async def test_a_token_hash_belongs_to_one_key(self, backend: Backend) -> None:
        """A second key with a stored hash conflicts, in a later or the same transaction, and
        the conflict does not reveal the hash."""
        await add_all(backend, _api_keys, key(token("a")))
        with pytest.raises(ConflictError) as raised:
            await add_all(backend, _api_keys, key(token("a")))
        assert hash_token(token("a")) not in str(raised.value.details)
        with pytest.raises(ConflictError):
            await add_all(backend, _api_keys, key(token("b")), key(token("b")))
        async with backend.uow() as uow:
            assert len(await uow.api_keys.list(10, 0)) == 1
