"""Access use cases over the in-memory adapter: issuing, authenticating, revoking, listing and
the bootstrap key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from access_examples import (
    ADMIN_TOKEN,
    OPS_TOKEN,
    SUPPORT_TOKEN,
    AccessDepsForTests,
    AccessUnitOfWorkForTests,
    stored_company,
)

from adapters.persistence.memory.access import InMemoryApiKeyRepository
from platform_core.access.model import ApiKey, Role
from platform_core.access.service import (
    INVALID_KEY_MESSAGE,
    CreateApiKey,
    RevokeApiKey,
    authenticate,
    create_api_key,
    ensure_bootstrap_key,
    hash_token,
    list_api_keys,
    revoke_api_key,
)
from platform_core.shared.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    ValidationError,
)


async def stored_events(deps: AccessDepsForTests, key_id: str) -> list[str]:
    async with deps.uow() as uow:
        return [s.event.type for s in await uow.events.for_aggregate("api_key", key_id)]


async def key_count(deps: AccessDepsForTests) -> int:
    async with deps.uow() as uow:
        return len(await uow.api_keys.list(500, 0))


def test_hash_token_is_the_sha256_hex_digest() -> None:
    """The stored form of a token is its SHA-256 in lower-case hex (the known test vector)."""
    assert hash_token("abc") == ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    assert hash_token(OPS_TOKEN) != hash_token(SUPPORT_TOKEN)


async def test_create_stores_the_hash_and_prefix_and_records_the_event(
    deps: AccessDepsForTests,
) -> None:
    """A key is stored under the token's hash with its first 8 characters; api_key.created is
    recorded with the command's correlation id; the token itself is stored nowhere."""
    key = await create_api_key(
        deps, CreateApiKey("Ops dashboard", Role.OPS, OPS_TOKEN, correlation_id="req-1")
    )
    assert (key.key_hash, key.key_prefix) == (hash_token(OPS_TOKEN), OPS_TOKEN[:8])
    assert key.created_at == deps.clock.now()
    async with deps.uow() as uow:
        assert await uow.api_keys.get(key.id) == key
        [stored] = await uow.events.for_aggregate("api_key", key.id)
    assert (stored.event.type, stored.event.correlation_id) == ("api_key.created", "req-1")
    assert OPS_TOKEN not in str(stored.event.as_dict())
    assert OPS_TOKEN not in repr(CreateApiKey("Ops", Role.OPS, OPS_TOKEN))


@pytest.mark.parametrize(
    "token", ["short-token", "x" * 31, " " + "x" * 40, "x" * 40 + "\n"], ids=repr
)
async def test_a_short_or_padded_token_is_refused(deps: AccessDepsForTests, token: str) -> None:
    """Tokens need 32 characters and no surrounding blanks; the error does not echo the token."""
    with pytest.raises(ValidationError) as raised:
        await create_api_key(deps, CreateApiKey("Ops", Role.OPS, token))
    assert raised.value.details["field"] == "token"
    assert token.strip() not in str(raised.value.details)
    assert await key_count(deps) == 0


async def test_a_company_scoped_key_needs_the_company(deps: AccessDepsForTests) -> None:
    """A key limited to an unknown company is NotFound; to a stored one it is issued."""
    with pytest.raises(NotFoundError):
        await create_api_key(
            deps, CreateApiKey("Portal", Role.READONLY, OPS_TOKEN, company_id="cmp_missing")
        )
    company = await stored_company(deps)
    key = await create_api_key(
        deps, CreateApiKey("Portal", Role.READONLY, OPS_TOKEN, company_id=company.id)
    )
    assert key.company_id == company.id


async def test_an_admin_key_cannot_be_company_scoped(deps: AccessDepsForTests) -> None:
    """Even for a stored company, an admin key limited to it is a ValidationError."""
    company = await stored_company(deps)
    with pytest.raises(ValidationError) as raised:
        await create_api_key(
            deps, CreateApiKey("Portal", Role.ADMIN, ADMIN_TOKEN, company_id=company.id)
        )
    assert raised.value.details["field"] == "company_id"
    assert await key_count(deps) == 0


async def test_a_token_already_in_use_is_a_conflict(deps: AccessDepsForTests) -> None:
    """A second key for the same token is refused, even after the first was revoked."""
    first = await create_api_key(deps, CreateApiKey("Ops", Role.OPS, OPS_TOKEN))
    await revoke_api_key(deps, RevokeApiKey(first.id))
    with pytest.raises(ConflictError):
        await create_api_key(deps, CreateApiKey("Ops again", Role.SUPPORT, OPS_TOKEN))
    assert await key_count(deps) == 1


async def test_authenticate_returns_the_active_key(deps: AccessDepsForTests) -> None:
    """A token of an active key authenticates as that key, and nothing is written."""
    key = await create_api_key(deps, CreateApiKey("Ops", Role.OPS, OPS_TOKEN))
    events_before = len(deps.db.events)
    assert await authenticate(deps, OPS_TOKEN) == key
    async with deps.uow() as uow:
        assert (await uow.api_keys.get(key.id)).version == 1
    assert len(deps.db.events) == events_before


async def test_unknown_and_revoked_tokens_get_the_same_refusal(deps: AccessDepsForTests) -> None:
    """An unknown token, an empty one and a revoked key's token are all AuthenticationError
    with one message, so a caller cannot tell which."""
    key = await create_api_key(deps, CreateApiKey("Ops", Role.OPS, OPS_TOKEN))
    await revoke_api_key(deps, RevokeApiKey(key.id))
    refusals = []
    for token in (OPS_TOKEN, SUPPORT_TOKEN, ""):
        with pytest.raises(AuthenticationError) as raised:
            await authenticate(deps, token)
        refusals.append((raised.value.message, raised.value.details))
    assert refusals == [(INVALID_KEY_MESSAGE, {})] * 3


async def test_revoke_records_the_event_and_refuses_a_second_time(
    deps: AccessDepsForTests,
) -> None:
    """Revoking stamps the clock's time and records api_key.revoked; again is a conflict; an
    unknown key is NotFound."""
    key = await create_api_key(deps, CreateApiKey("Ops", Role.OPS, OPS_TOKEN))
    deps.clock.advance(timedelta(days=3))
    revoked = await revoke_api_key(deps, RevokeApiKey(key.id, correlation_id="req-9"))
    assert (revoked.revoked_at, revoked.version) == (deps.clock.now(), 2)
    assert await stored_events(deps, key.id) == ["api_key.created", "api_key.revoked"]
    with pytest.raises(ConflictError):
        await revoke_api_key(deps, RevokeApiKey(key.id))
    with pytest.raises(NotFoundError):
        await revoke_api_key(deps, RevokeApiKey("key_missing"))
    assert await stored_events(deps, key.id) == ["api_key.created", "api_key.revoked"]


async def test_list_pages_oldest_first_and_checks_its_bounds(deps: AccessDepsForTests) -> None:
    """Keys come oldest first, revoked ones included; limit must be 1..500, offset >= 0."""
    made = []
    for name, token in (("a", OPS_TOKEN), ("b", SUPPORT_TOKEN), ("c", ADMIN_TOKEN)):
        made.append(await create_api_key(deps, CreateApiKey(name, Role.OPS, token)))
        deps.clock.advance(timedelta(minutes=1))
    await revoke_api_key(deps, RevokeApiKey(made[0].id))
    every = await list_api_keys(deps)
    assert [k.name for k in every] == ["a", "b", "c"]
    assert every[0].is_revoked
    assert [k.name for k in await list_api_keys(deps, limit=1, offset=1)] == ["b"]
    assert await list_api_keys(deps, offset=3) == []
    for limit, offset in ((0, 0), (501, 0), (10, -1)):
        with pytest.raises(ValidationError):
            await list_api_keys(deps, limit=limit, offset=offset)


async def test_bootstrap_key_is_made_once(deps: AccessDepsForTests) -> None:
    """With no key at all the bootstrap admin key is issued; calling again returns None and
    issues nothing, also when the only key has been revoked."""
    made = await ensure_bootstrap_key(deps, ADMIN_TOKEN)
    assert made is not None
    assert (made.name, made.role, made.company_id) == ("bootstrap", Role.ADMIN, None)
    assert await authenticate(deps, ADMIN_TOKEN) == made
    assert await ensure_bootstrap_key(deps, ADMIN_TOKEN) is None
    await revoke_api_key(deps, RevokeApiKey(made.id))
    assert await ensure_bootstrap_key(deps, OPS_TOKEN) is None
    assert await key_count(deps) == 1


async def test_no_bootstrap_key_when_another_key_exists(deps: AccessDepsForTests) -> None:
    """Any existing key, whatever its role, means the platform is already set up."""
    await create_api_key(deps, CreateApiKey("Support", Role.SUPPORT, SUPPORT_TOKEN))
    assert await ensure_bootstrap_key(deps, ADMIN_TOKEN) is None
    assert await key_count(deps) == 1


async def test_bootstrap_refuses_a_weak_token(deps: AccessDepsForTests) -> None:
    """The bootstrap token follows the same rules as any other token."""
    with pytest.raises(ValidationError):
        await ensure_bootstrap_key(deps, "changeme")
    assert await key_count(deps) == 0


class RivalFirstRepository(InMemoryApiKeyRepository):
    """Sees no key, and lets a rival process issue the bootstrap key right after looking."""

    def __init__(self, uow: RacingUnitOfWork) -> None:
        super().__init__(uow._tx)
        self._uow = uow

    async def list(self, limit: int, offset: int) -> list[ApiKey]:
        found = await super().list(limit, offset)
        if not self._uow.rival_done:
            self._uow.rival_done = True
            self._uow.rival_key = await ensure_bootstrap_key(self._uow.rival_deps, ADMIN_TOKEN)
        return found


class RacingUnitOfWork(AccessUnitOfWorkForTests):
    rival_done = False
    rival_key: ApiKey | None = None
    rival_deps: Any = None

    @property
    def api_keys(self) -> RivalFirstRepository:
        return RivalFirstRepository(self)


async def test_racing_bootstrap_with_the_same_token_issues_one_key(
    deps: AccessDepsForTests,
) -> None:
    """Two processes starting together: the one that loses the race on the token's unique
    hash gets None instead of an error, and exactly one bootstrap key exists."""
    racing = RacingUnitOfWork(deps.db, deps.ids)
    racing.rival_deps = deps

    class LosingDeps(AccessDepsForTests):
        def uow(self) -> RacingUnitOfWork:
            return racing

    loser = LosingDeps(deps.clock, deps.ids, deps.db)
    assert await ensure_bootstrap_key(loser, ADMIN_TOKEN) is None
    assert racing.rival_key is not None
    assert await list_api_keys(deps) == [racing.rival_key]
