"""Access use cases: issuing, revoking, listing and authenticating API keys.

Tokens are made at the edge (with `secrets`) and shown to their owner once; the core only ever
sees a token to hash it, and stores the hash.
"""

from __future__ import annotations

import hashlib
from typing import Final

import attrs

from platform_core.access.model import KEY_PREFIX_LENGTH, ApiKey, Role
from platform_core.access.ports import AccessDeps, AccessUnitOfWork
from platform_core.shared.errors import AuthenticationError, ConflictError, ValidationError

# 32 characters of `secrets.token_urlsafe` carry 192 bits: guessing is out of reach, which is
# what lets `hash_token` be a fast hash.
MIN_TOKEN_LENGTH: Final = 32
BOOTSTRAP_KEY_NAME: Final = "bootstrap"
MAX_PAGE: Final = 500

# One message for every refusal, so a caller cannot tell an unknown token from a revoked one.
INVALID_KEY_MESSAGE: Final = "invalid or revoked API key"


def hash_token(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored and looked up.

    A plain, fast digest is right here, unlike for passwords: tokens are long random strings,
    so there is no dictionary to try and a brute force over 2^192 values stays hopeless however
    fast each guess is; a slow hash (bcrypt, argon2) would only add its cost to every request.
    Being deterministic, it also lets authentication find the key by an indexed lookup.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _check_token(token: object) -> str:
    if not isinstance(token, str) or len(token) < MIN_TOKEN_LENGTH or token != token.strip():
        # The token itself stays out of the message and details: errors get logged.
        raise ValidationError(
            f"an API key token needs at least {MIN_TOKEN_LENGTH} characters and no surrounding "
            "blanks",
            {"field": "token", "min_length": MIN_TOKEN_LENGTH},
        )
    return token


def _check_page(limit: int, offset: int) -> None:
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise ValidationError(f"limit must be 1..{MAX_PAGE} and offset >= 0", {"field": "limit"})


@attrs.frozen
class CreateApiKey:
    name: str
    role: Role
    token: str = attrs.field(repr=False)
    company_id: str | None = None
    correlation_id: str | None = None


async def create_api_key(deps: AccessDeps, command: CreateApiKey) -> ApiKey:
    """Issue an API key for a token made at the edge.

    Rules: the token has at least 32 characters (ValidationError); a company-scoped key names
    an existing company (NotFoundError) and is not an admin key (ValidationError); a token
    already in use by another key is refused (ConflictError). Records `api_key.created`.
    """
    async with deps.uow() as uow:
        key = await _issue(
            deps, uow, command.name, command.role, command.token, command.company_id,
            command.correlation_id,
        )  # fmt: skip
        await uow.commit()
    return key


async def _issue(
    deps: AccessDeps,
    uow: AccessUnitOfWork,
    name: str,
    role: Role,
    token: str,
    company_id: str | None,
    correlation_id: str | None,
) -> ApiKey:
    token = _check_token(token)
    key, events = ApiKey.issue(
        api_key_id=deps.ids.new_id("key"),
        name=name,
        role=role,
        key_prefix=token[:KEY_PREFIX_LENGTH],
        key_hash=hash_token(token),
        company_id=company_id,
        at=deps.clock.now(),
    )
    if key.company_id is not None:
        await uow.companies.get(key.company_id)
    if await uow.api_keys.by_hash(key.key_hash) is not None:
        raise ConflictError("this token is already used by another API key", {"field": "token"})
    await uow.api_keys.add(key)
    await uow.events.record(events, correlation_id)
    return key


@attrs.frozen
class RevokeApiKey:
    api_key_id: str
    correlation_id: str | None = None


async def revoke_api_key(deps: AccessDeps, command: RevokeApiKey) -> ApiKey:
    """Revoke a key for good.

    Rules: the key exists (NotFoundError); a revoked key cannot be revoked again
    (ConflictError). Records `api_key.revoked`.
    """
    async with deps.uow() as uow:
        key = await uow.api_keys.get(command.api_key_id)
        revoked, events = key.revoke(at=deps.clock.now())
        revoked = await uow.api_keys.update(revoked)
        await uow.events.record(events, command.correlation_id)
        await uow.commit()
    return revoked


async def authenticate(deps: AccessDeps, token: str) -> ApiKey:
    """The active key a bearer token belongs to.

    Rules: an unknown or revoked token is refused with AuthenticationError, with the same
    message either way; nothing is written, so authenticating costs every request one indexed
    read and no write.
    """
    async with deps.uow() as uow:
        key = await uow.api_keys.by_hash(hash_token(token))
    if key is None or key.is_revoked:
        raise AuthenticationError(INVALID_KEY_MESSAGE)
    return key


async def list_api_keys(deps: AccessDeps, limit: int = 50, offset: int = 0) -> list[ApiKey]:
    """API keys oldest first, revoked ones included (they show who had access when)."""
    _check_page(limit, offset)
    async with deps.uow() as uow:
        return await uow.api_keys.list(limit, offset)


async def ensure_bootstrap_key(deps: AccessDeps, token: str) -> ApiKey | None:
    """Issue the first admin key, named "bootstrap", when no key exists at all.

    Rules: returns the new key, or None when any key (even a revoked one) already exists, so
    it is safe to call on every start. Processes starting together with the same configured
    token race on the token's unique hash: the loser's insert is refused and it returns None.
    The token follows `create_api_key`'s rules.
    """
    _check_token(token)
    try:
        async with deps.uow() as uow:
            if await uow.api_keys.list(1, 0):
                return None
            key = await _issue(deps, uow, BOOTSTRAP_KEY_NAME, Role.ADMIN, token, None, None)
            await uow.commit()
    except ConflictError:
        return None
    return key
