"""Who is calling and what they may do: bearer API keys, roles and company scope.

Every `/v1` route belongs to a *family* (its controller's ``opt["family"]``). The table below
says which roles may read (GET) and which may write (anything else) in each family. A
company-scoped key only reaches families that can be narrowed to one company, and inside them
only its own company's records: another company's order, invoice or shipment answers 404,
exactly like one that does not exist, so a scoped key cannot probe for ids.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import attrs
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from entrypoints.bootstrap import Platform
from platform_core.access.model import ApiKey, Role
from platform_core.access.service import authenticate, hash_token
from platform_core.shared.errors import AuthenticationError, NotFoundError, PermissionDenied

ALL = frozenset(Role)
_A, _S, _O = Role.ADMIN, Role.SUPPORT, Role.OPS


@attrs.frozen
class Access:
    """Who may read and who may write in one family; `scoped` lets company keys in."""

    read: frozenset[Role]
    write: frozenset[Role]
    scoped: bool


FAMILIES: Mapping[str, Access] = {
    "customers": Access(ALL, frozenset({_A, _S}), scoped=True),
    "catalogue": Access(ALL, frozenset({_A}), scoped=True),
    "orders": Access(ALL, frozenset({_A, _S}), scoped=True),
    "invoices": Access(ALL, frozenset({_A, _S}), scoped=True),
    "fulfillment": Access(ALL, frozenset({_A, _O}), scoped=True),
    "automation": Access(ALL, frozenset({_A, _O}), scoped=False),
    # Devices and assets are written by automation results, never through these routes.
    "devices": Access(ALL, frozenset({_A}), scoped=True),
    # Writes carry carrier credentials: admins only.
    "couriers": Access(ALL, frozenset({_A}), scoped=False),
    "operations": Access(frozenset({_A, _S, _O}), frozenset({_A, _O}), scoped=False),
    "access": Access(frozenset({_A}), frozenset({_A}), scoped=False),
}

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Paths that answer without a key: probes, metrics, the API's own docs, and webhooks, which
# prove who sent them by their signature instead.
PUBLIC_PATHS = ("^/health", "^/metrics", "^/schema", "^/v1/webhooks/")


@attrs.frozen
class Principal:
    """The caller behind an API key."""

    key_id: str
    role: Role
    company_id: str | None = None

    @classmethod
    def of(cls, key: ApiKey) -> Principal:
        return cls(key.id, key.role, key.company_id)

    @property
    def scoped(self) -> bool:
        return self.company_id is not None

    def authorize(self, family: str, write: bool, *, scoped_ok: bool = True) -> None:
        """Raise PermissionDenied unless this caller may use a route of `family`."""
        access = FAMILIES[family]
        allowed = access.write if write else access.read
        if self.role not in allowed:
            verb = "change" if write else "read"
            raise PermissionDenied(
                f"role {self.role} may not {verb} {family}",
                {"role": str(self.role), "family": family},
            )
        if self.scoped and not (access.scoped and scoped_ok):
            raise PermissionDenied(
                f"a company-scoped key may not use {family} routes of this kind",
                {"family": family},
            )

    def require_company(self, company_id: str | None, kind: str, entity_id: str) -> None:
        """A scoped key sees only its own company's records; others are 'not found'."""
        if self.company_id is not None and company_id != self.company_id:
            raise NotFoundError.of(kind, entity_id)

    def company_filter(self, requested: str | None) -> str | None:
        """The company a list is narrowed to: the key's own for a scoped key."""
        if self.company_id is None:
            return requested
        if requested is not None and requested != self.company_id:
            raise NotFoundError.of("company", requested)
        return self.company_id


def authorize(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Litestar guard: the caller's role must allow the handler's family and method."""
    family = handler.opt.get("family")
    if family is None:
        return
    write = handler.opt.get("write")
    if write is None:
        write = connection.scope.get("method", "GET") not in SAFE_METHODS
    principal: Principal = connection.user
    principal.authorize(family, bool(write), scoped_ok=handler.opt.get("scoped", True))


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class KeyCache:
    """Recently authenticated keys, so a busy client does not cost a database read per request.

    Entries live `ttl_seconds` (0 turns the cache off): a key revoked through another process
    keeps working here for at most that long; one revoked through this process stops at once.
    Only successes are kept, under the token's hash, never the token.
    """

    MAX_ENTRIES = 10_000

    def __init__(self, ttl_seconds: float) -> None:
        self.ttl = ttl_seconds
        self._entries: dict[str, tuple[Principal, float]] = {}
        # Hashes of tokens that once authenticated: rate limiting may count them per key.
        self._genuine: set[str] = set()

    def is_genuine(self, token_hash: str) -> bool:
        return token_hash in self._genuine

    def get(self, token_hash: str) -> Principal | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        principal, expires = entry
        if expires < time.monotonic():
            del self._entries[token_hash]
            return None
        return principal

    def put(self, token_hash: str, principal: Principal) -> None:
        if len(self._genuine) >= self.MAX_ENTRIES:
            self._genuine.clear()
        self._genuine.add(token_hash)
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.MAX_ENTRIES:
            self._entries.clear()
        self._entries[token_hash] = (principal, time.monotonic() + self.ttl)

    def forget(self, key_id: str) -> None:
        for token_hash, (principal, _) in list(self._entries.items()):
            if principal.key_id == key_id:
                del self._entries[token_hash]


class ApiKeyAuthentication(AbstractAuthenticationMiddleware):
    """Turns `Authorization: Bearer <key>` into a Principal on `request.user`."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        token = bearer_token(connection)
        if token is None:
            raise AuthenticationError("an API key is required: Authorization: Bearer <key>")
        cache: KeyCache = connection.app.state.key_cache
        token_hash = hash_token(token)
        principal = cache.get(token_hash)
        if principal is None:
            platform: Platform = connection.app.state.platform
            principal = Principal.of(await authenticate(platform.deps, token))
            cache.put(token_hash, principal)
        return AuthenticationResult(user=principal, auth=principal.key_id)
